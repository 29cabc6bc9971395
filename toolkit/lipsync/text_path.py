"""Text -> speech audio + mouth track (espeak-ng phonemes -> visemes -> co-articulated curves)."""

from __future__ import annotations

import numpy as np

from toolkit.errors import InputError
from toolkit.lipsync.coarticulation import blend
from toolkit.lipsync.espeak import Phoneme, synthesize
from toolkit.lipsync.params import OPEN, MouthTrack, clip_params, frame_count
from toolkit.lipsync.visemes import keyframes


def mouth_curve(phonemes: list[Phoneme], times: np.ndarray) -> np.ndarray:
    """Mouth parameters ``(len(times), 3)`` for timed phonemes at arbitrary ``times``."""
    return clip_params(blend(keyframes(phonemes), times))


def params_for_phonemes(phonemes: list[Phoneme], fps: float, n_frames: int) -> np.ndarray:
    """Per-frame parameters; every bilabial closure shows on at least one frame.

    At 24-30 fps a /p/ closure (~40 ms) can fall between two frame instants, and a
    talking mouth that never closes on "p", "b", "m" is the most visible lip-sync error;
    so the frame nearest each closure keyframe takes that keyframe's opening.
    """
    frames = keyframes(phonemes)
    params = clip_params(blend(frames, np.arange(n_frames) / fps))
    closures = [f.time for f in frames if f.viseme == "PP"]
    if closures:
        closed = clip_params(blend(frames, np.asarray(closures)))[:, OPEN]
        nearest = np.clip(np.rint(np.asarray(closures) * fps).astype(int), 0, n_frames - 1)
        np.minimum.at(params[:, OPEN], nearest, closed)
    return params


def mouth_track_from_text(
    text: str,
    fps: float,
    voice: str = "en-us",
    words_per_minute: int = 160,
    pitch: int = 50,
) -> MouthTrack:
    """Speak ``text`` with espeak-ng and return its mouth track and audio.

    The track covers the whole synthesised audio (``ceil(duration * fps)`` frames);
    ``track.audio`` / ``track.audio_rate`` are the new audio track (22.05 kHz mono).
    """
    if not fps or fps <= 0 or fps > 240:
        raise InputError(f"frame rate must be between 0 and 240 fps, got {fps}")
    speech = synthesize(text, voice=voice, words_per_minute=words_per_minute, pitch=pitch)
    n_frames = frame_count(speech.duration, fps)
    params = params_for_phonemes(speech.phonemes, fps, n_frames)
    return MouthTrack(params, float(fps), speech.samples, speech.rate, source="text", phonemes=speech.phonemes)
