"""H.264 + AAC encoding with the audio kept from a source file, replaced, or left out.

The writer encodes into a temporary file beside the destination and renames it on
:meth:`VideoWriter.close`; :meth:`abort` (or an exception inside ``with``) removes it, so a
failed job never leaves a partial file. Generated media must not be written with this
class directly: go through :mod:`toolkit.output`, which also marks and signs.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from toolkit.errors import InputError
from toolkit.media.probe import open_container

AUDIO_RATE = 48000


def _even(image: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: pad by repeating the last row/column."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


class VideoWriter:
    """Encode RGB frames to an MP4/MOV/MKV file.

    ``audio`` is a path to take the audio track from (re-encoded to AAC, trimmed to the
    video), a float32 mono array at ``audio_rate``, or ``None`` for a silent-less file.
    """

    def __init__(
        self,
        path: Path | str,
        fps: float,
        audio: Path | str | np.ndarray | None = None,
        audio_rate: int = 16000,
        crf: int = 18,
        preset: str = "veryfast",
        codec: str = "libx264",
    ):
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".mov", ".mkv"):
            raise InputError(f"{self.path.name}: output must be .mp4, .mov or .mkv")
        if fps <= 0:
            raise InputError("output frame rate must be positive")
        self.fps = Fraction(fps).limit_denominator(1001)
        self.audio = audio
        self.audio_rate = audio_rate
        self.crf = crf
        self.preset = preset
        self.codec = codec
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".part{self.path.suffix}", dir=self.path.parent)
        os.close(fd)
        self.tmp_path = Path(tmp)
        self._container = av.open(str(self.tmp_path), mode="w")
        self._vstream = None
        self._astream = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0
        self._closed = False

    def _open_video(self, width: int, height: int) -> None:
        stream = self._container.add_stream(self.codec, rate=self.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        self._vstream = stream
        self._size = (width, height)
        # Every stream must exist before the first packet is muxed (the header is written then).
        if self._has_audio():
            self._astream = self._container.add_stream("aac", rate=AUDIO_RATE, layout="mono")

    def _has_audio(self) -> bool:
        if self.audio is None:
            return False
        if isinstance(self.audio, np.ndarray):
            return self.audio.size > 0
        with open_container(Path(self.audio)) as src:
            return bool(src.streams.audio)

    def write(self, image: np.ndarray) -> None:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"frames must be RGB uint8 (H, W, 3), got {image.dtype} {image.shape}")
        image = _even(image)
        h, w = image.shape[:2]
        if self._vstream is None:
            self._open_video(w, h)
        elif (w, h) != self._size:
            raise ValueError(f"frame size changed from {self._size} to {(w, h)}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = self.frames_written
        frame.time_base = 1 / self.fps
        self._container.mux(self._vstream.encode(frame))
        self.frames_written += 1

    @property
    def duration(self) -> float:
        return float(self.frames_written / self.fps)

    def _write_audio_array(self, samples: np.ndarray, rate: int) -> None:
        samples = np.clip(np.asarray(samples, np.float32).reshape(-1), -1, 1)
        samples = samples[: int(round(self.duration * rate))]
        stream = self._astream
        if stream is None:
            return
        if samples.size == 0:  # keep a valid (silent) track rather than an empty stream
            samples = np.zeros(rate // 10, np.float32)
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
        block = 1024
        for start in range(0, samples.size, block * 4):
            chunk = samples[start : start + block * 4][None, :]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for out in resampler.resample(frame):
                self._container.mux(stream.encode(out))
        for out in resampler.resample(None):
            self._container.mux(stream.encode(out))
        self._container.mux(stream.encode(None))

    def _copy_audio(self, source: Path) -> None:
        from toolkit.media.reader import read_audio

        # Decoding the source audio fully is cheap (mono 48 kHz float: ~11 MB per minute).
        samples = read_audio(source, sample_rate=AUDIO_RATE, mono=True)
        self._write_audio_array(samples, AUDIO_RATE)

    def close(self) -> Path:
        """Flush, add the audio, and move the finished file into place."""
        if self._closed:
            return self.path
        try:
            if self._vstream is None:
                raise InputError("no frames were produced; nothing to write")
            self._container.mux(self._vstream.encode(None))
            if isinstance(self.audio, np.ndarray):
                self._write_audio_array(self.audio, self.audio_rate)
            elif self.audio is not None:
                self._copy_audio(Path(self.audio))
            self._container.close()
            os.replace(self.tmp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        except Exception:
            pass
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
