"""Self-reenactment metrics on held-out frames: L1, PSNR, SSIM, landmark distance, flicker.

Every metric compares a rendered crop with the real crop of the same held-out frame, in
the canonical aligned space at the model's size (256x256 for the presets).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from toolkit.gan import landmarks as lmk
from toolkit.gan.data import SubjectClip
from toolkit.gan.losses import ssim_map


def _prepare(pred: np.ndarray, real: np.ndarray, masks: np.ndarray | None):
    p = torch.from_numpy(pred).permute(0, 3, 1, 2).float() / 255.0
    r = torch.from_numpy(real).permute(0, 3, 1, 2).float() / 255.0
    w = (torch.from_numpy(masks.astype(np.float32))[:, None] if masks is not None
         else torch.ones(len(p), 1, *p.shape[-2:]))
    return p, r, w, w.sum(dim=(1, 2, 3)).clamp_min(1.0)


def _ssim_per_frame(p: torch.Tensor, r: torch.Tensor, w: torch.Tensor, area: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        s = torch.cat([ssim_map(p[i:i + 16], r[i:i + 16], data_range=1.0) for i in range(0, len(p), 16)])
    return (s * w).sum(dim=(1, 2, 3)) / area


def ssim_per_frame(pred: np.ndarray, real: np.ndarray, masks: np.ndarray | None = None) -> np.ndarray:
    """(N,) SSIM of each frame pair (uint8 RGB), inside its mask when ``masks`` is given."""
    return _ssim_per_frame(*_prepare(pred, real, masks)).numpy()


def image_metrics(pred: np.ndarray, real: np.ndarray, masks: np.ndarray | None = None) -> dict[str, float]:
    """L1 (0..1 scale), PSNR (dB) and SSIM (RGB, Gaussian 11x11), per frame then averaged.

    With ``masks`` ((N, H, W) bool) the metrics cover only the masked pixels (the SSIM map
    is averaged inside the mask).
    """
    p, r, w, area = _prepare(pred, real, masks)
    ssim = _ssim_per_frame(p, r, w, area)
    l1 = ((p - r).abs().mean(1, keepdim=True) * w).sum(dim=(1, 2, 3)) / area
    mse = (((p - r) ** 2).mean(1, keepdim=True) * w).sum(dim=(1, 2, 3)) / area
    psnr = 10 * torch.log10(1.0 / mse.clamp_min(1e-10))
    return {"l1": float(l1.mean()), "psnr": float(psnr.mean()), "ssim": float(ssim.mean())}


def flicker(pred: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Temporal behaviour of a generated sequence against the real one (consecutive frames).

    ``flicker_index``: mean |(G[t]-G[t-1]) - (R[t]-R[t-1])| on a 0..255 scale (0 = the
    generated frames change exactly as the real ones do). ``temporal_diff_ratio``: mean
    frame-to-frame change of the generated clip over that of the real clip (1 = same amount
    of motion; above 1 = jitter).
    """
    if len(pred) < 2:
        return {"flicker_index": float("nan"), "temporal_diff_ratio": float("nan")}
    dp = np.diff(pred.astype(np.float32), axis=0)
    dr = np.diff(real.astype(np.float32), axis=0)
    return {"flicker_index": float(np.abs(dp - dr).mean()),
            "temporal_diff_ratio": float(np.abs(dp).mean() / max(np.abs(dr).mean(), 1e-6))}


def landmark_distance(pred: np.ndarray, real: np.ndarray | list) -> dict[str, float]:
    """AKD: mean distance (pixels of the crop) between meshes found on generated and real crops.

    ``real``: the real crops, or their meshes already found (None where none was).
    """
    real_lm = [lmk.detect_landmarks(r) for r in real] if isinstance(real, np.ndarray) else real
    dists = []
    for p, lr in zip(pred, real_lm):
        lp = lmk.detect_landmarks(p)
        if lp is not None and lr is not None:
            dists.append(float(np.linalg.norm(lp - lr, axis=1).mean()))
    return {"akd": float(np.mean(dists)) if dists else float("nan"),
            "akd_detected": len(dists) / max(len(pred), 1)}


def face_masks(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(N, S, S) bool: inside the face oval of each landmark set (the region pasted back)."""
    return np.stack([lmk.region_mask(lm, size) > 0.5 for lm in landmarks])


def render_holdout(model, clip: SubjectClip, indices: np.ndarray, reference=None, batch: int = 8,
                   is_cancelled: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(GAN, warp-only) crops of ``indices`` (``reference`` None: the model's neutral one)."""
    gan, warp = [], []
    for i in range(0, len(indices), batch):
        if is_cancelled and is_cancelled():
            break
        targets = clip.landmarks[indices[i:i + batch]]
        gan.append(model.render_batch(reference, targets))
        warp.extend(model.warp_only(reference, t) for t in targets)
    return np.concatenate(gan), np.stack(warp)


def evaluate_holdout(model, clip: SubjectClip, holdout: np.ndarray, max_frames: int | None = None,
                     reference: str = "first", akd: bool = False) -> dict:
    """Self-reenactment metrics of the model and of the warp-only baseline on held-out frames.

    ``reference="first"``: the first held-out frame is the source and the following ones
    drive it (the first-order-model protocol); ``"neutral"``: the model's stored reference.
    Metrics without a suffix cover the face (inside the face oval, what paste-back uses);
    ``*_crop`` ones the whole aligned crop, hair and background included.
    """
    from toolkit.gan.reference import Reference

    if reference == "first":
        if len(holdout) < 2:
            return {"frames": 0}
        ref = Reference(clip.crops[holdout[0]], clip.landmarks[holdout[0]])
        idx = holdout[1:]
    else:
        ref, idx = None, holdout
    idx = idx[:max_frames] if max_frames else idx
    if len(idx) == 0:
        return {"frames": 0}
    gan, warp = render_holdout(model, clip, idx, ref)
    real = clip.crops[idx]
    masks = face_masks(clip.landmarks[idx], clip.size)
    out: dict = {"frames": int(len(idx)), "reference": reference}
    real_lm = [lmk.detect_landmarks(r) for r in real] if akd else None
    for name, pred in (("gan", gan), ("warp_only", warp)):
        m = image_metrics(pred, real, masks)
        m.update({f"{k}_crop": v for k, v in image_metrics(pred, real).items()})
        m.update(flicker(pred, real))
        if akd:
            m.update(landmark_distance(pred, real_lm))
        out[name] = m
    return out
