"""Remote photoplethysmography (rPPG): the pulse in skin colour, and its coherence across the face.

A live face's skin colour carries the heartbeat (0.7-4 Hz), in step across the forehead and
both cheeks, since one heart drives them all. A face pasted or generated frame by frame
has no reason to keep that coupling (FakeCatcher, Ciftci et al. 2020). Per skin region
(:data:`toolkit.detection.crops.SKIN_REGIONS`) we average RGB per frame, extract the pulse
with POS (Wang et al. 2017, "Algorithmic principles of remote PPG": project the
temporally normalised RGB onto the plane orthogonal to skin tone, windows of 1.6 s,
overlap-added), band-pass it to 0.7-4 Hz, and measure

* ``coherence``: mean pairwise correlation of the regions' pulse signals, and
* ``snr``: how much of the face-average pulse's power sits at its dominant frequency
  (+/- 0.2 Hz and its first harmonic) rather than elsewhere in the band (de Haan & Jeanne 2013).

Both need a few seconds of steady face: runs shorter than :data:`MIN_SECONDS` are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from toolkit.detection.crops import SKIN_REGIONS, skin_region_means

BAND = (0.7, 4.0)  # Hz, 42-240 beats per minute
MIN_SECONDS = 3.5
MIN_FPS = 8.0
POS_WINDOW_S = 1.6


def pos_pulse(rgb: np.ndarray, fps: float) -> np.ndarray:
    """POS pulse signal from ``(T, 3)`` mean skin RGB sampled at ``fps``."""
    rgb = np.asarray(rgb, np.float64)
    n = len(rgb)
    win = max(2, int(round(POS_WINDOW_S * fps)))
    out = np.zeros(n)
    proj = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
    for start in range(0, max(1, n - win + 1)):
        block = rgb[start:start + win]
        mean = block.mean(axis=0)
        if np.any(mean <= 0):
            continue
        cn = (block / mean).T  # temporal normalisation, (3, win)
        s = proj @ cn
        std1 = s[1].std()
        h = s[0] + (s[0].std() / std1 if std1 > 1e-9 else 0.0) * s[1]
        out[start:start + win] += h - h.mean()
    return out


def bandpass(signal: np.ndarray, fps: float) -> np.ndarray:
    nyq = fps / 2
    hi = min(BAND[1], nyq * 0.9)
    if hi <= BAND[0] or len(signal) < 16:
        return signal - signal.mean()
    sos = butter(3, [BAND[0] / nyq, hi / nyq], btype="band", output="sos")
    return sosfiltfilt(sos, signal - signal.mean(), padlen=min(len(signal) - 1, 3 * 7))


def pulse_snr(signal: np.ndarray, fps: float) -> tuple[float, float]:
    """(SNR in dB, dominant frequency in Hz) of a band-passed pulse."""
    n = len(signal)
    nfft = max(512, 1 << int(np.ceil(np.log2(n * 4))))
    spec = np.abs(np.fft.rfft(signal * np.hanning(n), nfft)) ** 2
    freqs = np.fft.rfftfreq(nfft, 1 / fps)
    band = (freqs >= BAND[0]) & (freqs <= min(BAND[1], fps / 2))
    if not band.any() or spec[band].sum() <= 0:
        return -20.0, 0.0
    f0 = float(freqs[band][np.argmax(spec[band])])
    near = band & ((np.abs(freqs - f0) <= 0.2) | (np.abs(freqs - 2 * f0) <= 0.2))
    signal_power = spec[near].sum()
    noise_power = spec[band & ~near].sum()
    return float(10 * np.log10(signal_power / max(noise_power, 1e-12))), f0


@dataclass
class PulseMeasure:
    coherence: float  # mean pairwise correlation of regional pulses, [-1, 1]
    snr_db: float
    heart_rate_bpm: float
    seconds: float
    regions: dict[str, np.ndarray]  # band-passed pulse per region
    times: np.ndarray

    def features(self) -> np.ndarray:
        return np.array([self.coherence, self.snr_db], np.float64)


def region_traces(images: list[np.ndarray], points: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-region ``(T, 3)`` mean RGB over a run of frames (regions lost on any frame are dropped)."""
    traces: dict[str, list[np.ndarray]] = {name: [] for name in SKIN_REGIONS}
    for image, pts in zip(images, points):
        means = skin_region_means(image, pts)
        for name in list(traces):
            if name in means:
                traces[name].append(means[name])
            else:
                traces.pop(name)
    return {k: np.array(v) for k, v in traces.items() if len(v) == len(images)}


def measure_pulse(traces: dict[str, np.ndarray], times: np.ndarray, fps: float) -> PulseMeasure | None:
    """Coherence and SNR of the pulse from per-region RGB traces; None if too short or too few regions."""
    if len(traces) < 2 or fps < MIN_FPS or len(times) < 2 or times[-1] - times[0] + 1 / fps < MIN_SECONDS:
        return None
    pulses = {name: bandpass(pos_pulse(rgb, fps), fps) for name, rgb in traces.items()}
    names = sorted(pulses)
    corrs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = pulses[names[i]], pulses[names[j]]
            if a.std() > 1e-12 and b.std() > 1e-12:
                corrs.append(float(np.corrcoef(a, b)[0, 1]))
    face_rgb = np.mean([traces[n] for n in names], axis=0)
    face_pulse = bandpass(pos_pulse(face_rgb, fps), fps)
    snr, f0 = pulse_snr(face_pulse, fps)
    return PulseMeasure(float(np.mean(corrs)) if corrs else 0.0, snr, f0 * 60, float(times[-1] - times[0]),
                        pulses, np.asarray(times))


def measure_tracks(clip) -> list[tuple[int, list[int], dict[str, np.ndarray], PulseMeasure]]:
    """``[(track_id, frame positions, region RGB traces, PulseMeasure)]`` for each long enough run."""
    out = []
    for track_id in clip.track_ids():
        for run in clip.runs(track_id, min_length=8):
            positions = [pos for pos, _ in run]
            times = np.array([clip.frames[p].time for p in positions])
            traces = region_traces([clip.frames[p].image for p in positions], [f.landmarks for _, f in run])
            m = measure_pulse(traces, times, clip.fps)
            if m is not None:
                out.append((track_id, positions, traces, m))
    return out


FEATURE_NAMES = ("coherence", "snr_db")
