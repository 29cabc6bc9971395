"""Wav2Lip's audio features: 80-band log-mel spectrogram at 80 frames per second.

The recipe of Wav2Lip's ``audio.py`` (16 kHz, pre-emphasis 0.97, STFT n_fft = window =
800, hop 200, Slaney mel 55-7600 Hz, dB re 20, symmetric [-4, 4] scaling), written with
numpy so no librosa is needed. A video frame at time t gets the 16 columns from t on.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import get_window, lfilter

SAMPLE_RATE = 16000
N_FFT = WIN = 800
HOP = 200
N_MELS = 80
FMIN, FMAX = 55.0, 7600.0
STEP = 16  # mel columns per video frame (0.2 s)
MEL_FPS = SAMPLE_RATE / HOP  # 80 columns per second


def _hz_to_mel(f):  # Slaney: linear below 1 kHz, logarithmic above
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, mel)


def _mel_to_hz(m):
    m = np.asarray(m, np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """(80, 401) triangular filters with Slaney area normalisation."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def melspectrogram(samples: np.ndarray) -> np.ndarray:
    """Float mono samples at 16 kHz -> (80, T) normalised log-mel, T = len / 200 + 1."""
    x = lfilter([1.0, -0.97], [1.0], np.asarray(samples, np.float64))
    x = np.pad(x, N_FFT // 2, mode="reflect" if len(x) > N_FFT // 2 else "constant")
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    spectrum = np.abs(np.fft.rfft(frames * get_window("hann", WIN, fftbins=True), axis=1)).T
    db = 20.0 * np.log10(np.maximum(1e-5, mel_basis() @ spectrum)) - 20.0
    return np.clip(8.0 * (db + 100.0) / 100.0 - 4.0, -4.0, 4.0).astype(np.float32)


def chunk_for_frame(mel: np.ndarray, index: int, fps: float) -> np.ndarray:
    """The (80, 16) window that drives video frame ``index``."""
    start = int(MEL_FPS * index / fps)
    if start + STEP > mel.shape[1]:
        start = max(0, mel.shape[1] - STEP)
    chunk = mel[:, start:start + STEP]
    if chunk.shape[1] < STEP:  # audio shorter than one window
        chunk = np.pad(chunk, ((0, 0), (0, STEP - chunk.shape[1])), constant_values=-4.0)
    return chunk
