"""Records the face pass hands between modules: detections, meshes, tracked faces, frames.

Coordinates are pixels of the frame they were found in (x right, y down). Named keypoints
use the *subject's* point of view, as MediaPipe does: ``right_eye`` is the person's right
eye, which usually appears on the left of the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolkit.faces import mesh_topology as topo

# The five points alignment and most face models use.
FIVE_POINTS = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")

Keypoints = dict[str, tuple[float, float]]


def _box_dict(box: np.ndarray, ndigits: int) -> list[float]:
    return [round(float(v), ndigits) for v in box]


def _keypoints_dict(keypoints: Keypoints, ndigits: int) -> dict[str, list[float]]:
    return {k: [round(float(x), ndigits), round(float(y), ndigits)] for k, (x, y) in keypoints.items()}


@dataclass
class DetectedFace:
    """One face a detector backend found: box ``(x0, y0, x1, y1)``, score in [0, 1]."""

    box: np.ndarray  # float32 (4,)
    score: float
    keypoints: Keypoints = field(default_factory=dict)
    detector: str = ""

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float32).reshape(4)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    def to_dict(self, ndigits: int = 1) -> dict:
        return {
            "box": _box_dict(self.box, ndigits),
            "score": round(float(self.score), 4),
            "keypoints": _keypoints_dict(self.keypoints, ndigits),
            "detector": self.detector,
        }


@dataclass
class MeshFace:
    """A face with the 478-point MediaPipe mesh (468 face points + 2 x 5 iris points).

    ``landmarks[:, :2]`` are frame pixels; ``landmarks[:, 2]`` is MediaPipe's relative
    depth (head centre ~ 0, smaller = nearer the camera) scaled to the same pixel units as x.
    """

    landmarks: np.ndarray  # float32 (478, 3)

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        if self.landmarks.shape != (topo.NUM_LANDMARKS, 3):
            raise ValueError(f"a face mesh has {topo.NUM_LANDMARKS}x3 landmarks, got {self.landmarks.shape}")

    @property
    def points(self) -> np.ndarray:
        """``(478, 2)`` pixel x, y."""
        return self.landmarks[:, :2]

    @property
    def box(self) -> np.ndarray:
        """Tight box around the mesh (forehead to chin, cheek to cheek)."""
        pts = self.points
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)

    @property
    def keypoints(self) -> Keypoints:
        """The five alignment points (eye centres from the eye corners, nose tip, mouth corners)."""
        return topo.five_points(self.points)

    def to_dict(self, ndigits: int = 1) -> dict:
        return {"landmarks": np.round(self.landmarks.astype(np.float64), ndigits).tolist()}


@dataclass
class TrackedFace:
    """One face in one frame of a clip, with the identity track it belongs to.

    ``box`` comes from the mesh when there is one (the same convention every frame) and
    from the detector otherwise. ``detected`` says whether the detector ran and confirmed
    the face on this frame; in between, the face was followed by mesh tracking.
    """

    track_id: int
    box: np.ndarray
    score: float
    keypoints: Keypoints
    mesh: MeshFace | None = None
    detected: bool = False

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float32).reshape(4)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    def to_dict(self, include_mesh: bool = False, ndigits: int = 1) -> dict:
        out = {
            "track_id": self.track_id,
            "box": _box_dict(self.box, ndigits),
            "score": round(float(self.score), 4),
            "keypoints": _keypoints_dict(self.keypoints, ndigits),
            "detected": self.detected,
            "has_mesh": self.mesh is not None,
        }
        if include_mesh and self.mesh is not None:
            out["mesh"] = self.mesh.to_dict(ndigits)["landmarks"]
        return out


@dataclass
class FrameFaces:
    """Everything the face pass found in one frame. ``image`` is the decoded RGB frame
    (kept so consumers need not decode twice; ``None`` when the pipeline drops images)."""

    index: int
    time: float
    width: int
    height: int
    faces: list[TrackedFace] = field(default_factory=list)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)

    def face(self, track_id: int) -> TrackedFace | None:
        return next((f for f in self.faces if f.track_id == track_id), None)

    def to_dict(self, include_mesh: bool = False) -> dict:
        return {
            "index": self.index,
            "time": round(self.time, 4),
            "width": self.width,
            "height": self.height,
            "faces": [f.to_dict(include_mesh=include_mesh) for f in self.faces],
        }
