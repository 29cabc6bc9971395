"""Training batches: (reference, K consecutive targets) from the subject's own recording."""

from __future__ import annotations

import numpy as np
import torch

import cv2

from toolkit.gan import landmarks as lmk
from toolkit.gan.config import TrainConfig
from toolkit.gan.data import SubjectClip
from toolkit.gan.landmark_map import landmark_map
from toolkit.gan.mesh_warp import MeshWarper


class PairSampler:
    """Draws stacks of ``clip_frames`` consecutive training frames, each with one reference.

    The reference is the neutral frame (what rendering uses) with probability
    ``neutral_reference_p``, else a random training frame, so the model also learns to
    animate other views of the subject (lip-sync and swap pass their own reference).
    """

    def __init__(self, clip: SubjectClip, train: np.ndarray, neutral: int, warper: MeshWarper,
                 cfg: TrainConfig, rng: np.random.Generator):
        self.clip, self.train, self.neutral, self.warper, self.cfg, self.rng = clip, train, neutral, warper, cfg, rng
        self.k = cfg.clip_frames
        self.starts = clip.runs(train, self.k)
        if len(self.starts) == 0:  # a recording with gaps everywhere: fall back to single frames
            self.k = 1
            self.starts = np.arange(len(train))

    def sample(self, device: torch.device) -> dict[str, torch.Tensor]:
        """``warped``, ``maps``, ``real``, ``weight``: (B, K, C, P, P) tensors; images in [-1, 1].

        ``weight`` is 1 on the face (what is pasted back) and ``outside_weight`` elsewhere:
        hair and background are not predictable from the face mesh.
        """
        cfg, clip, size = self.cfg, self.clip, self.clip.size
        patch = cfg.patch or size
        warped, maps, real, weight = [], [], [], []
        for _ in range(cfg.batch):
            start = self.train[self.starts[self.rng.integers(len(self.starts))]]
            targets = np.arange(start, start + self.k)
            ref = self.neutral if self.rng.random() < cfg.neutral_reference_p else int(self.rng.choice(self.train))
            win = self._window(clip.landmarks[start], size, patch)
            for t in targets:
                warped.append(self.warper.warp(clip.crops[ref], clip.landmarks[ref], clip.landmarks[t])[win])
                maps.append(landmark_map(clip.landmarks[t], size)[(slice(None),) + win])
                real.append(clip.crops[t][win])
                weight.append(self._weight(clip.landmarks[t], size)[win])
        b, k = cfg.batch, self.k

        def images(a: list[np.ndarray]) -> torch.Tensor:
            t = torch.from_numpy(np.stack(a)).to(device).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
            return t.reshape(b, k, *t.shape[1:])

        m = torch.from_numpy(np.stack(maps)).to(device)
        wt = torch.from_numpy(np.stack(weight)).to(device)
        return {"warped": images(warped), "maps": m.reshape(b, k, *m.shape[1:]), "real": images(real),
                "weight": wt.reshape(b, k, 1, *wt.shape[1:])}

    def _window(self, landmarks: np.ndarray, size: int, patch: int) -> tuple[slice, slice]:
        """A patch whose centre falls inside the face box."""
        if patch >= size:
            return slice(0, size), slice(0, size)
        lo, hi = landmarks.min(0), landmarks.max(0)
        cx, cy = (self.rng.uniform(lo[i], hi[i]) for i in (0, 1))
        x = int(np.clip(round(cx - patch / 2), 0, size - patch))
        y = int(np.clip(round(cy - patch / 2), 0, size - patch))
        return slice(y, y + patch), slice(x, x + patch)

    def _weight(self, landmarks: np.ndarray, size: int) -> np.ndarray:
        m = lmk.region_mask(landmarks, size, grow=0.15)
        k = int(size * 0.06) | 1
        m = cv2.GaussianBlur(m, (k, k), 0)
        return np.maximum(m, self.cfg.outside_weight).astype(np.float32)
