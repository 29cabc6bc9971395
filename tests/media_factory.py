"""Builders for media edge cases, made from the real samples at test time."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def transcode(src: Path, dst: Path, codec: str, max_frames: int = 24, **stream_options: str) -> Path:
    """Re-encode the first frames of ``src`` with ``codec`` into ``dst``'s container."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        stream = out.add_stream(codec, rate=vin.average_rate or 30)
        stream.width, stream.height = vin.codec_context.width, vin.codec_context.height
        stream.pix_fmt = "yuv420p"
        if stream_options:
            stream.options = stream_options
        for i, frame in enumerate(inp.decode(vin)):
            if i >= max_frames:
                break
            new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            new.pts = i
            new.time_base = 1 / Fraction(vin.average_rate or 30)
            out.mux(stream.encode(new))
        out.mux(stream.encode(None))
    return dst


def rotated_copy(src: Path, dst: Path, degrees: int = 90) -> Path:
    """Same stream with display-rotation metadata (what phones write)."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-metadata:s:v",
         f"rotate={degrees}", "-c", "copy", str(dst)],
        check=True,
    )
    return dst


def variable_rate_clip(src: Path, dst: Path, frames: int = 30) -> Path:
    """Frames of ``src`` at irregular timestamps (alternating 1/30 s and 1/10 s gaps)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        vin = inp.streams.video[0]
        stream.width, stream.height = vin.codec_context.width, vin.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        pts = 0
        for i, frame in enumerate(inp.decode(vin)):
            if i >= frames:
                break
            new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            new.pts = pts
            new.time_base = Fraction(1, 30)
            pts += 1 if i % 2 == 0 else 3
            out.mux(stream.encode(new))
        out.mux(stream.encode(None))
    return dst


def speech_wav(dst: Path, text: str = "This is a test of the audio only input.") -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(dst), text], check=True)
    return dst


def audio_only_m4a(dst: Path, wav: Path) -> Path:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "aac", str(dst)],
                   check=True)
    return dst


def huge_image(dst: Path, width: int = 9000, height: int = 16) -> Path:
    from PIL import Image

    Image.fromarray(np.zeros((height, width, 3), np.uint8)).save(dst)
    return dst


def truncated_copy(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst
