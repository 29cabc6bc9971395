"""Co-articulation: blend viseme keyframes into continuous mouth-parameter curves.

Cohen & Massaro's dominance model: each keyframe pulls every parameter towards its
target with a weight that decays with the time away from the keyframe,
``D(t) = a * exp(-(|t - t_k| / s)^SHAPE)``, and the curve is the dominance-weighted mean
of the targets. A weak constant rest term takes over far from any keyframe, so long
pauses and the ends of the clip relax to closed lips.
"""

from __future__ import annotations

import numpy as np

from toolkit.lipsync.params import REST
from toolkit.lipsync.visemes import VISEMES, Keyframe

SHAPE = 1.5  # >1 gives smooth peaks; 1 would make a cusp at each keyframe
REST_DOMINANCE = 1e-3
REACH = 4.0  # a keyframe's influence is ignored beyond REACH spreads (exp(-8) < 1e-3)


def blend(frames: list[Keyframe], times: np.ndarray) -> np.ndarray:
    """Mouth parameters ``(len(times), 3)`` at ``times`` (seconds)."""
    times = np.asarray(times, np.float64)
    weight = np.full((len(times), 3), REST_DOMINANCE)
    total = weight * REST.astype(np.float64)
    order = np.argsort(times)
    sorted_times = times[order]
    for frame in frames:
        viseme = VISEMES[frame.viseme]
        lo = np.searchsorted(sorted_times, frame.time - REACH * frame.spread, side="left")
        hi = np.searchsorted(sorted_times, frame.time + REACH * frame.spread, side="right")
        if hi <= lo:
            continue
        idx = order[lo:hi]
        decay = np.exp(-(np.abs(times[idx] - frame.time) / frame.spread) ** SHAPE)
        d = decay[:, None] * np.asarray(viseme.dominance)[None, :]
        weight[idx] += d
        total[idx] += d * np.asarray(viseme.target)[None, :]
    return (total / weight).astype(np.float32)
