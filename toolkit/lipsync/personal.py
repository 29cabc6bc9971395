"""The subject's own audio -> mouth model, trained from their consent recording when it holds speech.

It lives beside the personal face model (``<models>/<consent>.audio2mouth.pt``).
``dftk train`` calls :func:`train_personal_audio_model` after the face model; a recording
without enough speech (an attested record's silent footage, say) gets no audio model and
a note saying lip-sync from audio uses the training-free envelope mapping instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from toolkit.errors import InputError

SUFFIX = ".audio2mouth.pt"
RATE = 16000


@dataclass
class AudioModelResult:
    path: Path | None  # the model file, None when none was trained
    used: bool  # will lipsync use it ("auto"): it beat the envelope path on held-out speech
    note: str  # one line for the user
    report: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"path": str(self.path) if self.path else None, "used": self.used, "note": self.note,
                "report": self.report}


def audio_model_path(consent_id: str, model_dir: Path | None = None) -> Path:
    from toolkit.gan.model import check_consent_id, models_dir

    return models_dir(model_dir) / f"{check_consent_id(consent_id)}{SUFFIX}"


def load_personal_audio_model(consent_id: str, model_dir: Path | None = None, require_better: bool = True):
    """The subject's :class:`AudioToMouth`, or None when there is none (or it did not beat the
    envelope path and ``require_better``)."""
    from toolkit.lipsync.learned import AudioToMouth

    path = audio_model_path(consent_id, model_dir)
    if not path.is_file():
        return None
    model = AudioToMouth.load(path)
    if model.name and model.name != consent_id:
        from toolkit.errors import ModelError

        raise ModelError(f"{path.name} was trained for consent {model.name}, not {consent_id}")
    if require_better and not (model.report and model.report.beats_envelope):
        return None
    return model


def recording_landmarks(video: Path, size: int = 256,
                        is_cancelled: Callable[[], bool] | None = None) -> tuple[np.ndarray, float]:
    """Per-frame mesh of the subject in the canonical crop (NaN without a face), and the fps."""
    from toolkit.errors import JobCancelled
    from toolkit.gan import landmarks as lmk
    from toolkit.media import VideoReader

    reader = VideoReader(video)
    rows = []
    for _, points in lmk.track_frames(reader):
        if is_cancelled and is_cancelled():
            raise JobCancelled("training was cancelled")
        rows.append(lmk.to_crop(points, size) if points is not None else np.full((478, 2), np.nan, np.float32))
    return np.stack(rows), reader.fps or 25.0


def train_personal_audio_model(video: Path | str, consent_id: str, model_dir: Path | None = None,
                               steps: int = 1500, progress: Callable[[int, int | None, str], None] | None = None,
                               is_cancelled: Callable[[], bool] | None = None) -> AudioModelResult:
    """Train and store the subject's audio -> mouth model if ``video`` has enough speech."""
    from toolkit.lipsync.envelope import speech_seconds
    from toolkit.lipsync.learned import MIN_SPEECH_FRAMES, train_audio_to_mouth
    from toolkit.media import read_audio

    video = Path(video)
    samples = read_audio(video, RATE)
    fallback = "lip-sync from audio will use the training-free envelope mapping"
    if samples.size == 0:
        return AudioModelResult(None, False, f"the recording has no audio track; {fallback}")
    speech = speech_seconds(samples, RATE)
    if speech < MIN_SPEECH_FRAMES / 30.0:  # cannot reach MIN_SPEECH_FRAMES even at 30 fps
        return AudioModelResult(None, False, f"the recording holds {speech:.1f} s of speech, too little to learn "
                                             f"the subject's lip-sync; {fallback}")
    say = progress or (lambda done, total=None, message="": None)
    say(0, None, "lip-sync: finding the mouth in each frame")
    landmarks, fps = recording_landmarks(video, is_cancelled=is_cancelled)
    try:
        model = train_audio_to_mouth(samples, RATE, fps, landmarks, steps=steps, name=consent_id,
                                     progress=lambda d, t=None: say(d, t, "lip-sync: training audio to mouth"),
                                     is_cancelled=is_cancelled)
    except InputError as exc:
        return AudioModelResult(None, False, f"no lip-sync model: {exc.message}; {fallback}")
    path = model.save_to(audio_model_path(consent_id, model_dir))
    r = model.report
    used = bool(r and r.beats_envelope)
    detail = (f"held-out mouth-opening correlation {r.validation_open_corr:.2f} "
              f"(envelope mapping {r.envelope_open_corr:.2f})") if r else ""
    note = (f"learned the subject's lip-sync from {speech:.0f} s of speech ({detail}); lip-sync from audio uses it"
            if used else f"trained a lip-sync model ({detail}) but it does not beat the envelope mapping; {fallback}")
    from dataclasses import asdict

    return AudioModelResult(path, used, note, asdict(r) if r else {})
