"""Audio-visual sync measures, shared by the lip-sync generator, benchmarks and detectors.

- :func:`mouth_aperture`: inner-lip opening from face-mesh landmarks, normalised by the
  outer-eye-corner distance so it does not depend on image size or distance to camera.
- :func:`audio_envelope`: speech loudness per video frame.
- :func:`av_sync`: the lag between a mouth-aperture series and an audio envelope that
  maximises their correlation, and that correlation. Real talking faces open the mouth
  with the sound (lag near 0, clearly positive correlation); dubbed or badly generated
  ones often do not.

Imports nothing heavy: numpy only (MediaPipe is not needed to measure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.errors import InputError
from toolkit.lipsync.mesh import APERTURE_PAIRS, CHIN, EYE_OUTER, OUTER_CORNERS


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim not in (2, 3) or lm.shape[-2] < 468 or lm.shape[-1] not in (2, 3):
        raise InputError(f"expected face-mesh landmarks of shape (468 or 478, 2 or 3), got {lm.shape}")
    return lm[..., :2]


def face_scale(landmarks: np.ndarray) -> np.ndarray:
    """Outer-eye-corner distance (the face-size ruler), per landmark set."""
    lm = _check_landmarks(landmarks)
    return np.linalg.norm(lm[..., EYE_OUTER[0], :] - lm[..., EYE_OUTER[1], :], axis=-1)


def mouth_aperture(landmarks: np.ndarray) -> np.ndarray | float:
    """Inner-lip opening / outer-eye-corner distance for ``(N, 2|3)`` or ``(T, N, 2|3)`` landmarks.

    Mean over the three central upper/lower inner-lip pairs of their gap measured
    across the mouth line (perpendicular to the corner-to-corner line, x and y only),
    clipped at 0. About 0 with lips together, ~0.1-0.25 in speech, 0.35 for a wide "ah".
    NaN where a landmark set is NaN.
    """
    lm = _check_landmarks(landmarks)
    value = np.maximum(signed_gap(lm), 0.0) / np.maximum(face_scale(lm), 1e-9)
    return float(value) if np.ndim(value) == 0 else value


def signed_gap(landmarks: np.ndarray) -> np.ndarray:
    """Mean inner-lip gap across the mouth line, in landmark units; negative if lips overlap."""
    lm = _check_landmarks(landmarks)
    along = lm[..., OUTER_CORNERS[1], :] - lm[..., OUTER_CORNERS[0], :]
    along = along / np.maximum(np.linalg.norm(along, axis=-1, keepdims=True), 1e-12)
    across = np.stack([-along[..., 1], along[..., 0]], axis=-1)
    to_chin = lm[..., CHIN, :] - 0.5 * (lm[..., OUTER_CORNERS[0], :] + lm[..., OUTER_CORNERS[1], :])
    across = across * np.sign(np.sum(across * to_chin, axis=-1, keepdims=True) + 1e-12)
    gaps = [np.sum((lm[..., b, :] - lm[..., a, :]) * across, axis=-1) for a, b in APERTURE_PAIRS]
    return np.mean(gaps, axis=0)


def mouth_width(landmarks: np.ndarray) -> np.ndarray | float:
    """Outer mouth-corner distance / outer-eye-corner distance."""
    lm = _check_landmarks(landmarks)
    value = np.linalg.norm(lm[..., OUTER_CORNERS[0], :] - lm[..., OUTER_CORNERS[1], :], axis=-1)
    value = value / np.maximum(face_scale(lm), 1e-9)
    return float(value) if np.ndim(value) == 0 else value


def audio_envelope(samples: np.ndarray, rate: int, fps: float, n_frames: int | None = None) -> np.ndarray:
    """Speech loudness per video frame: RMS over the frame's span, in dB above the clip's floor.

    Frame ``i`` covers ``[(i - 0.5) / fps, (i + 0.5) / fps)``. Log scale, so one loud
    syllable does not dwarf the rest; clipped at 0 (the 5th-percentile floor).
    """
    from toolkit.lipsync.features import as_mono

    x = as_mono(samples).astype(np.float64)
    if rate <= 0 or fps <= 0:
        raise InputError("sample rate and frame rate must be positive")
    if n_frames is None:
        n_frames = max(1, int(np.ceil(len(x) / rate * fps - 1e-6)))
    bounds = np.clip(np.rint((np.arange(n_frames + 1) - 0.5) / fps * rate).astype(np.int64), 0, len(x))
    cumulative = np.concatenate([[0.0], np.cumsum(x * x)])
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    power = (cumulative[bounds[1:]] - cumulative[bounds[:-1]]) / counts
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    return np.maximum(db - np.percentile(db, 5), 0.0).astype(np.float32)


@dataclass
class SyncResult:
    lag_frames: int  # > 0: the mouth moves *after* the sound by this many frames
    lag_seconds: float
    correlation: float  # Pearson r at the best lag (NaN if undefined)
    correlation_at_zero: float
    correlations: dict[int, float]  # lag -> r, for every lag tried
    frames_used: int


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def av_sync(
    aperture: np.ndarray,
    envelope: np.ndarray,
    fps: float,
    max_lag_s: float = 0.5,
    max_lag_frames: int | None = None,
) -> SyncResult:
    """Best lag within +-``max_lag`` frames between mouth aperture and audio envelope.

    ``aperture[t]`` is compared with ``envelope[t - lag]``; the lag with the highest
    Pearson correlation wins (ties: the smaller |lag|). NaN apertures (no face) are
    skipped. Both series are per video frame and start at the same time.
    """
    a = np.asarray(aperture, np.float64).reshape(-1)
    e = np.asarray(envelope, np.float64).reshape(-1)
    n = min(len(a), len(e))
    a, e = a[:n], e[:n]
    max_lag = max_lag_frames if max_lag_frames is not None else int(round(max_lag_s * fps))
    max_lag = max(0, min(max_lag, n - 3))
    correlations: dict[int, float] = {}
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            correlations[lag] = _pearson(a[lag:], e[: n - lag])
        else:
            correlations[lag] = _pearson(a[: n + lag], e[-lag:])
    finite = {k: v for k, v in correlations.items() if np.isfinite(v)}
    if finite:
        best = max(finite, key=lambda k: (finite[k], -abs(k)))
        r = finite[best]
    else:
        best, r = 0, float("nan")
    used = int(np.sum(np.isfinite(a) & np.isfinite(e)))
    return SyncResult(best, best / fps, r, correlations.get(0, float("nan")), correlations, used)
