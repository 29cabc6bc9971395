"""Real distortions the invisible mark must survive, for tests and the benchmark.

Nothing here is simulated: H.264 goes through libx264 (PyAV) into an in-memory MP4 and is decoded
back, JPEG goes through Pillow's encoder and decoder, resizing uses OpenCV's area filter.
All functions take and return RGB uint8 arrays (H x W x 3), or lists of them for video.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Sequence

import av
import cv2
import numpy as np
from PIL import Image


def h264(frames: Sequence[np.ndarray], crf: int, fps: Fraction | int = 24, preset: str = "medium") -> list[np.ndarray]:
    """Encode with libx264 at ``crf`` (yuv420p, MP4) and decode again."""
    h, w = frames[0].shape[:2]
    if h % 2 or w % 2:
        raise ValueError("H.264 4:2:0 needs even frame sizes")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, mode="r") as inp:
        return [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Rescale both sides by ``scale`` (area filter when shrinking, bicubic when growing)."""
    h, w = image.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interp)


def center_crop(image: np.ndarray, keep: float, even: bool = True) -> np.ndarray:
    """Keep the central ``keep`` fraction of each side, without resizing back."""
    h, w = image.shape[:2]
    ch, cw = int(round(h * keep)), int(round(w * keep))
    if even:
        ch, cw = ch - ch % 2, cw - cw % 2
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(image[y0:y0 + ch, x0:x0 + cw])


def brightness(image: np.ndarray, factor: float) -> np.ndarray:
    """Multiply every channel by ``factor`` (clipped to 0..255)."""
    return np.clip(np.rint(image.astype(np.float32) * factor), 0, 255).astype(np.uint8)
