"""The one output writer: every generated file is watermarked, encoded and C2PA-signed here.

Generators yield frames (:class:`toolkit.generation.GeneratedVideo`); the job runner hands
them to :func:`write_generated`, which

1. draws a fresh 64-bit watermark ID (installation + output serial),
2. embeds the invisible mark in every frame while encoding H.264 + AAC (or a still image),
3. signs a C2PA manifest (AI-generated label, generator, model, consent reference,
   soft binding to the watermark ID, ingredients, training/mining not allowed),
4. moves the finished file into place atomically.

Nothing else in the toolkit writes generated media (a test scans the source for writers).
If any step fails or the job is cancelled, no file is left behind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from toolkit.errors import InputError, JobCancelled
from toolkit.hashing import sha256_file
from toolkit.generation import GeneratedVideo, SourceType
from toolkit.media.atomic import atomic_path
from toolkit.media.image import write_image
from toolkit.media.writer import VideoWriter

if TYPE_CHECKING:
    from watermark.c2pa_manifest import ConsentRef

VIDEO_SUFFIXES = (".mp4", ".mov")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass
class OutputRecord:
    path: str
    watermark_id: str
    frames: int
    duration: float
    sha256: str
    plugin: str
    model: str
    consent_id: str | None
    source_type: str

    def to_dict(self) -> dict:
        return asdict(self)


def write_generated(
    video: GeneratedVideo,
    output: Path | str,
    *,
    plugin: str,
    plugin_version: str,
    consent: "ConsentRef | None",
    consent_id: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> OutputRecord:
    """Mark, encode and sign ``video`` into ``output`` (``.mp4``/``.mov``, or ``.jpg``/``.png``
    for a single generated frame). Returns what was written."""
    from watermark.c2pa_manifest import ProvenanceInfo
    from watermark.c2pa_sign import sign_file
    from watermark.invisible import WatermarkEmbedder
    from watermark.payload import new_output_id

    output = Path(output)
    suffix = output.suffix.lower()
    if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        raise InputError(f"{output.name}: generated media is written as .mp4, .mov, .jpg or .png")
    payload = new_output_id()
    embed = WatermarkEmbedder(payload, profile="video" if suffix in VIDEO_SUFFIXES else "image")
    watermark_id = payload.hex

    frames_written = 0
    with atomic_path(output) as tmp:
        if suffix in VIDEO_SUFFIXES:
            with VideoWriter(tmp, fps=video.fps, audio=video.audio, audio_rate=video.audio_rate) as writer:
                for frame in video.frames:
                    if is_cancelled and is_cancelled():
                        raise JobCancelled("the job was cancelled")
                    writer.write(embed(np.ascontiguousarray(frame, dtype=np.uint8)))
                    frames_written += 1
                    if progress:
                        progress(frames_written, video.frame_count)
            duration = frames_written / video.fps
        else:
            frames = iter(video.frames)
            first = next(frames, None)
            if first is None or next(frames, None) is not None:
                raise InputError(f"{output.name}: an image output needs exactly one generated frame")
            write_image(tmp, embed(first))
            frames_written, duration = 1, 0.0
            if progress:
                progress(1, 1)
        composite = video.source_type == SourceType.COMPOSITE
        ingredients = [Path(p) for p in video.ingredients]
        info = ProvenanceInfo(
            plugin=plugin,
            plugin_version=plugin_version,
            model=video.model,
            watermark_id=watermark_id,
            consent=consent,
            source_type="composite" if composite else "created",
            parent=ingredients[0] if composite and ingredients else None,
            components=ingredients[1:] if composite else ingredients,
            title=output.name,
        )
        sign_file(tmp, tmp, info)
        digest = sha256_file(tmp)
    return OutputRecord(
        path=str(output),
        watermark_id=watermark_id,
        frames=frames_written,
        duration=duration,
        sha256=digest,
        plugin=plugin,
        model=video.model,
        consent_id=consent_id,
        source_type=(SourceType.COMPOSITE if composite else SourceType.SYNTHETIC).value,
    )
