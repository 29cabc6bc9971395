"""Rasterise target landmarks into the conditioning channels the generator and D see."""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.gan import topology as topo

CHANNELS = 4  # feature lines, eyes (iris darker), lips, mouth opening


def _fill(canvas: np.ndarray, pts: np.ndarray, value: float) -> None:
    cv2.fillPoly(canvas, [np.round(pts * 16).astype(np.int32)], value, lineType=cv2.LINE_AA, shift=4)


def landmark_map(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(4, size, size) float32 in [0, 1] for (478, 2) landmarks in crop pixels."""
    lm = landmarks.astype(np.float32)
    out = np.zeros((CHANNELS, size, size), np.float32)
    thickness = max(1, round(size / 256))
    segs = np.round(lm[topo.FEATURE_EDGES] * 16).astype(np.int32)  # (E, 2, 2)
    cv2.polylines(out[0], list(segs), False, 1.0, thickness, cv2.LINE_AA, shift=4)
    for eye, iris in ((topo.EYE_A, topo.IRIS_A), (topo.EYE_B, topo.IRIS_B)):
        _fill(out[1], lm[eye], 1.0)
        iris_mask = np.zeros((size, size), np.float32)
        _fill(iris_mask, lm[iris], 1.0)
        out[1] -= 0.5 * iris_mask * out[1]
    _fill(out[2], lm[topo.LIPS_OUTER], 1.0)
    _fill(out[3], lm[topo.LIPS_INNER], 1.0)
    out[2] -= out[3]
    return np.clip(out, 0.0, 1.0)
