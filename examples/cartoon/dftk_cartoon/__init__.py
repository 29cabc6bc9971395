"""dftk-cartoon: an example third-party generator plugin.

Like every generator it only yields frames: dftk's core checks the subject's consent for
the ``reenact`` scope before calling it, and its output writer watermarks and signs.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType
from toolkit.hookspecs import hookimpl


def cartoonise(rgb: np.ndarray, levels: int = 8, edges: bool = True) -> np.ndarray:
    """Flat colour regions with dark outlines, from one RGB uint8 frame."""
    smooth = cv2.bilateralFilter(rgb, d=7, sigmaColor=60, sigmaSpace=7)
    step = 256 // max(2, levels)
    flat = (smooth // step) * step + step // 2
    if not edges:
        return flat.astype(np.uint8)
    grey = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 5)
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    return np.where(ink[..., None] == 0, 0, flat).astype(np.uint8)


class CartoonGenerator(Generator):
    name = "cartoon"
    scope = "reenact"
    description = "Cartoon look: edge-preserving smoothing, fewer colours, ink lines."
    inputs = {"video": "a clip of the consenting subject"}
    version = "0.1.0"

    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        from toolkit.media import VideoReader

        reader = VideoReader(request.input_path("video", "a clip of the subject"))
        levels = int(request.options.get("levels", 8))
        edges = bool(request.options.get("edges", True))

        def frames():
            for frame in reader:
                if context.is_cancelled():
                    return
                yield cartoonise(frame.image, levels, edges)
                context.progress(frame.index + 1, reader.frame_count)

        return GeneratedVideo(frames(), fps=reader.fps, model=f"cartoon-{self.version}",
                              source_type=SourceType.COMPOSITE, frame_count=reader.frame_count,
                              audio=reader.path, ingredients=[reader.path])


@hookimpl
def register_generators(register):
    register(CartoonGenerator)
