"""Training-free audio -> mouth mapping from the speech envelope and spectral shape.

- Voice activity: frames louder than the clip's noise floor by ``VAD_MARGIN_DB`` (and
  within ``VAD_RANGE_DB`` of its loud speech) count as speech; short gaps are bridged and
  blips dropped. Outside speech the mouth rests closed.
- Opening follows the loudness of the first-formant band of open vowels (450-1200 Hz): open vowels
  put the most energy there; closures and nasals very little. Hissing fricatives
  (s, sh: energy above 4 kHz) get a nearly closed mouth whatever their loudness.
- Width/rounding follows the balance of 1500-3500 Hz against 300-1500 Hz energy (a
  second-formant proxy) relative to the speaker's own median: a low second formant
  (oo, oh) means rounded, protruded lips, a high one (ee, eh) spread lips.

Rough by nature (a voice-independent formant proxy); the learned per-person model is
the better path when a recording of the subject speaking exists.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import binary_closing, binary_opening, gaussian_filter1d

from toolkit.lipsync.features import SAMPLE_RATE, as_mono, power_spectrogram, resample
from toolkit.lipsync.params import OPEN, PROTRUDE, WIDTH, clip_params, frame_count

HOP = 160  # 10 ms analysis steps
STEP_RATE = SAMPLE_RATE / HOP
N_FFT = 512
WIN = 400

VAD_MARGIN_DB = 12.0
VAD_RANGE_DB = 40.0
VAD_ABS_FLOOR_DB = -65.0  # dBFS: quieter than this is never speech
VAD_BRIDGE_S = 0.15  # gaps shorter than this inside speech stay speech
VAD_MIN_S = 0.05  # shorter bursts are not speech
SMOOTH_S = 0.03  # Gaussian sigma on the 10 ms series
MAX_OPEN = 0.8  # the loudest vowels reach the text path's "aa" opening


def _band(power: np.ndarray, lo: float, hi: float) -> np.ndarray:
    freqs = np.linspace(0, SAMPLE_RATE / 2, power.shape[0])
    return power[(freqs >= lo) & (freqs < hi)].sum(axis=0)


def _db(energy: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(energy, 1e-12))


def speech_activity_10ms(loudness_db: np.ndarray) -> np.ndarray:
    """Voice-activity mask on the 10 ms loudness series (dBFS)."""
    if loudness_db.size == 0:
        return np.zeros(0, bool)
    floor = np.percentile(loudness_db, 10)
    peak = np.percentile(loudness_db, 98)
    threshold = max(floor + VAD_MARGIN_DB, peak - VAD_RANGE_DB, VAD_ABS_FLOOR_DB)
    active = loudness_db > threshold
    bridge = max(1, int(round(VAD_BRIDGE_S * STEP_RATE)))
    active = binary_closing(np.pad(active, bridge), structure=np.ones(bridge, bool))[bridge:-bridge]
    return binary_opening(active, structure=np.ones(max(1, int(round(VAD_MIN_S * STEP_RATE))), bool))


def _to_frames(series: np.ndarray, n_frames: int, fps: float) -> np.ndarray:
    """Sample a 10 ms series (step j at time j / STEP_RATE) at video frame times."""
    steps = np.arange(len(series)) / STEP_RATE
    return np.interp(np.arange(n_frames) / fps, steps, series, left=series[0], right=series[-1])


def analyse(samples: np.ndarray, rate: int) -> dict[str, np.ndarray]:
    """10 ms series: loudness, open-vowel band level, hiss ratio, F2 balance (dB) and the speech mask."""
    x = resample(samples, rate)
    power = power_spectrogram(x, N_FFT, HOP, WIN) / (np.hanning(WIN) ** 2).sum() / N_FFT * 2
    total = _band(power, 80, 7600)
    f1 = _band(power, 450, 1200)
    hiss = _band(power, 4000, 7600)
    loudness = _db(total)
    return {
        "loudness_db": loudness,
        "f1_db": _db(f1),
        "hiss_ratio": hiss / np.maximum(total, 1e-12),
        "f2_balance_db": _db(_band(power, 1500, 3500)) - _db(_band(power, 300, 1500)),
        "speech": speech_activity_10ms(loudness),
    }


def speech_activity(samples: np.ndarray, rate: int, fps: float, n_frames: int | None = None) -> np.ndarray:
    """Per-video-frame voice activity (bool)."""
    a = analyse(samples, rate)
    n = n_frames if n_frames is not None else frame_count(len(as_mono(samples)) / rate, fps)
    if a["speech"].size == 0:
        return np.zeros(n, bool)
    return _to_frames(a["speech"].astype(np.float32), n, fps) > 0.5


def speech_seconds(samples: np.ndarray, rate: int) -> float:
    """How many seconds of ``samples`` are speech (voice-activity estimate)."""
    return float(analyse(samples, rate)["speech"].sum() / STEP_RATE)


def envelope_params(samples: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    """Mouth parameters ``(n_frames, 3)`` from the audio alone (no model, no training)."""
    a = analyse(samples, rate)
    speech = a["speech"]
    out = np.zeros((n_frames, 3), np.float32)
    if not speech.any():
        return out
    f1 = a["f1_db"]
    lo = np.percentile(f1[speech], 10)
    hi = np.percentile(f1[speech], 95)
    opening = np.clip((f1 - lo) / max(hi - lo, 1e-3), 0.0, 1.0) * MAX_OPEN
    opening *= 1.0 - 0.8 * np.clip(a["hiss_ratio"] * 2.0, 0.0, 1.0)

    balance = a["f2_balance_db"]
    voiced = speech & (opening > 0.2 * MAX_OPEN)
    ref = balance[voiced if voiced.any() else speech]
    z = (balance - np.median(ref)) / max(np.std(ref), 1.0)
    width = np.clip(0.5 * z, -1.0, 1.0) * 0.8
    protrude = np.clip(-width, 0.0, 1.0)

    gate = gaussian_filter1d(speech.astype(np.float64), 2.0)  # soft edges, no pops
    series = np.stack([opening * gate, width * gate, protrude * gate], axis=1)
    sigma = max(SMOOTH_S, 0.35 / fps) * STEP_RATE
    series = gaussian_filter1d(series, sigma, axis=0, mode="nearest")
    for col in (OPEN, WIDTH, PROTRUDE):
        out[:, col] = _to_frames(series[:, col], n_frames, fps)
    return clip_params(out)
