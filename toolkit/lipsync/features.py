"""Audio front end shared by the envelope and learned paths: resampling, STFT, log-mel.

The log-mel settings are Wav2Lip's (16 kHz, 800-sample window and FFT, hop 200 = 80 mel
frames per second, 80 bands from 55 to 7600 Hz, pre-emphasis 0.97), so a window of 16
mel steps spans 0.2 s of audio around a video frame.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
from scipy.signal import lfilter, resample_poly, stft

from toolkit.errors import InputError

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
N_MELS = 80
FMIN, FMAX = 55.0, 7600.0
PREEMPHASIS = 0.97
MEL_STEPS = 16  # mel frames per video-frame window (0.2 s)
MEL_RATE = SAMPLE_RATE / HOP  # mel frames per second
MIN_DB = -100.0


def as_mono(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, np.float32)
    if x.ndim == 2:  # (channels, n) as read_audio(mono=False) returns
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise InputError("audio must be mono samples or (channels, samples)")
    if not np.all(np.isfinite(x)):
        raise InputError("audio samples contain NaN or infinite values")
    return x


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    x = as_mono(samples)
    if rate <= 0:
        raise InputError(f"invalid audio sample rate {rate}")
    rate, target = int(rate), int(target)
    if rate == target or len(x) == 0:
        return x
    g = gcd(rate, target)
    return resample_poly(x, target // g, rate // g).astype(np.float32)


def power_spectrogram(x16k: np.ndarray, n_fft: int, hop: int, win: int | None = None) -> np.ndarray:
    """``|STFT|^2`` of 16 kHz audio, shape ``(n_fft // 2 + 1, frames)``; frame j centred at j * hop."""
    win = win or n_fft
    if len(x16k) == 0:
        return np.zeros((n_fft // 2 + 1, 0), np.float32)
    _, _, z = stft(x16k, nperseg=win, noverlap=win - hop, nfft=n_fft, window="hann", boundary="even", padded=True)
    # scipy scales by 1/sum(window); undo it so power is in sample units
    return (np.abs(z * np.hanning(win).sum()) ** 2).astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:  # Slaney: linear below 1 kHz, log above
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3)
    return np.where(f < 1000.0, lin, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0))


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return np.where(m < 15.0, m * (200.0 / 3), 1000.0 * np.exp((m - 15.0) * (np.log(6.4) / 27.0)))


@lru_cache(maxsize=4)
def mel_filterbank(
    n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE, fmin: float = FMIN, fmax: float = FMAX
) -> np.ndarray:
    """Slaney-normalised triangular filters, shape ``(n_mels, n_fft // 2 + 1)``."""
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    bank = np.maximum(0.0, np.minimum(lower, upper))
    bank *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return bank.astype(np.float32)


def log_mel(samples: np.ndarray, rate: int) -> np.ndarray:
    """Log-mel spectrogram in dB, ``(N_MELS, frames)`` at ``MEL_RATE`` frames per second."""
    x = resample(samples, rate)
    x = lfilter([1.0, -PREEMPHASIS], [1.0], x).astype(np.float32)
    power = power_spectrogram(x, N_FFT, HOP)
    mel = mel_filterbank() @ np.sqrt(power)  # magnitude mel, as Wav2Lip
    return (20.0 * np.log10(np.maximum(mel, 10 ** (MIN_DB / 20)))).astype(np.float32)


def mel_windows(mel: np.ndarray, n_frames: int, fps: float, steps: int = MEL_STEPS) -> np.ndarray:
    """One ``(N_MELS, steps)`` window centred on each video frame time ``i / fps``.

    Returns ``(n_frames, N_MELS, steps)``; audio beyond either end reads as silence.
    """
    pad_value = float(mel.min()) if mel.size else MIN_DB
    half = steps // 2
    centres = np.rint(np.arange(n_frames) / fps * MEL_RATE).astype(int)
    padded = np.pad(mel, ((0, 0), (steps, steps + int(centres.max(initial=0)) + 1)), constant_values=pad_value)
    idx = centres[:, None] - half + steps + np.arange(steps)[None, :]
    return np.ascontiguousarray(padded[:, idx].transpose(1, 0, 2))
