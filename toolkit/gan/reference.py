"""The subject's reference: the frame the model animates, and how it is chosen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.gan import landmarks as lmk
from toolkit.gan.mesh_warp import MeshWarper


@dataclass
class Reference:
    """A view of the subject: its aligned crop and landmarks, and optionally its full frame."""

    crop: np.ndarray  # (S, S, 3) uint8 canonical aligned crop
    landmarks: np.ndarray  # (478, 2) float32 in crop pixels
    frame: np.ndarray | None = None  # the full frame the crop was cut from (for paste-back)
    matrix: np.ndarray | None = None  # (2, 3) frame pixels -> crop pixels


def reference_from_frame(frame: np.ndarray, size: int, landmarks: np.ndarray | None = None,
                         padding: float = lmk.PADDING) -> Reference | None:
    """Align a full frame of the subject (mesh in frame pixels, found when not given)."""
    if landmarks is None:
        landmarks = lmk.detect_landmarks(frame)
        if landmarks is None:
            return None
    a = lmk.align(frame, landmarks, size, padding)
    return Reference(a.crop, a.landmarks, frame, a.matrix)


def choose_neutral(crops: np.ndarray, landmarks: np.ndarray, warper: MeshWarper, candidates: int = 48) -> int:
    """Index of the frame closest to the subject's typical look, in shape and in texture.

    Texture is compared after warping every candidate to the mean shape, against the
    per-pixel median over candidates: a hand over the mouth or closed eyes are rare, so
    the median does not show them and frames that do score badly.
    """
    n = len(crops)
    cand = np.unique(np.linspace(0, n - 1, min(candidates, n)).round().astype(int))
    mean_shape = landmarks.mean(0)
    median_shape = np.median(landmarks[cand], axis=0)
    shape_d = np.linalg.norm(landmarks[cand] - median_shape, axis=2).mean(1)
    frontal = np.stack([warper.warp(crops[i], landmarks[i], mean_shape) for i in cand]).astype(np.float32)
    mask = lmk.region_mask(mean_shape, crops.shape[1]) > 0.5
    median_tex = np.median(frontal, axis=0)
    tex_d = np.abs(frontal - median_tex)[:, mask].mean(axis=(1, 2))
    score = shape_d / (np.median(shape_d) + 1e-6) + tex_d / (np.median(tex_d) + 1e-6)
    return int(cand[np.argmin(score)])
