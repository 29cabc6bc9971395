"""How well a video's mouth follows its own audio: the face mesh on every frame vs the speech envelope.

Used by the lip-sync tests and ``benchmarks/generation.py`` on generated outputs (and on
the real clip they came from, as the reference): the mouth aperture is measured by
MediaPipe on the decoded frames, so it is what a viewer, or a detector, would see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.lipsync.sync import SyncResult, audio_envelope, av_sync, mouth_aperture


@dataclass
class VideoSync:
    aperture: np.ndarray  # per frame, NaN where no face was found
    envelope: np.ndarray  # per frame, dB above the clip's floor
    sync: SyncResult
    fps: float

    @property
    def aperture_spread(self) -> float:
        """5th-95th percentile range of the aperture (how much the mouth moves at all)."""
        a = self.aperture[np.isfinite(self.aperture)]
        return float(np.percentile(a, 95) - np.percentile(a, 5)) if a.size else 0.0


def video_apertures(path: Path | str, start: float = 0.0, end: float | None = None,
                    max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Mouth aperture (inner-lip gap / eye-corner distance) per frame of a video, and its fps."""
    from toolkit.gan import landmarks as lmk
    from toolkit.media import VideoReader

    reader = VideoReader(path, start=start, end=end, max_frames=max_frames)
    values = [mouth_aperture(points) if points is not None else np.nan
              for _, points in lmk.track_frames(reader)]
    return np.asarray(values, np.float64), reader.fps or 25.0


def measure_video_sync(path: Path | str, audio: np.ndarray | None = None, audio_rate: int = 16000,
                       max_lag_frames: int = 4, start: float = 0.0, end: float | None = None) -> VideoSync:
    """Aperture of ``path``'s frames vs the envelope of its own audio (or of ``audio`` if given)."""
    from toolkit.media import read_audio

    aperture, fps = video_apertures(path, start, end)
    if audio is None:
        audio, audio_rate = read_audio(path, audio_rate), audio_rate
    envelope = audio_envelope(audio, audio_rate, fps, len(aperture))
    return VideoSync(aperture, envelope, av_sync(aperture, envelope, fps, max_lag_frames=max_lag_frames), fps)
