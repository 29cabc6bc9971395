"""Mouth parameters: the small, person-independent description of a mouth shape.

Every path (text, audio envelope, learned model) produces an ``(n_frames, 3)`` float32
array with these columns, and :func:`toolkit.lipsync.landmarks.apply_mouth` turns it
into face-mesh landmarks:

- ``open``     0 = lips together, 1 = wide open. Defined through the inner-lip aperture:
               aperture = ``open * OPEN_APERTURE`` (see :func:`toolkit.lipsync.sync.mouth_aperture`).
- ``width``    -1 = narrow/rounded ("oo"), 0 = the subject's rest width, +1 = spread ("ee");
               mouth-corner distance = rest width * ``(1 + WIDTH_GAIN * width)``.
- ``protrude`` 0 = rest, 1 = lips pushed forward (rounded vowels, "sh").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARAM_NAMES = ("open", "width", "protrude")
OPEN, WIDTH, PROTRUDE = 0, 1, 2
REST = np.zeros(3, np.float32)  # lips together at rest width
LOWER = np.array([0.0, -1.0, 0.0], np.float32)
UPPER = np.array([1.0, 1.0, 1.0], np.float32)

# Inner-lip gap, as a fraction of the outer-eye-corner distance, at ``open == 1``: about
# 3.5 cm on an adult face whose eye corners are ~10 cm apart, a wide "ah".
OPEN_APERTURE = 0.35
WIDTH_GAIN = 0.2  # width +-1 changes the corner distance by +-20 %
PROTRUDE_DEPTH = 0.08  # forward lip travel at protrude 1, fraction of the eye-corner distance
PROTRUDE_EVERSION = 0.025  # outer lip contour rolls outwards by this much at protrude 1


def clip_params(params: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(params, np.float32), LOWER, UPPER).astype(np.float32)


@dataclass
class MouthTrack:
    """Mouth parameters per video frame, with the audio they go with.

    Frame ``i`` shows time ``i / fps``. ``audio`` is float32 mono at ``audio_rate`` (the
    generated video's new audio track for the text path, the input for the audio path).
    """

    params: np.ndarray  # (n_frames, 3) float32, columns PARAM_NAMES
    fps: float
    audio: np.ndarray | None = None
    audio_rate: int = 16000
    source: str = ""  # "text", "envelope" or "learned"
    phonemes: list = field(default_factory=list)  # espeak Phoneme records (text path only)

    @property
    def n_frames(self) -> int:
        return int(self.params.shape[0])

    @property
    def open(self) -> np.ndarray:
        return self.params[:, OPEN]

    @property
    def width(self) -> np.ndarray:
        return self.params[:, WIDTH]

    @property
    def protrude(self) -> np.ndarray:
        return self.params[:, PROTRUDE]

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.n_frames) / self.fps


def frame_count(duration: float, fps: float) -> int:
    """Frames needed to show ``duration`` seconds at ``fps`` (at least one)."""
    return max(1, int(np.ceil(duration * fps - 1e-6)))
