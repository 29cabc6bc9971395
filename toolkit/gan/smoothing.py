"""One-euro filter (Casiez et al., CHI 2012) for landmark streams.

Mesh trackers jitter by a pixel or so from frame to frame; rendered faces would flicker
with it. The one-euro filter smooths strongly when points are still and lets fast motion
through (its cutoff rises with speed), so speech and blinks keep their timing.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    def __init__(self, fps: float = 25.0, min_cutoff: float = 1.5, beta: float = 0.05, d_cutoff: float = 1.0):
        self.dt = 1.0 / max(fps, 1e-3)
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._x is None:
            self._x, self._dx = x, np.zeros_like(x)
            return x.astype(np.float32)
        dx = (x - self._x) / self.dt
        a_d = _alpha(self.d_cutoff, self.dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        # Per point: the faster it moves, the higher its cutoff (less lag).
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True)
        cutoff = self.min_cutoff + self.beta * speed
        tau = 1.0 / (2 * math.pi * cutoff)
        a = 1.0 / (1.0 + tau / self.dt)
        self._x = a * x + (1 - a) * self._x
        return self._x.astype(np.float32)

    def reset(self) -> None:
        self._x = self._dx = None
