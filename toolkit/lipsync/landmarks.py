"""Mouth parameters <-> 478-point face-mesh landmarks.

:func:`apply_mouth` moves the lips, the skin around them and the jaw of a landmark set so
that it shows the requested mouth parameters; the personal GAN then renders a face from
those landmarks. Deterministic, vectorised, no learning.

Coordinates: any isotropic 2-D or 3-D frame in which the face is upright-ish, e.g. the
pixel coordinates of the canonical aligned crop (MediaPipe's normalised x, y are only
isotropic on a square image). z, when present, is MediaPipe's depth (smaller = nearer).

How each parameter moves points (all distances scale with the outer-eye-corner
distance ``s``; ``u`` runs along the mouth line, ``v`` towards the chin):

- open: the inner-lip aperture (:func:`toolkit.lipsync.sync.mouth_aperture`) is set to
  ``open * OPEN_APERTURE * s``. The upper lip
  rises by ``UPPER_SHARE`` of the change, the lower lip drops by the rest; both taper to
  0 at the corners. Every non-lip point below the mouth line follows the jaw: weight 0
  on the mouth line, rising to 1 within ``JAW_RAMP * s`` below it, reduced towards
  the jaw angles (a jaw rotates about the ears, so its sides move less).
- width: lip points stretch along the mouth line about the mouth centre so the corner
  distance is ``rest * (1 + WIDTH_GAIN * width)``; cheek skin near the corners follows
  with a Gaussian falloff.
- protrude: lips move forward (``-z``) by ``PROTRUDE_DEPTH * s * protrude`` and the outer
  lip line rolls outwards by ``PROTRUDE_EVERSION * s * protrude``.

``open`` is absolute (measured from the landmarks themselves), ``width`` is relative to
the ``neutral`` landmarks (the subject's rest face; the input itself if not given), and
``protrude`` is relative to the input pose (it cannot be measured in 2-D).
"""

from __future__ import annotations

import numpy as np

from toolkit.errors import InputError
from toolkit.lipsync.mesh import CHIN, EYE_OUTER, INNER_CORNERS, OUTER_CORNERS, mouth_regions
from toolkit.lipsync.params import (
    OPEN_APERTURE,
    PROTRUDE_DEPTH,
    PROTRUDE_EVERSION,
    WIDTH_GAIN,
    clip_params,
)
from toolkit.lipsync.sync import mouth_aperture, mouth_width, signed_gap

UPPER_SHARE = 0.25  # the upper lip takes a quarter of an opening, the jaw the rest
JAW_RAMP = 0.08  # jaw weight reaches 1 this far below the mouth line (x s)
JAW_SIDE_DROP = 0.5  # jaw weight lost at the jaw angles (|u| = face half-width)
CHEEK_REACH = 0.12  # Gaussian reach of the corner pull on cheek skin (x s)
OPEN_PASSES = 2  # a second pass removes the small residual of the tapered opening


