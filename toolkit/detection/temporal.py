"""Temporal consistency: landmark jitter and flicker inside the face against outside it.

Frame-by-frame face manipulation (a swapped, pasted or re-rendered face) is made without
memory of the previous frame, so it tends to wobble and flicker in ways the rest of the
picture does not. Per track and run of consecutive analysed frames we measure

* ``jitter``: each frame's 468 mesh points are aligned to the run's mean shape by a
  similarity transform (removing head motion), and the residual after a 5-frame moving
  average is taken (RMS, as a fraction of the inter-ocular distance): the part of the
  face's shape change that is faster than any real expression.
* ``regional jitter``: the same residual for the points below the nose tip against the
  points above it. Generators that re-render part of the face (lip-sync models redo the
  lower half) make that part wobble on its own.
* ``flicker``: the mean colour (CIE-LAB) of the skin regions and of the frame outside a
  margin around the face, each high-passed over time (second difference); the ratio of
  their variability (inside / outside) and how weakly they move together. Real lighting
  changes hit both; a face rendered per frame flickers on its own.

Per-frame versions of both give the timeline; the clip features are robust statistics
over all runs. The logistic mapping to a score is fitted by :mod:`toolkit.detection.calibrate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from toolkit.detection.crops import interocular, skin_region_means

MESH_POINTS = 468
SMOOTH = 5
MIN_RUN = 8


def _align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Similarity-align ``points`` (N, 2) onto ``reference`` (Umeyama, no reflection)."""
    mu_p, mu_r = points.mean(axis=0), reference.mean(axis=0)
    p, r = points - mu_p, reference - mu_r
    cov = r.T @ p / len(p)
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, d]) @ vt
    scale = (s * np.array([1.0, d])).sum() / max((p ** 2).sum() / len(p), 1e-12)
    return (scale * (rot @ p.T)).T + mu_r


