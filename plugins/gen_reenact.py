"""Builtin generator ``reenact``: another video's facial motion drives the subject's face.

The subject's personal GAN (trained with ``dftk train --consent ID`` on their consent
recording) renders the subject's reference frame with the driver's expressions, gaze and
head turns (relative motion transfer). It yields frames only; the core writes, marks and
signs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from toolkit.errors import JobCancelled, NoFaceError
from toolkit.gan import landmarks as lmk
from toolkit.gan.model import PersonalModel
from toolkit.gan.reenact import ReenactSession
from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType
from toolkit.hookspecs import hookimpl
from toolkit.media import VideoReader

# A driver whose first seconds show no face is refused before any frame is rendered.
_FACE_PROBE_SECONDS = 3.0


class ReenactGenerator(Generator):
    name = "reenact"
    scope = "reenact"
    description = "Drive the subject's face with the motion of another video (personal GAN, relative motion)"
    inputs = {"driver": "video whose facial motion drives the subject (any person)"}
    version = "1"

    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        driver = request.input_path("driver", "a driver video")
        reader = VideoReader(driver)  # raises a typed error for a missing or unreadable file
        model = PersonalModel.for_generation(request.consent_id, context)
        _require_face(driver, reader.fps)
        total = reader.frame_count or None
        keep_audio = bool(request.options.get("audio", True)) and reader.info.audio is not None

        def frames() -> Iterator[np.ndarray]:
            with ReenactSession(model, fps=reader.fps or 25.0) as session:
                for i, frame in enumerate(reader):
                    if context.is_cancelled():
                        raise JobCancelled("reenactment was cancelled")
                    out = session.push(frame.image)
                    context.progress(i + 1, total)
                    yield out

        card = model.card
        return GeneratedVideo(
            frames=frames(),
            fps=reader.fps or 25.0,
            model=f"dftk-personal-gan/{card.preset} consent={card.consent_id} trained={card.created}",
            source_type=SourceType.SYNTHETIC,
            frame_count=total,
            audio=driver if keep_audio else None,
            ingredients=[driver],
        )


def _require_face(driver: Path, fps: float) -> None:
    probe_frames = max(1, int(_FACE_PROBE_SECONDS * (fps or 25.0)))
    for _, points in lmk.track_frames(VideoReader(driver, max_frames=probe_frames)):
        if points is not None:
            return
    raise NoFaceError(f"{driver.name}: no face in the first {_FACE_PROBE_SECONDS:.0f} s of the driver video")


@hookimpl
def register_generators(register) -> None:
    register(ReenactGenerator)