def _check(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 2 or lm.shape[0] not in (468, 478) or lm.shape[1] not in (2, 3):
        raise InputError(f"expected face-mesh landmarks of shape (478, 2 or 3), got {lm.shape}")
    if not np.all(np.isfinite(lm)):
        raise InputError("face-mesh landmarks contain NaN or infinite values")
    return lm


class _MouthFrame:
    """Mouth-centred axes of one landmark set: origin between the inner corners."""

    def __init__(self, lm: np.ndarray):
        xy = lm[:, :2]
        self.scale = float(np.linalg.norm(xy[EYE_OUTER[0]] - xy[EYE_OUTER[1]]))
        if self.scale < 1e-6:
            raise InputError("face-mesh landmarks are degenerate (eye corners coincide)")
        self.centre = 0.5 * (xy[INNER_CORNERS[0]] + xy[INNER_CORNERS[1]])
        ex = xy[OUTER_CORNERS[1]] - xy[OUTER_CORNERS[0]]
        self.ex = ex / max(np.linalg.norm(ex), 1e-9)
        ey = np.array([-self.ex[1], self.ex[0]])
        self.ey = ey if np.dot(xy[CHIN] - self.centre, ey) > 0 else -ey  # towards the chin
        rel = xy - self.centre
        self.u = rel @ self.ex / self.scale  # along the mouth line, in face-size units
        self.v = rel @ self.ey / self.scale  # towards the chin
        self.half_width = 0.5 * abs(self.u[OUTER_CORNERS[1]] - self.u[OUTER_CORNERS[0]])


def _weights(ref: np.ndarray) -> dict[str, np.ndarray]:
    """Per-point weights for each motion, from the reference (rest) geometry."""
    frame = _MouthFrame(ref)
    regions = mouth_regions()
    n = ref.shape[0]
    lips = np.zeros(n, bool)
    lips[list(regions.lips)] = True
    taper = np.clip(1.0 - (frame.u / max(frame.half_width, 1e-6)) ** 2, 0.0, 1.0)

    upper = np.zeros(n)
    upper[list(regions.upper)] = taper[list(regions.upper)]
    lower = np.zeros(n)
    lower[list(regions.lower)] = taper[list(regions.lower)]
    # jaw: everything below the mouth line that is not lip
    ramp = np.clip(frame.v / JAW_RAMP, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    face_half = max(float(np.abs(frame.u).max()), 1e-6)
    side = 1.0 - JAW_SIDE_DROP * np.clip(np.abs(frame.u) / face_half, 0.0, 1.0) ** 2
    jaw = np.where(lips, 0.0, ramp * side)
    # width: lips stretch fully, nearby skin partly
    corner_dist = np.min(
        [np.linalg.norm(ref[:, :2] - ref[c, :2], axis=1) for c in OUTER_CORNERS], axis=0
    ) / frame.scale
    stretch = np.where(lips, 1.0, np.exp(-((corner_dist / CHEEK_REACH) ** 2)))
    # protrusion: outer lip line everts (upper up, lower down), all lips come forward
    evert = np.zeros(n)
    evert[list(regions.outer_upper)] = -taper[list(regions.outer_upper)]
    evert[list(regions.outer_lower)] = taper[list(regions.outer_lower)]
    forward = lips.astype(np.float64)
    return {"upper": upper, "lower": lower, "jaw": jaw, "stretch": stretch, "evert": evert, "forward": forward}


def _rest_width(neutral: np.ndarray) -> float:
    return float(mouth_width(neutral))


def mouth_params_from_landmarks(landmarks: np.ndarray, neutral: np.ndarray | None = None) -> np.ndarray:
    """Measure ``(open, width, protrude)`` of one landmark set, or ``(T, 3)`` for a ``(T, N, D)`` stack.

    ``width`` is relative to ``neutral`` (0 without it). ``protrude`` is measured from z
    against ``neutral`` when both are 3-D, else 0. NaN landmark sets give NaN rows.
    """
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim == 3:
        rows = [
            mouth_params_from_landmarks(x, neutral) if np.all(np.isfinite(x)) else np.full(3, np.nan, np.float32)
            for x in lm
        ]
        return np.stack(rows) if rows else np.zeros((0, 3), np.float32)
    lm = _check(lm)
    out = np.zeros(3, np.float32)
    out[0] = mouth_aperture(lm) / OPEN_APERTURE
    if neutral is not None:
        neutral = _check(neutral)
        out[1] = (mouth_width(lm) / _rest_width(neutral) - 1.0) / WIDTH_GAIN
        if lm.shape[1] == 3 and neutral.shape[1] == 3:
            out[2] = (_lip_depth(neutral) - _lip_depth(lm)) / PROTRUDE_DEPTH
    return out


def _lip_depth(lm: np.ndarray) -> float:
    """Lip z relative to the eye corners, in face-size units."""
    lips = list(mouth_regions().lips)
    scale = float(np.linalg.norm(lm[EYE_OUTER[0], :2] - lm[EYE_OUTER[1], :2]))
    return float((lm[lips, 2].mean() - lm[list(EYE_OUTER), 2].mean()) / scale)


def apply_mouth(landmarks: np.ndarray, params: np.ndarray, neutral: np.ndarray | None = None) -> np.ndarray:
    """Return a copy of ``landmarks`` (478 or 468, 2|3) showing mouth ``params`` (open, width, protrude).

    Only lip points, skin below the mouth line (jaw, chin) and cheek skin near the
    mouth corners move; eyes, brows, nose and forehead are untouched. Pass the subject's
    rest landmarks as ``neutral`` so per-frame landmarks get a consistent width and
    motion weights; see the module docstring for the exact rules.
    """
    lm = _check(landmarks)
    ref = _check(neutral) if neutral is not None else lm
    if ref.shape[0] != lm.shape[0]:
        raise InputError("neutral and per-frame landmarks have different point counts")
    out = _apply(lm, params, _weights(ref), _rest_width(ref))
    dtype = np.asarray(landmarks).dtype
    return out.astype(dtype if dtype.kind == "f" else np.float32)


def _apply(lm: np.ndarray, params: np.ndarray, w: dict[str, np.ndarray], rest_width: float) -> np.ndarray:
    target = clip_params(np.asarray(params, np.float64).reshape(3))
    out = lm.copy()
    frame = _MouthFrame(lm)
    s = frame.scale

    # width first: it changes the lip geometry the opening tapers over
    want_width = rest_width * (1.0 + WIDTH_GAIN * float(target[1]))
    factor = want_width / max(float(mouth_width(out)), 1e-9) - 1.0
    along = ((out[:, :2] - frame.centre) @ frame.ex)[:, None] * frame.ex[None, :]
    out[:, :2] += factor * w["stretch"][:, None] * along

    gain = _aperture_gain(w)  # taper < 1 off-centre: make the mean of the three pairs move by delta
    for _ in range(OPEN_PASSES):
        delta = float(target[0]) * OPEN_APERTURE * s - float(signed_gap(out))
        down = (1.0 - UPPER_SHARE) * delta * gain
        up = UPPER_SHARE * delta * gain
        out[:, :2] += (down * (w["lower"] + w["jaw"]) - up * w["upper"])[:, None] * frame.ey[None, :]

    if target[2] != 0.0:
        p = float(target[2])
        out[:, :2] += (PROTRUDE_EVERSION * s * p * w["evert"])[:, None] * frame.ey[None, :]
        if out.shape[1] == 3:
            out[:, 2] -= PROTRUDE_DEPTH * s * p * w["forward"]
    return out


def _aperture_gain(w: dict[str, np.ndarray]) -> float:
    from toolkit.lipsync.mesh import APERTURE_PAIRS

    spread = np.mean([(1 - UPPER_SHARE) * w["lower"][b] + UPPER_SHARE * w["upper"][a] for a, b in APERTURE_PAIRS])
    return 1.0 / max(float(spread), 1e-3)


def apply_mouth_track(landmarks: np.ndarray, params: np.ndarray, neutral: np.ndarray | None = None) -> np.ndarray:
    """:func:`apply_mouth` per frame: ``landmarks`` ``(N, D)`` (one rest face for every frame)
    or ``(T, N, D)`` (per-frame landmarks), ``params`` ``(T, 3)`` -> ``(T, N, D)``."""
    params = np.asarray(params, np.float64).reshape(-1, 3)
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim == 2:
        ref = _check(neutral) if neutral is not None else _check(lm)
        frames = [lm] * len(params)
    elif lm.ndim == 3 and lm.shape[0] == params.shape[0]:
        if neutral is None:
            return np.stack([apply_mouth(x, p) for x, p in zip(lm, params)])
        ref = _check(neutral)
        frames = list(lm)
    else:
        raise InputError(f"landmarks {lm.shape} do not match {params.shape[0]} mouth-parameter frames")
    w, rest_width = _weights(ref), _rest_width(ref)  # once for the whole track
    return np.stack([_apply(_check(x), p, w, rest_width) for x, p in zip(frames, params)])
