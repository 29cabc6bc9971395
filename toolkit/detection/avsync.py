"""Audio-visual synchrony for the detector: the lip-sync module's measures, at the analysed frames.

The measures themselves live in :mod:`toolkit.lipsync.sync` (shared with the lip-sync
generator and its benchmark): :func:`~toolkit.lipsync.sync.mouth_aperture` (inner-lip gap
over the eye-corner distance), :func:`~toolkit.lipsync.sync.audio_envelope` (loudness per
video frame, dB above the clip's floor) and :func:`~toolkit.lipsync.sync.av_sync` (the lag
within +/- 0.5 s that maximises their Pearson correlation). This module only cuts the
audio to a run of analysed frames, finds where there is speech
(:func:`toolkit.lipsync.envelope.speech_activity`), and turns a sync result into the
features the detector's calibration reads.
"""

from __future__ import annotations

import numpy as np

from toolkit.lipsync.sync import SyncResult, audio_envelope, av_sync, mouth_aperture

__all__ = ["MIN_VOICED_SECONDS", "av_sync", "mouth_aperture", "speech_envelope", "sync_features"]

MIN_VOICED_SECONDS = 1.5


def speech_envelope(samples: np.ndarray, rate: int, start: float, fps: float, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(loudness in dB above the floor, voice-activity mask) for ``n_frames`` frames from ``start`` s."""
    from toolkit.lipsync.envelope import speech_activity

    first = max(0, int(round(start * rate)))
    chunk = np.asarray(samples, np.float32)[first:first + int(np.ceil((n_frames + 1) / fps * rate))]
    if chunk.size < rate // 10:
        return np.zeros(n_frames, np.float32), np.zeros(n_frames, bool)
    envelope = audio_envelope(chunk, rate, fps, n_frames)
    voiced = speech_activity(chunk, rate, fps, n_frames)
    return envelope, np.asarray(voiced, bool)[:n_frames]


def sync_features(result: SyncResult) -> np.ndarray:
    """``[|lag| s, correlation at the best lag, correlation at zero lag]`` (NaN -> 0)."""
    return np.nan_to_num(np.array([abs(result.lag_seconds), result.correlation, result.correlation_at_zero]), nan=0.0)


def sync_dict(result: SyncResult) -> dict:
    return {"lag_s": round(result.lag_seconds, 3), "correlation": round(float(np.nan_to_num(result.correlation)), 4),
            "correlation_at_zero": round(float(np.nan_to_num(result.correlation_at_zero)), 4),
            "frames_used": result.frames_used}
