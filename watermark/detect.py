"""Detect the invisible mark in a file: a still image or a video.

``detect_file(path)`` picks by content: Pillow opens stills (JPEG, PNG, WebP, ...); anything
else goes to PyAV. Videos are never loaded whole: frames are decoded one at a time and only a
sample of at most ``max_frames`` is converted to RGB and fed to a
:class:`~watermark.invisible.WatermarkDecoder`. Short clips are read front to back keeping every
k-th frame; long ones are read in short bursts at evenly spaced seek points.

Errors are :class:`toolkit.errors.DftkError` subclasses with a one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from toolkit.errors import InputError, NoVideoStreamError, UnsupportedMediaError
from toolkit.media.probe import check_file
from watermark.invisible import WatermarkDecoder, WatermarkResult
from watermark.keys import WatermarkKey

DEFAULT_MAX_FRAMES = 96
BURST = 8  # consecutive frames decoded per seek point in long videos


def _open_image(path: Path) -> np.ndarray | None:
    """RGB pixels of a still image, or None if Pillow does not recognise the file."""
    try:
        with Image.open(path) as img:
            if getattr(img, "is_animated", False) and img.format not in ("PNG", "WEBP"):
                return None  # animated GIF and friends: read as video
            return np.asarray(img.convert("RGB"))
    except UnidentifiedImageError:
        return None
    except (OSError, ValueError) as exc:
        raise UnsupportedMediaError(f"cannot read image {path.name}: {exc}") from None


def sample_video_frames(path: str | os.PathLike, max_frames: int = DEFAULT_MAX_FRAMES) -> Iterator[np.ndarray]:
    """Yield up to ``max_frames`` RGB frames spread over the video, decoding lazily."""
    import av

    p = Path(path)
    check_file(p)
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError) as exc:
        raise UnsupportedMediaError(f"cannot read {p.name} as image or video: {exc}") from None
    with container:
        if not container.streams.video:
            raise NoVideoStreamError(f"{p.name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames or 0
        if not total and stream.duration and stream.average_rate:
            total = int(float(stream.duration * stream.time_base) * float(stream.average_rate))
        try:
            if total and total > 4 * max_frames and stream.duration:
                yield from _bursts(container, stream, max_frames)
            else:
                step = max(1, -(-total // max_frames)) if total else 1
                taken = 0
                for i, frame in enumerate(container.decode(stream)):
                    if i % step == 0:
                        yield frame.to_ndarray(format="rgb24")
                        taken += 1
                        if taken >= max_frames:
                            break
        except av.error.FFmpegError as exc:
            raise UnsupportedMediaError(f"cannot decode {p.name}: {exc}") from None


def _bursts(container, stream, max_frames: int) -> Iterator[np.ndarray]:
    points = max(1, max_frames // BURST)
    start = stream.start_time or 0
    for j in range(points):
        target = start + int(stream.duration * (j + 0.5) / points)
        container.seek(target, stream=stream, backward=True, any_frame=False)
        got = 0
        for frame in container.decode(stream):
            if frame.pts is not None and frame.pts < target:
                continue
            yield frame.to_ndarray(format="rgb24")
            got += 1
            if got >= BURST:
                break


def detect_frames(frames: Iterable[np.ndarray], keys: Iterable[WatermarkKey | str | bytes] | None = None) -> WatermarkResult:
    decoder = WatermarkDecoder(keys)
    for frame in frames:
        decoder.add(frame)
    return decoder.result()


def detect_image(image: np.ndarray, keys: Iterable[WatermarkKey | str | bytes] | None = None) -> WatermarkResult:
    """Detect the mark in one RGB uint8 image."""
    return detect_frames([image], keys)


def detect_file(path: str | os.PathLike, keys: Iterable[WatermarkKey | str | bytes] | None = None,
                max_frames: int = DEFAULT_MAX_FRAMES) -> WatermarkResult:
    """Detect the mark in an image or video file (keys=None: configured key, then public)."""
    p = Path(path)
    check_file(p)
    image = _open_image(p)
    if image is not None:
        return detect_image(image, keys)
    decoder = WatermarkDecoder(keys)
    for frame in sample_video_frames(p, max_frames):
        decoder.add(frame)
    if decoder.frames == 0:
        raise UnsupportedMediaError(f"no frame could be decoded from {p.name}")
    return decoder.result()
