"""Mouth motion for lip-sync: speech (text or audio) -> per-frame mouth parameters -> landmarks.

Paths to a :class:`MouthTrack` (``(n_frames, 3)`` open/width/protrude per video frame):

- :func:`mouth_track_from_text`: espeak-ng speaks the text (the new audio track) and its
  phoneme timings drive viseme keyframes with co-articulation.
- :func:`mouth_track_from_audio`: any speech recording, through the training-free
  envelope mapping or a per-person :class:`AudioToMouth` model from
  :func:`train_audio_to_mouth`.

:func:`apply_mouth` puts the parameters on 478-point face-mesh landmarks for the GAN;
:mod:`toolkit.lipsync.sync` measures mouth aperture and audio-visual sync.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Public name -> defining module. Imported on first use, so that e.g. a detector that
# only needs ``toolkit.lipsync.sync`` does not pay for scipy, torch or MediaPipe.
_EXPORTS = {
    "mouth_track_from_audio": "audio_path",
    "envelope_params": "envelope",
    "speech_activity": "envelope",
    "speech_seconds": "envelope",
    "Phoneme": "espeak",
    "Speech": "espeak",
    "synthesize": "espeak",
    "apply_mouth": "landmarks",
    "apply_mouth_track": "landmarks",
    "mouth_params_from_landmarks": "landmarks",
    "AudioToMouth": "learned",
    "TrainingReport": "learned",
    "train_audio_to_mouth": "learned",
    "PARAM_NAMES": "params",
    "MouthTrack": "params",
    "SyncResult": "sync",
    "audio_envelope": "sync",
    "av_sync": "sync",
    "mouth_aperture": "sync",
    "mouth_width": "sync",
    "mouth_curve": "text_path",
    "mouth_track_from_text": "text_path",
    "phoneme_visemes": "visemes",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"toolkit.lipsync.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'toolkit.lipsync' has no attribute {name!r}")


if TYPE_CHECKING:  # for type checkers and IDEs
    from toolkit.lipsync.audio_path import mouth_track_from_audio
    from toolkit.lipsync.envelope import envelope_params, speech_activity, speech_seconds
    from toolkit.lipsync.espeak import Phoneme, Speech, synthesize
    from toolkit.lipsync.landmarks import apply_mouth, apply_mouth_track, mouth_params_from_landmarks
    from toolkit.lipsync.learned import AudioToMouth, TrainingReport, train_audio_to_mouth
    from toolkit.lipsync.params import PARAM_NAMES, MouthTrack
    from toolkit.lipsync.sync import SyncResult, audio_envelope, av_sync, mouth_aperture, mouth_width
    from toolkit.lipsync.text_path import mouth_curve, mouth_track_from_text
    from toolkit.lipsync.visemes import phoneme_visemes