def _moving_average(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average along axis 0 with edge padding."""
    pad = k // 2
    xp = np.concatenate([np.repeat(x[:1], pad, axis=0), x, np.repeat(x[-1:], pad, axis=0)])
    c = np.cumsum(xp, axis=0, dtype=np.float64)
    c = np.concatenate([np.zeros_like(c[:1]), c])
    return (c[k:] - c[:-k]) / k


NOSE_TIP = 1


def point_jitter(points: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 468)`` per-point residual speed (/ inter-ocular distance) after Procrustes
    alignment and a 5-frame moving average, and the mean shape ``(468, 2)``."""
    pts = np.array([p[:MESH_POINTS, :2] for p in points], np.float64)
    ref = pts.mean(axis=0)
    for _ in range(2):  # generalised Procrustes: align, re-average
        aligned = np.array([_align(p, ref) for p in pts])
        ref = aligned.mean(axis=0)
    iod = max(interocular(ref), 1e-6)
    residual = aligned - _moving_average(aligned, SMOOTH)
    return np.sqrt((residual ** 2).sum(axis=2)) / iod, ref


def landmark_jitter(points: list[np.ndarray]) -> np.ndarray:
    """Per-frame jitter (RMS residual / inter-ocular distance) over a run of meshes."""
    per_point, _ = point_jitter(points)
    return np.sqrt((per_point ** 2).mean(axis=1))


def _lab_mean(pixels: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(pixels.reshape(1, -1, 3).astype(np.uint8), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    return lab.astype(np.float64).mean(axis=0)


def inside_outside(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean LAB of the skin regions and of the frame outside 1.6x the face box."""
    means = skin_region_means(image, points)
    if not means:
        return None
    inside = _lab_mean(np.array(list(means.values()), np.float64).clip(0, 255))
    h, w = image.shape[:2]
    pts = points[:, :2]
    cx, cy = pts.mean(axis=0)
    half = 0.8 * max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))
    small = cv2.resize(image, (max(8, w // 8), max(8, h // 8)), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    keep = np.ones((sh, sw), bool)
    x0, x1 = int((cx - half) * sw / w), int(np.ceil((cx + half) * sw / w))
    y0, y1 = int((cy - half) * sh / h), int(np.ceil((cy + half) * sh / h))
    keep[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = False
    if keep.sum() < 8:
        return None
    return inside, _lab_mean(small[keep])


def _highpass(x: np.ndarray) -> np.ndarray:
    """Second difference (T-2, C): what changes faster than a straight line over 3 frames."""
    return x[2:] - 2 * x[1:-1] + x[:-2]


@dataclass
class RunMeasure:
    jitter: np.ndarray  # per frame of the run
    lower_upper: float  # median jitter of the points below the nose tip / of those above it
    flicker_in: np.ndarray  # |high-passed inside L|, per frame (edges padded)
    flicker_out: np.ndarray
    flicker_ratio: float  # std(high-passed inside) / std(high-passed outside), over L, a, b
    flicker_corr: float  # correlation of inside and outside high-passed L


def measure_run(images: list[np.ndarray], points: list[np.ndarray]) -> RunMeasure | None:
    if len(images) < MIN_RUN:
        return None
    per_point, ref = point_jitter(points)
    jitter = np.sqrt((per_point ** 2).mean(axis=1))
    lower = ref[:, 1] > ref[NOSE_TIP, 1]
    lower_upper = float(np.median(per_point[:, lower]) / max(np.median(per_point[:, ~lower]), 1e-9))
    pairs = [inside_outside(img, p) for img, p in zip(images, points)]
    if any(p is None for p in pairs):
        return None
    inside = np.array([p[0] for p in pairs])
    outside = np.array([p[1] for p in pairs])
    hin, hout = _highpass(inside), _highpass(outside)
    ratio = float(np.sqrt((hin ** 2).mean()) / max(np.sqrt((hout ** 2).mean()), 0.05))
    if hin[:, 0].std() > 1e-9 and hout[:, 0].std() > 1e-9:
        corr = float(np.corrcoef(hin[:, 0], hout[:, 0])[0, 1])
    else:
        corr = 0.0
    pad = lambda v: np.concatenate([v[:1], v, v[-1:]])  # noqa: E731
    return RunMeasure(jitter, lower_upper, pad(np.abs(hin[:, 0])), pad(np.abs(hout[:, 0])), ratio, corr)


def clip_features(runs: list[RunMeasure]) -> np.ndarray:
    """``[log median jitter, log p90 jitter, log lower/upper jitter, log flicker ratio, flicker corr]``
    over all runs (frame-weighted)."""
    jit = np.concatenate([r.jitter for r in runs])
    weights = np.array([len(r.jitter) for r in runs], np.float64)
    ratio = float(np.exp(np.average(np.log([max(r.flicker_ratio, 1e-3) for r in runs]), weights=weights)))
    regional = float(np.average(np.log([max(r.lower_upper, 1e-3) for r in runs]), weights=weights))
    corr = float(np.average([r.flicker_corr for r in runs], weights=weights))
    return np.array([np.log(np.median(jit) + 1e-5), np.log(np.percentile(jit, 90) + 1e-5), regional, np.log(ratio), corr])


FEATURE_NAMES = ("log_median_jitter", "log_p90_jitter", "log_lower_upper_jitter", "log_flicker_ratio", "flicker_corr")


def measure_tracks(clip) -> list[tuple[int, list[tuple[list[int], RunMeasure]]]]:
    """``[(track_id, [(frame positions, RunMeasure)])]`` for every run of consecutive meshed frames."""
    out = []
    for track_id in clip.track_ids():
        runs = []
        for run in clip.runs(track_id, min_length=MIN_RUN):
            positions = [pos for pos, _ in run]
            m = measure_run([clip.frames[p].image for p in positions], [f.landmarks for _, f in run])
            if m is not None:
                runs.append((positions, m))
        if runs:
            out.append((track_id, runs))
    return out


def frame_features(m: RunMeasure) -> np.ndarray:
    """Per-frame ``[log jitter, log flicker in/out]`` (T, 2)."""
    return np.stack([np.log(m.jitter + 1e-5), np.log((m.flicker_in + 0.05) / (m.flicker_out + 0.05))], 1)


FRAME_FEATURE_NAMES = ("log_jitter", "log_flicker_in_over_out")
