"""The personal model's view of a face, through the shared face pipeline (``toolkit.faces``).

Everything the GAN core needs from a frame: the subject's 478-point mesh (video tracking
or a single image), the canonical crop it is rendered in, the face-region mask and the
paste-back. The crop is ``toolkit.faces``' canonical template (ArcFace layout, default
padding) fitted to the *rigid* keypoints only (eye centres and nose tip): the mouth
corners move with expressions, and a crop that shifts when the subject smiles would turn
expression into head motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from toolkit import faces
from toolkit.faces.alignment import DEFAULT_PADDING
from toolkit.faces.geometry import transform_points
from toolkit.faces.mesh_topology import five_points
from toolkit.gan import topology as topo
from toolkit.media import Frame

PADDING = DEFAULT_PADDING
ALIGN_KEYPOINTS = ("right_eye", "left_eye", "nose")


def crop_matrix(points: np.ndarray, size: int, padding: float = PADDING) -> np.ndarray:
    """2x3 similarity (frame pixels -> canonical crop pixels) for a (478, 2+) mesh."""
    kp = five_points(points)
    return faces.alignment_matrix({k: kp[k] for k in ALIGN_KEYPOINTS}, size, padding)


@dataclass
class AlignedMesh:
    crop: np.ndarray  # (S, S, 3) uint8
    landmarks: np.ndarray  # (478, 2) float32, crop pixels
    matrix: np.ndarray  # (2, 3) float32, frame -> crop


def align(image: np.ndarray, points: np.ndarray, size: int, padding: float = PADDING) -> AlignedMesh:
    m = crop_matrix(points, size, padding)
    crop = faces.warp_to_crop(image, m, size)
    return AlignedMesh(crop, transform_points(points[:, :2], m).astype(np.float32), m.astype(np.float32))


def to_crop(points: np.ndarray, size: int, padding: float = PADDING) -> np.ndarray:
    """Mesh (frame pixels) -> the same mesh in its own canonical crop (crop pixels)."""
    return transform_points(points[:, :2], crop_matrix(points, size, padding)).astype(np.float32)


def _primary(frame_faces: faces.FrameFaces, track: int | None) -> tuple[np.ndarray | None, int | None]:
    """The followed face's mesh: the same track as before, else the largest meshed face."""
    meshed = [f for f in frame_faces.faces if f.mesh is not None]
    if not meshed:
        return None, track
    same = [f for f in meshed if f.track_id == track]
    face = same[0] if same else max(meshed, key=lambda f: f.width * f.height)
    return face.mesh.landmarks[:, :2].astype(np.float32), face.track_id


def track_frames(frames: Iterable[Frame]) -> Iterator[tuple[Frame, np.ndarray | None]]:
    """Follow one face (the largest when it first appears) through a clip, frame by frame."""
    track = None
    frames = iter(frames)
    with faces.FacePipeline(keep_images=False) as pipe:
        pipe.reset()
        for frame in frames:
            points, track = _primary(pipe.step(frame.image, frame.index, frame.time), track)
            yield frame, points


def detect_landmarks(image: np.ndarray) -> np.ndarray | None:
    """Static mode: the largest face's mesh in one image (frame pixels), or None."""
    points, _ = _primary(faces.detect_faces(image), None)
    return points


class LiveLandmarker:
    """Video-mode tracking one frame at a time (a webcam stream or a driver clip)."""

    def __init__(self) -> None:
        self._pipe = faces.FacePipeline(keep_images=False)
        self._track: int | None = None
        self._index = 0

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        result = self._pipe.step(image, self._index)
        self._index += 1
        points, self._track = _primary(result, self._track)
        return points

    def close(self) -> None:
        self._pipe.close()


def region_mask(landmarks: np.ndarray, size: int, grow: float = 0.0) -> np.ndarray:
    """Float32 0/1 mask of the face oval (crop pixels), optionally grown about its centre."""
    pts = landmarks[:, :2].astype(np.float64)
    if grow:
        oval = pts[topo.FACE_OVAL]
        centre = oval.mean(0)
        pts = centre + (pts - centre) * (1.0 + grow)
    return faces.face_mask(pts, (size, size), "face_oval").astype(np.float32) / 255.0


def paste(frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray,
          color_match: bool = True) -> np.ndarray:
    """Feathered (and by default colour-matched) paste of a canonical crop back into ``frame``."""
    return faces.paste_back(frame, crop, matrix, mask, feather=0.08, color_match=color_match)

