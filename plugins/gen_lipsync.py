"""Builtin generator ``lipsync``: the subject's video speaks new audio.

Input ``video`` is footage of the subject (their consent recording, or other footage of
them: the core checks any file other than the one the consent record was made from
against the record's face). New speech is either input ``audio`` (any speech recording;
it becomes the output's audio track) or option ``text`` (spoken by espeak-ng, option
``voice``, e.g. ``en-us``, ``en-us+f3``). Options ``start``/``end`` (seconds) use only part of
the subject's video (e.g. where nothing covers the mouth).

Mouth motion per output frame comes from :mod:`toolkit.lipsync`: visemes for text; for
audio, the subject's learned audio-to-mouth model when ``dftk train`` could learn one
from a consent recording with speech (and it beat the training-free mapping on held-out
speech), else the training-free envelope mapping. Option ``mouth``: ``auto`` (default),
``learned`` or ``envelope``. The subject's personal GAN then re-renders the lower face of
each frame (:class:`toolkit.gan.lipsync.MouthRenderer`).

Length: the output lasts as long as the new speech. A shorter clip is played forwards
and backwards (ping-pong, no jump cut) until the speech ends; a longer one is cut.
The output is a composite of the subject's video (its C2PA parent) and the new audio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from toolkit.errors import InputError, JobCancelled, ModelError
from toolkit.gan.lipsync import MouthRenderer, pingpong_index
from toolkit.gan.model import PersonalModel
from toolkit.gan.tracking import smoothed_track
from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType
from toolkit.hookspecs import hookimpl
from toolkit.media import VideoReader

MOUTH_MODES = ("auto", "learned", "envelope")
# Frames kept in memory to play a short clip back and forth; a longer clip ping-pongs over
# its first frames that fit.
CACHE_BYTES = 2 << 30


class LipsyncGenerator(Generator):
    name = "lipsync"
    scope = "lipsync"
    description = "Make the subject's video speak new audio or typed text (personal GAN re-renders the mouth)"
    inputs = {
        "video": "footage of the subject (their consent recording or another clip of them)",
        "audio": "new speech, any audio or video file (or give option 'text' instead)",
    }
    identity_inputs = ("video",)
    version = "1"

    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        video = request.input_path("video", "footage of the subject")
        start, end = _time_range(request.options)
        reader = VideoReader(video, start=start, end=end)  # typed error for a missing or unreadable file
        fps = reader.fps or 25.0
        model = PersonalModel.for_generation(request.consent_id, context)
        track, audio, audio_rate, ingredients = speech_track(request, fps, context.model_dir)
        renderer = MouthRenderer(model)
        n_out = track.n_frames

        def frames() -> Iterator[np.ndarray]:
            for k, (image, mesh) in enumerate(source_frames(reader, n_out, context.is_cancelled)):
                yield renderer.render(image, mesh, track.params[k])
                context.progress(k + 1, n_out)

        card = model.card
        return GeneratedVideo(
            frames=frames(),
            fps=fps,
            model=f"dftk-personal-gan/{card.preset} consent={card.consent_id} trained={card.created}; "
                  f"mouth from {track.source}",
            source_type=SourceType.COMPOSITE,
            frame_count=n_out,
            audio=audio,
            audio_rate=audio_rate,
            ingredients=[video] + ingredients,
        )


def _time_range(options: dict) -> tuple[float, float | None]:
    try:
        start = float(options.get("start") or 0.0)
        end = float(options["end"]) if options.get("end") not in (None, "") else None
    except (TypeError, ValueError):
        raise InputError("start and end are times in seconds") from None
    if start < 0 or (end is not None and end <= start):
        raise InputError(f"the time range {start}-{end} s is empty")
    return start, end


def speech_track(request: GenerationRequest, fps: float, model_dir: Path | None):
    """(mouth track, audio for the writer, its rate, extra ingredients) from option text or input audio."""
    from toolkit.lipsync import mouth_track_from_audio, mouth_track_from_text

    text = str(request.options.get("text") or "").strip()
    audio = request.inputs.get("audio")
    if text and audio:
        raise InputError("give the new speech either as audio or as text, not both")
    if not text and not audio:
        raise InputError("lipsync needs new speech: an audio file (input 'audio') or text (option 'text')")
    if text:
        track = mouth_track_from_text(text, fps, voice=str(request.options.get("voice") or "en-us"))
        return track, track.audio, track.audio_rate, []
    from toolkit.lipsync.personal import RATE, load_personal_audio_model
    from toolkit.media import read_audio

    audio = Path(audio)
    if not audio.is_file():
        raise InputError(f"{audio}: no such audio file")
    samples = read_audio(audio, RATE)
    if samples.size == 0:
        raise InputError(f"{audio.name}: no audio track")
    mode = str(request.options.get("mouth") or "auto")
    if mode not in MOUTH_MODES:
        raise InputError(f"unknown mouth mode {mode!r}; one of {', '.join(MOUTH_MODES)}")
    learned = None
    if mode != "envelope":
        learned = load_personal_audio_model(request.consent_id, model_dir, require_better=mode == "auto")
        if learned is None and mode == "learned":
            raise ModelError(f"no learned lip-sync model for consent {request.consent_id}: `dftk train` learns one "
                             "only from a consent recording with speech; use mouth=auto or envelope")
    return mouth_track_from_audio(samples, RATE, fps, model=learned), audio, RATE, [audio]


def source_frames(reader: VideoReader, n_out: int, is_cancelled: Callable[[], bool]
                  ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """``n_out`` (frame, smoothed mesh) pairs: the clip forwards, then back and forth if it is shorter."""
    fps = reader.fps or 25.0
    estimate = reader.frame_count or 0
    keep = n_out > 0.9 * estimate  # the clip may run out: keep its frames for the ping-pong
    cache: list[tuple[np.ndarray, np.ndarray | None]] = []
    cap = None
    k = 0
    for frame, mesh in smoothed_track(reader, fps):
        if k >= n_out:
            return
        if is_cancelled():
            raise JobCancelled("lip-sync was cancelled")
        if keep:
            cap = cap or max(2, CACHE_BYTES // max(frame.image.nbytes, 1))
            if len(cache) >= cap:
                break
            cache.append((frame.image, mesh))
        yield frame.image, mesh
        k += 1
    if k >= n_out:
        return
    if not cache:  # the probe over-counted a long clip: decode its start again
        again = VideoReader(reader.path, start=reader.start, end=reader.end)
        for frame, mesh in smoothed_track(again, fps):
            cache.append((frame.image, mesh))
            if len(cache) >= max(2, CACHE_BYTES // max(frame.image.nbytes, 1)):
                break
    n_src = len(cache)
    while k < n_out:
        if is_cancelled():
            raise JobCancelled("lip-sync was cancelled")
        yield cache[pingpong_index(k, n_src)]
        k += 1


@hookimpl
def register_generators(register) -> None:
    register(LipsyncGenerator)
