"""One face followed through a clip, its mesh one-euro filtered (frame pixels).

Generators that paste into footage (lip-sync, swap) place the rendered face with the
mesh of each frame; a tracker's pixel of jitter would make the pasted face swim. The
filter is reset whenever the face is lost, so it never drags a mesh across a cut.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from toolkit.gan import landmarks as lmk
from toolkit.gan.smoothing import OneEuroFilter
from toolkit.media import Frame


def smoothed_track(frames: Iterable[Frame], fps: float) -> Iterator[tuple[Frame, np.ndarray | None]]:
    """``(frame, mesh or None)`` per frame; the mesh is (478, 2) float32 in frame pixels."""
    smooth = OneEuroFilter(fps or 25.0)
    for frame, points in lmk.track_frames(frames):
        if points is None:
            smooth.reset()
            yield frame, None
        else:
            yield frame, smooth(points)
