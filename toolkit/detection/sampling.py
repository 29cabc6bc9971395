"""Which frames of a clip the detectors see.

Policy (recorded in every report):

* A still image is one frame.
* Video is analysed at up to ``target_fps`` (default 30): ``stride = round(fps / target_fps)``
  (at least 1), so temporal methods (flicker, pulse, lip sync) see a continuous signal.
* If the strided clip has at most ``max_frames`` frames (default 480: 16 s at 30 fps) every
  strided frame is analysed, as one segment.
* Otherwise the clip is covered by evenly spaced *windows* of ``window_seconds`` (default
  8 s) of consecutive strided frames, as many as fit in ``max_frames``; each window is one
  segment and temporal methods never difference across segments.
* Frames are decoded once, at full resolution up to ``max_side`` (default 1280 px on the
  long side; larger video is scaled down by FFmpeg on decode), and the frame budget is
  lowered so the kept frames stay under ``memory_bytes`` (default 1.5 GB).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_FRAMES = 480
DEFAULT_TARGET_FPS = 30.0
DEFAULT_WINDOW_SECONDS = 8.0
DEFAULT_MAX_SIDE = 1280
DEFAULT_MEMORY_BYTES = 1_500_000_000


@dataclass
class SamplingPlan:
    stride: int
    windows: list[tuple[float, float]] | None  # None: the whole clip as one segment
    max_frames: int

    def describe(self) -> str:
        if self.windows is None:
            return f"{self.stride_text()} of the clip"
        return f"{len(self.windows)} windows of consecutive frames ({self.stride_text()}) spread over the clip"

    def stride_text(self) -> str:
        return "every frame" if self.stride == 1 else f"every {self.stride}{_ordinal(self.stride)} frame"


def _ordinal(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def analysis_size(width: int, height: int, max_side: int = DEFAULT_MAX_SIDE) -> tuple[int, int]:
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def plan_sampling(
    frame_count: int,
    fps: float,
    duration: float,
    frame_bytes: int,
    max_frames: int = DEFAULT_MAX_FRAMES,
    target_fps: float = DEFAULT_TARGET_FPS,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> SamplingPlan:
    """Decide stride and windows for a clip of ``frame_count`` frames at ``fps``."""
    if max_frames < 1:
        raise ValueError("max_frames must be >= 1")
    budget = max(1, min(max_frames, memory_bytes // max(frame_bytes, 1)))
    stride = max(1, int(round(fps / target_fps))) if fps > 0 else 1
    strided = -(-max(frame_count, 1) // stride)
    if strided <= budget or fps <= 0 or duration <= 0:
        return SamplingPlan(stride, None, budget)
    step_fps = fps / stride
    window_frames = max(1, min(budget, int(round(window_seconds * step_fps))))
    count = max(1, budget // window_frames)
    length = window_frames / step_fps
    if count == 1:
        starts = [max(0.0, duration / 2 - length / 2)]
    else:
        starts = [i * (duration - length) / (count - 1) for i in range(count)]
    # A small guard band so a window never holds more than window_frames frames.
    windows = [(s, s + length - 0.5 / step_fps) for s in starts]
    return SamplingPlan(stride, windows, budget)
