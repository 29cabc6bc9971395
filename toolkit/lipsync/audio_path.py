"""Any speech audio -> mouth track: the learned per-person model if given, else the envelope mapping."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from toolkit.errors import InputError
from toolkit.lipsync.envelope import envelope_params
from toolkit.lipsync.features import as_mono
from toolkit.lipsync.params import MouthTrack, clip_params, frame_count

MAX_AUDIO_SECONDS = 30 * 60
LEARNED_SMOOTH_FRAMES = 0.6  # Gaussian sigma: removes frame-to-frame jitter of the model


def mouth_track_from_audio(
    samples: np.ndarray,
    rate: int,
    fps: float,
    model=None,
    n_frames: int | None = None,
) -> MouthTrack:
    """Mouth track for speech ``samples`` (float mono or ``(channels, n)``) at video ``fps``.

    ``model``: an :class:`~toolkit.lipsync.learned.AudioToMouth` trained for this
    subject, or None for the training-free envelope mapping. ``n_frames`` defaults to
    the audio's length in frames. ``track.audio`` is the (mono) input.
    """
    if not fps or fps <= 0 or fps > 240:
        raise InputError(f"frame rate must be between 0 and 240 fps, got {fps}")
    x = as_mono(samples)
    if rate <= 0:
        raise InputError(f"invalid audio sample rate {rate}")
    duration = len(x) / rate
    if duration == 0:
        raise InputError("the audio is empty")
    if duration > MAX_AUDIO_SECONDS:
        raise InputError(f"the audio is too long ({duration:.0f} s, at most {MAX_AUDIO_SECONDS} s)")
    n = n_frames if n_frames is not None else frame_count(duration, fps)
    if model is None:
        params, source = envelope_params(x, rate, fps, n), "envelope"
    else:
        params = model.predict(x, rate, fps, n)
        params = clip_params(gaussian_filter1d(params, LEARNED_SMOOTH_FRAMES * fps / 25.0, axis=0, mode="nearest"))
        source = "learned"
    return MouthTrack(params, float(fps), x, int(rate), source=source)
