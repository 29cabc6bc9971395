"""Input limits shared by every reader, so huge inputs fail early with a clear message."""

from __future__ import annotations

import os

from toolkit.errors import MediaTooLargeError

# 8K UHD is the largest frame a user should reasonably feed a CPU face pipeline.
MAX_SIDE = int(os.environ.get("DFTK_MAX_SIDE", 8192))
MAX_PIXELS = int(os.environ.get("DFTK_MAX_PIXELS", 8192 * 4320))


def check_dimensions(name: str, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise MediaTooLargeError(f"{name}: invalid frame size {width}x{height}")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise MediaTooLargeError(
            f"{name}: {width}x{height} exceeds the {MAX_SIDE}px / {MAX_PIXELS // 1_000_000} MP limit; "
            "downscale it first"
        )
