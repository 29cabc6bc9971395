"""Audio-visual synchrony: does the mouth open when the voice is loud?

Minimal helpers (the lip-sync branch's ``toolkit.lipsync.sync`` replaces them once merged):

* :func:`mouth_aperture`: inner-lip gap (mesh points 13 / 14) over the mouth width
  (corners 78 / 308), so it is independent of face size and distance.
* :func:`speech_envelope`: loudness of the 300-3000 Hz speech band at given frame times
  (RMS over a 40 ms window, in dB above the clip's noise floor), and a voice-activity mask.
* :func:`av_sync`: normalised cross-correlation of the two (both z-scored and
  high-passed at 0.5 Hz so slow drifts do not count) over lags up to +/- 0.5 s. Real
  speech peaks near zero lag (the mouth leads the sound by 0-100 ms); dubbed or
  re-synthesised mouths peak far off or nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
MOUTH_CORNERS = (78, 308)
SPEECH_BAND = (300.0, 3000.0)
MAX_LAG_S = 0.5
VOICED_MARGIN_DB = 15.0  # a frame is voiced when this much above the noise floor
MIN_VOICED_SECONDS = 1.5


def mouth_aperture(landmarks: np.ndarray) -> float:
    """Inner-lip opening / mouth width for one 478-point mesh."""
    pts = np.asarray(landmarks)[:, :2]
    gap = float(np.linalg.norm(pts[UPPER_INNER_LIP] - pts[LOWER_INNER_LIP]))
    width = float(np.linalg.norm(pts[MOUTH_CORNERS[0]] - pts[MOUTH_CORNERS[1]]))
    return gap / max(width, 1e-6)


def speech_envelope(samples: np.ndarray, rate: int, times: np.ndarray, window_s: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """(loudness in dB above the noise floor, voiced mask) at each of ``times`` (seconds)."""
    samples = np.asarray(samples, np.float64)
    times = np.asarray(times, np.float64)
    if samples.size < rate // 10:
        return np.zeros(len(times)), np.zeros(len(times), bool)
    nyq = rate / 2
    sos = butter(4, [SPEECH_BAND[0] / nyq, min(SPEECH_BAND[1], nyq * 0.95) / nyq], btype="band", output="sos")
    band = sosfiltfilt(sos, samples)
    energy = np.cumsum(np.concatenate([[0.0], band ** 2]))
    half = max(1, int(window_s * rate / 2))
    centres = np.clip((times * rate).astype(np.int64), 0, len(band) - 1)
    lo, hi = np.clip(centres - half, 0, len(band)), np.clip(centres + half, 0, len(band))
    rms = np.sqrt((energy[hi] - energy[lo]) / np.maximum(hi - lo, 1))
    db = 20 * np.log10(rms + 1e-9)
    floor = np.percentile(db, 10)
    rel = db - floor
    voiced = (rel > VOICED_MARGIN_DB) & (db > -60)  # -60 dBFS: digital silence is never speech
    return rel, voiced


@dataclass
class SyncMeasure:
    offset_s: float  # lag of the best match: positive when the audio comes after the mouth
    correlation: float  # peak normalised cross-correlation
    zero_lag_correlation: float
    lags_s: np.ndarray
    curve: np.ndarray  # correlation at each lag

    def to_dict(self) -> dict:
        return {"offset_s": round(self.offset_s, 3), "correlation": round(self.correlation, 4),
                "zero_lag_correlation": round(self.zero_lag_correlation, 4)}


def _prep(x: np.ndarray, fps: float) -> np.ndarray:
    x = np.asarray(x, np.float64)
    x = x - x.mean()
    if fps > 2.0 and len(x) > 24:
        sos = butter(2, 0.5 / (fps / 2), btype="high", output="sos")
        x = sosfiltfilt(sos, x, padlen=min(len(x) - 1, 12))
    sd = x.std()
    return x / sd if sd > 1e-9 else x * 0


def av_sync(aperture: np.ndarray, envelope: np.ndarray, fps: float, max_lag_s: float = MAX_LAG_S) -> SyncMeasure:
    """Best lag and peak correlation between mouth aperture and speech envelope (same frame times)."""
    a, e = _prep(aperture, fps), _prep(envelope, fps)
    n = len(a)
    max_lag = max(1, min(int(round(max_lag_s * fps)), n // 3))
    lags = np.arange(-max_lag, max_lag + 1)
    curve = np.zeros(len(lags))
    for i, lag in enumerate(lags):
        if lag >= 0:
            x, y = a[: n - lag], e[lag:]
        else:
            x, y = a[-lag:], e[: n + lag]
        curve[i] = float(np.mean(x * y)) if len(x) > 2 else 0.0
    best = int(np.argmax(curve))
    return SyncMeasure(float(lags[best] / fps), float(curve[best]), float(curve[max_lag]), lags / fps, curve)


def sync_features(measure: SyncMeasure) -> np.ndarray:
    """``[|offset| s, peak correlation, zero-lag correlation]``, what the calibration reads."""
    return np.array([abs(measure.offset_s), measure.correlation, measure.zero_lag_correlation])
