"""MediaPipe face backends: the BlazeFace detector and the 478-point face mesh.

* ``mediapipe`` (detector): full-range BlazeFace (``model_selection=1``, faces up to ~5 m),
  6 keypoints (eyes, nose tip, mouth centre, ear tragions).
* ``mediapipe_mesh`` (landmarker): FaceMesh with ``refine_landmarks=True`` (468 points +
  irises). It always runs on a square crop around the face it is given (1.8x the box,
  resampled to 256 px) rather than on the whole frame: MediaPipe's own short-range
  detector inside FaceMesh misses small faces in wide shots, but finds any face that
  fills half of a crop. Static mode uses ``static_image_mode=True``; the video-mode
  session keeps one ``static_image_mode=False`` graph per tracked face, which re-uses the
  previous frame's landmarks as its region of interest and skips detection.

The models ship inside the mediapipe wheel; nothing is downloaded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence

import cv2
import numpy as np

from toolkit.errors import ModelError
from toolkit.faces.backends import LazyModel
from toolkit.faces.geometry import affine_scale, box_center, box_size, invert_affine, square_window, transform_points
from toolkit.faces.native_logs import quiet_stderr
from toolkit.faces.records import DetectedFace, MeshFace
from toolkit.hookspecs import hookimpl

CROP = 256  # side of the square crop fed to FaceMesh
WINDOW_SCALE = 1.8  # crop side / face box side
_KEYPOINT_NAMES = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


def _solutions() -> Any:
    try:
        import mediapipe as mp

        return mp.solutions
    except Exception as exc:  # ImportError, or a wheel without the legacy solutions API
        raise ModelError(f"mediapipe face models are unavailable ({type(exc).__name__}: {exc})") from None


class _Graph:
    """One MediaPipe solution graph; the first call's native log lines are silenced."""

    def __init__(self, factory: Any):
        with quiet_stderr():
            self.solution = factory()
        self._warm = False

    def process(self, image: np.ndarray) -> Any:
        if self._warm:
            return self.solution.process(image)
        with quiet_stderr():
            out = self.solution.process(image)
        self._warm = True
        return out

    def reset(self) -> None:
        # reset() rebuilds the graph: its next first call logs again.
        with quiet_stderr():
            self.solution.reset()
        self._warm = False

    def close(self) -> None:
        self.solution.close()


class MediapipeDetector:
    name = "mediapipe"
    kind = "detector"
    priority = 100

    def __init__(self, min_score: float = 0.5):
        self.min_score = min_score
        self._model = LazyModel(self._build)
        self._lock = threading.Lock()  # a graph processes one image at a time

    def _build(self) -> _Graph:
        fd = _solutions().face_detection
        return _Graph(lambda: fd.FaceDetection(model_selection=1, min_detection_confidence=self.min_score))

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        h, w = image.shape[:2]
        graph = self._model.get()
        with self._lock:
            result = graph.process(np.ascontiguousarray(image))
        faces = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = np.array([rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w, (rel.ymin + rel.height) * h])
            box[[0, 2]] = box[[0, 2]].clip(0, w)
            box[[1, 3]] = box[[1, 3]].clip(0, h)
            if box[2] - box[0] < 2 or box[3] - box[1] < 2:
                continue
            kps = {name: (float(kp.x * w), float(kp.y * h))
                   for name, kp in zip(_KEYPOINT_NAMES, det.location_data.relative_keypoints)}
            faces.append(DetectedFace(box, float(det.score[0]), kps, self.name))
        return sorted(faces, key=lambda f: -f.score)


def _mesh_from_result(result: Any, matrix: np.ndarray, pick_center: bool) -> MeshFace | None:
    """Map FaceMesh's normalised crop landmarks back to frame pixels."""
    found = result.multi_face_landmarks or []
    if not found:
        return None
    meshes = [np.array([(p.x, p.y, p.z) for p in lm.landmark], dtype=np.float64) * CROP for lm in found]
    if pick_center and len(meshes) > 1:  # the face the crop was centred on
        meshes.sort(key=lambda m: np.linalg.norm(m[:, :2].mean(axis=0) - CROP / 2))
    mesh = meshes[0]
    out = np.empty_like(mesh)
    out[:, :2] = transform_points(mesh[:, :2], invert_affine(matrix))
    out[:, 2] = mesh[:, 2] / affine_scale(matrix)
    return MeshFace(out.astype(np.float32))


