"""A subject's recording as training data: aligned crops and landmarks per frame.

Frames where no face is found are dropped (their index is kept, so consecutive stacks
for the temporal discriminator never bridge a gap). The last part of the recording is
held out for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from toolkit.errors import JobCancelled, NoFaceError
from toolkit.hashing import sha256_file
from toolkit.gan import landmarks as lmk
from toolkit.media import VideoReader

ProgressFn = Callable[[int, "int | None", str], None]


@dataclass
class SubjectClip:
    crops: np.ndarray  # (N, S, S, 3) uint8 canonical aligned crops
    landmarks: np.ndarray  # (N, 478, 2) float32, crop pixels
    matrices: np.ndarray  # (N, 2, 3) float32, frame pixels -> crop pixels
    frame_index: np.ndarray  # (N,) index of each crop's frame in the video
    fps: float
    size: int
    video: Path
    sha256: str
    frames_read: int
    start: float = 0.0  # seconds into the video where the clip starts (frame_index counts from there)

    def __len__(self) -> int:
        return len(self.crops)

    def split(self, holdout: float) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the training part and of the held-out last ``holdout`` of the frames."""
        n = len(self)
        cut = n - int(round(n * holdout)) if holdout > 0 else n
        cut = min(max(cut, 1), n)
        return np.arange(cut), np.arange(cut, n)

    def runs(self, indices: np.ndarray, length: int) -> np.ndarray:
        """Start positions (into ``indices``) of ``length`` consecutive video frames."""
        fi = self.frame_index[indices]
        if len(fi) < length:
            return np.zeros(0, np.int64)
        span = fi[length - 1:] - fi[: len(fi) - length + 1]
        return np.flatnonzero(span == length - 1)


def load_subject_clip(
    video: Path | str,
    size: int,
    max_frames: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    progress: ProgressFn | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    padding: float = lmk.PADDING,
) -> SubjectClip:
    video = Path(video)
    reader = VideoReader(video, start=start, end=end, max_frames=max_frames)
    total = reader.frame_count or None
    crops, lms, mats, idx = [], [], [], []
    read = 0
    for frame, points in lmk.track_frames(reader):
        read += 1
        if is_cancelled and is_cancelled():
            raise JobCancelled("training was cancelled")
        if points is not None:
            a = lmk.align(frame.image, points, size, padding)
            crops.append(a.crop)
            lms.append(a.landmarks)
            mats.append(a.matrix)
            idx.append(frame.index)
        if progress and read % 10 == 0:
            progress(read, total, "finding the face in each frame")
    if len(crops) < 8:
        raise NoFaceError(f"{video.name}: a face was found in only {len(crops)} of {read} frames; "
                          "record the subject facing the camera")
    return SubjectClip(np.stack(crops), np.stack(lms), np.stack(mats), np.array(idx), reader.fps or 25.0, size,
                       video, sha256_file(video), read, start)


def read_frame(video: Path, index: int, start: float = 0.0) -> np.ndarray:
    """Decode one frame by index (used to keep the neutral reference's full frame)."""
    for frame in VideoReader(video, start=start, max_frames=index + 1):
        if frame.index == index:
            return frame.image
    raise NoFaceError(f"{video.name}: frame {index} could not be read again")
