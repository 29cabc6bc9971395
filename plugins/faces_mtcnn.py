"""facenet-pytorch MTCNN as a face detector backend (``mtcnn``).

MTCNN's three small networks (P/R/O-Net) ship inside the facenet-pytorch wheel, so it
works offline. Slower than BlazeFace but steadier on small, tilted and half-profile
faces, and it gives both mouth corners. Runs on CUDA when torch sees a GPU.

On CPU, inference runs in one dedicated worker thread limited to ``threads`` torch
threads (default 1; torch's thread count is per OS thread with OpenMP, so the rest of
the process keeps its setting). MTCNN is many tiny convolutions over an image pyramid:
on a 2-core machine that also runs decoding and MediaPipe, two OpenMP threads measured
0.5-4 s per 640x360 frame (threads waiting on each other) against 0.2-0.3 s with one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from toolkit.errors import ModelError
from toolkit.faces.backends import LazyModel
from toolkit.faces.records import DetectedFace
from toolkit.hookspecs import hookimpl

# MTCNN's order: image-left eye, image-right eye, nose, image-left and image-right mouth
# corner; in the subject's view the image-left ones are the right ones.
_KEYPOINT_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


def _as_float_array(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """facenet-pytorch returns object arrays (or None) depending on numpy's version."""
    if value is None:
        return np.zeros((0, *shape), np.float32)
    return np.array(np.asarray(value).tolist(), dtype=np.float32).reshape(-1, *shape)


class MtcnnDetector:
    name = "mtcnn"
    kind = "detector"
    priority = 50

    def __init__(self, min_score: float = 0.9, max_side: int = 1280, threads: int = 1):
        self.min_score = min_score
        # MTCNN's image pyramid grows with the frame; larger frames are searched at
        # this size (faces under ~20 px at that scale are missed).
        self.max_side = max_side
        self.threads = threads
        self._model = LazyModel(self._build)
        self._worker = LazyModel(self._start_worker)

    def _build(self) -> Any:
        try:
            import torch
            from facenet_pytorch import MTCNN
        except Exception as exc:
            raise ModelError(f"facenet-pytorch MTCNN is unavailable ({type(exc).__name__}: {exc})") from None
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return MTCNN(keep_all=True, device=device, min_face_size=20)

    def _start_worker(self) -> ThreadPoolExecutor:
        import torch

        # One worker: calls are serialised (the model is not re-entrant) and the thread
        # limit applies to this worker only.
        return ThreadPoolExecutor(1, thread_name_prefix="dftk-mtcnn", initializer=torch.set_num_threads,
                                  initargs=(self.threads,))

    def _infer(self, image: np.ndarray) -> tuple[Any, Any, Any]:
        import torch

        with torch.inference_mode():
            return self._model.get().detect(image, landmarks=True)

    @property
    def device(self) -> str:
        return str(self._model.get().device)

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        import cv2

        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        work = image if scale == 1.0 else cv2.resize(image, (round(w * scale), round(h * scale)),
                                                      interpolation=cv2.INTER_AREA)
        # A contiguous HWC uint8 RGB array is what MTCNN.detect expects for numpy input.
        work = np.ascontiguousarray(work, dtype=np.uint8)
        boxes, probs, points = self._worker.get().submit(self._infer, work).result()
        boxes = _as_float_array(boxes, (4,)) / scale
        probs = _as_float_array(probs, ()).reshape(-1)
        points = _as_float_array(points, (5, 2)) / scale
        faces = []
        for box, prob, pts in zip(boxes, probs, points):
            if not np.isfinite(prob) or prob < self.min_score:
                continue
            box = box.copy()
            box[[0, 2]] = box[[0, 2]].clip(0, w)
            box[[1, 3]] = box[[1, 3]].clip(0, h)
            if box[2] - box[0] < 2 or box[3] - box[1] < 2:
                continue
            kps = {name: (float(x), float(y)) for name, (x, y) in zip(_KEYPOINT_NAMES, pts)}
            faces.append(DetectedFace(box, float(prob), kps, self.name))
        return sorted(faces, key=lambda f: -f.score)


DETECTOR = MtcnnDetector()


@hookimpl
def register_face_backends(register):
    register(DETECTOR)