def _crop(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(image, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


@dataclass
class _Window:
    graph: _Graph
    matrix: np.ndarray

    def drift(self, roi: np.ndarray) -> tuple[float, float]:
        """How far ``roi`` sits from the window centre (in crops) and its scale change."""
        center = transform_points(box_center(roi)[None], self.matrix)[0]
        shift = float(np.linalg.norm(center - CROP / 2)) / CROP
        scale = box_size(roi) * affine_scale(self.matrix) * WINDOW_SCALE / CROP
        return shift, scale


class _MeshTracker:
    """Video-mode session: one tracking FaceMesh graph per key, each on its own crop window.

    The window stays put while the face stays near its centre (identical crops for a
    still face keep the landmarks steady); it re-centres when the face drifts, and the
    graph is reset only after a large jump, when its remembered region would be wrong.
    """

    RECENTER_SHIFT = 0.05
    RESET_SHIFT = 0.15

    def __init__(self, backend: "MediapipeMeshLandmarker"):
        self._backend = backend
        self._windows: dict[Hashable, _Window] = {}

    def update(self, image: np.ndarray, rois: Mapping[Hashable, np.ndarray]) -> dict[Hashable, MeshFace | None]:
        out: dict[Hashable, MeshFace | None] = {}
        for key, roi in rois.items():
            win = self._windows.get(key)
            if win is None:
                win = _Window(self._backend.new_graph(static=False), square_window(roi, WINDOW_SCALE, CROP))
                self._windows[key] = win
            else:
                shift, scale = win.drift(roi)
                if shift > self.RECENTER_SHIFT or not 0.87 < scale < 1.15:
                    if shift > self.RESET_SHIFT or not 0.7 < scale < 1.4:
                        win.graph.reset()
                    win.matrix = square_window(roi, WINDOW_SCALE, CROP)
            result = win.graph.process(_crop(image, win.matrix))
            out[key] = _mesh_from_result(result, win.matrix, pick_center=False)
        return out

    def drop(self, key: Hashable) -> None:
        win = self._windows.pop(key, None)
        if win is not None:
            win.graph.close()

    def close(self) -> None:
        for key in list(self._windows):
            self.drop(key)

    def __enter__(self) -> "_MeshTracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class MediapipeMeshLandmarker:
    name = "mediapipe_mesh"
    kind = "landmarker"
    priority = 100

    def __init__(self) -> None:
        self._static = LazyModel(lambda: self.new_graph(static=True))
        self._lock = threading.Lock()

    def new_graph(self, static: bool) -> _Graph:
        fm = _solutions().face_mesh
        # Static crops may hold a neighbour's face too: ask for two, keep the centred one.
        return _Graph(lambda: fm.FaceMesh(static_image_mode=static, max_num_faces=2 if static else 1,
                                          refine_landmarks=True, min_detection_confidence=0.5,
                                          min_tracking_confidence=0.5))

    def landmark(self, image: np.ndarray, boxes: Sequence[np.ndarray]) -> list[MeshFace | None]:
        graph = self._static.get()
        out = []
        for box in boxes:
            matrix = square_window(np.asarray(box, np.float64), WINDOW_SCALE, CROP)
            crop = _crop(image, matrix)
            with self._lock:
                result = graph.process(crop)
            out.append(_mesh_from_result(result, matrix, pick_center=True))
        return out

    def open_tracker(self) -> _MeshTracker:
        return _MeshTracker(self)


DETECTOR = MediapipeDetector()
LANDMARKER = MediapipeMeshLandmarker()


@hookimpl
def register_face_backends(register):
    register(DETECTOR)
    register(LANDMARKER)
