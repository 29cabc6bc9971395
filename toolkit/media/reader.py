"""Streamed decoding of video frames and audio samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from toolkit.errors import InputError
from toolkit.media.image import is_image_path, read_image
from toolkit.media.probe import MediaInfo, open_container, probe


@dataclass
class Frame:
    index: int
    time: float  # presentation time in seconds (exact for variable frame rate clips)
    image: np.ndarray  # RGB uint8 (H, W, 3), upright


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    if not max_side or max(width, height) <= max_side:
        return None
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class VideoReader:
    """Iterate the frames of a video (or a single still image) without loading the clip.

    ``max_side`` downsizes on decode (FFmpeg's scaler) for pipelines that need less
    than full resolution; ``start``/``end`` select a time range in seconds.
    """

    def __init__(
        self,
        path: Path | str,
        max_side: int | None = None,
        start: float = 0.0,
        end: float | None = None,
        max_frames: int | None = None,
    ):
        self.path = Path(path)
        self.info: MediaInfo = probe(self.path)
        self.max_side = max_side
        self.start = start
        self.end = end
        self.max_frames = max_frames

    @property
    def fps(self) -> float:
        return self.info.video.fps if self.info.video else 0.0

    @property
    def frame_count(self) -> int:
        count = self.info.video.frame_count if self.info.video else 0
        if self.end is not None or self.start:
            span = (self.end if self.end is not None else self.info.duration) - self.start
            count = min(count, int(round(max(span, 0) * self.fps)))
        return min(count, self.max_frames) if self.max_frames else count

    def __iter__(self) -> Iterator[Frame]:
        if self.info.is_image:
            image = read_image(self.path)
            size = _scaled_size(image.shape[1], image.shape[0], self.max_side)
            if size:
                from PIL import Image

                image = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
            yield Frame(0, 0.0, image)
            return
        yield from self._decode()

    def _decode(self) -> Iterator[Frame]:
        rotation = self.info.video.rotation
        with open_container(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            cc = stream.codec_context
            size = _scaled_size(cc.width, cc.height, self.max_side)
            if self.start > 0:
                container.seek(int(self.start / stream.time_base), stream=stream, any_frame=False, backward=True)
            index = 0
            try:
                for frame in container.decode(stream):
                    t = float(frame.time) if frame.time is not None else index / max(self.fps, 1e-6)
                    if t < self.start - 1e-6:
                        continue
                    if self.end is not None and t >= self.end:
                        break
                    if size:
                        image = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                    else:
                        image = frame.to_ndarray(format="rgb24")
                    yield Frame(index, t, _upright(image, rotation))
                    index += 1
                    if self.max_frames and index >= self.max_frames:
                        break
            except av.error.FFmpegError:
                raise InputError(f"{self.path.name}: video data is corrupt after frame {index}") from None
        if index == 0:
            raise InputError(f"{self.path.name}: no decodable video frames in the selected range")


def read_audio(path: Path | str, sample_rate: int = 16000, mono: bool = True) -> np.ndarray:
    """Decode the first audio stream to float32 samples in [-1, 1]: ``(n,)`` or ``(channels, n)``.

    Returns an empty array when the file has no audio stream.
    """
    path = Path(path)
    if is_image_path(path):
        return np.zeros(0, np.float32)
    layout = "mono" if mono else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
    chunks: list[np.ndarray] = []
    with open_container(path) as container:
        if not container.streams.audio:
            return np.zeros(0 if mono else (2, 0), np.float32)
        try:
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError:
            raise InputError(f"{path.name}: audio data is corrupt") from None
    if not chunks:
        return np.zeros(0 if mono else (2, 0), np.float32)
    samples = np.concatenate(chunks, axis=1).astype(np.float32)
    return samples[0] if mono else samples
