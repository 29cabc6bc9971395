"""Builtin generator ``swap``: the consenting subject's face on the person in a destination video.

The subject's personal GAN follows the destination person's expressions, gaze and head
turns (relative motion), the rendering is placed with the destination face's position,
scale and roll, colour-matched to it and blended through the face mask
(:class:`toolkit.gan.swap.SwapRenderer`). The destination person's face is replaced, not
animated, so input ``target`` may show anyone; the face that is generated is the
subject's, which their consent record covers. The output is a composite of the
destination video (its C2PA parent) and keeps its audio (option ``audio`` false drops it).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from toolkit.errors import JobCancelled, NoFaceError
from toolkit.gan.model import PersonalModel
from toolkit.gan.swap import SwapRenderer, destination_neutral
from toolkit.gan.tracking import smoothed_track
from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType
from toolkit.hookspecs import hookimpl
from toolkit.media import VideoReader


class SwapGenerator(Generator):
    name = "swap"
    scope = "swap"
    description = "Put the subject's face onto the person in a destination video (personal GAN, relative motion)"
    inputs = {"target": "destination video whose person's face is replaced by the subject's (any person)"}
    version = "1"

    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        target = request.input_path("target", "a destination video")
        reader = VideoReader(target)  # typed error for a missing or unreadable file
        fps = reader.fps or 25.0
        model = PersonalModel.for_generation(request.consent_id, context)
        # First pass: follow the destination face through the clip (its typical face is the
        # reference its motion is measured from). Meshes are small; frames are decoded again.
        meshes: list[np.ndarray | None] = []
        for _, mesh in smoothed_track(reader, fps):
            if context.is_cancelled():
                raise JobCancelled("face swap was cancelled")
            meshes.append(mesh)
        found = [model.to_crop(m)[0] for m in meshes if m is not None]
        if not found:
            raise NoFaceError(f"{target.name}: no face found in the destination video")
        renderer = SwapRenderer(model, destination_neutral(found))
        n = len(meshes)
        keep_audio = bool(request.options.get("audio", True)) and reader.info.audio is not None

        def frames() -> Iterator[np.ndarray]:
            for i, frame in enumerate(VideoReader(target)):
                if i >= n:
                    break
                if context.is_cancelled():
                    raise JobCancelled("face swap was cancelled")
                yield renderer.render(frame.image, meshes[i])
                context.progress(i + 1, n)

        card = model.card
        return GeneratedVideo(
            frames=frames(),
            fps=fps,
            model=f"dftk-personal-gan/{card.preset} consent={card.consent_id} trained={card.created}",
            source_type=SourceType.COMPOSITE,
            frame_count=n,
            audio=target if keep_audio else None,
            ingredients=[target],
        )


@hookimpl
def register_generators(register) -> None:
    register(SwapGenerator)
