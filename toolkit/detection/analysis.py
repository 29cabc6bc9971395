"""The shared decode and face pass every detector consumes.

:func:`analyse_clip` probes the file, decodes the sampled frames once (see
:mod:`toolkit.detection.sampling` for the policy), runs :class:`toolkit.faces.FacePipeline`
over each segment (detection on key frames, 478-point mesh tracking in between, stable
track ids), and decodes the audio track once at 16 kHz mono.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from toolkit.detection.contract import AnalysedFrame, ClipAnalysis, FaceObservation, SamplingInfo
from toolkit.detection.sampling import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_SIDE,
    DEFAULT_TARGET_FPS,
    DEFAULT_WINDOW_SECONDS,
    analysis_size,
    plan_sampling,
)
from toolkit.errors import InputError
from toolkit.media import Frame, VideoReader, probe, read_audio

AUDIO_RATE = 16000
Progress = Callable[[int, int | None, str], None]


def _observation(face) -> FaceObservation:
    """``toolkit.faces.TrackedFace`` -> the detector contract's record."""
    landmarks = face.mesh.landmarks if face.mesh is not None else None
    return FaceObservation(face.track_id, face.box, float(face.score), landmarks, bool(face.detected))


def _strided(frames: Iterator[Frame], stride: int) -> Iterator[Frame]:
    for n, frame in enumerate(frames):
        if n % stride == 0:
            yield frame


def analyse_clip(
    path: Path | str,
    max_frames: int = DEFAULT_MAX_FRAMES,
    max_side: int = DEFAULT_MAX_SIDE,
    target_fps: float = DEFAULT_TARGET_FPS,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    progress: Progress | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    face_detector: str | None = None,
    landmarker: str | None = None,
) -> ClipAnalysis:
    """Decode ``path`` once and run the shared face pass over the sampled frames."""
    from toolkit.errors import JobCancelled
    from toolkit.faces import FacePipeline

    path = Path(path)
    info = probe(path)
    video = info.video
    assert video is not None  # probe() raises for files without video
    width, height = analysis_size(video.width, video.height, max_side)
    scale = width / video.width if video.width else 1.0
    if info.is_image:
        plan = plan_sampling(1, 0.0, 0.0, width * height * 3, max_frames=1)
        total = 1
    else:
        plan = plan_sampling(video.frame_count, video.fps, video.duration or info.duration, width * height * 3,
                             max_frames=max_frames, target_fps=target_fps, window_seconds=window_seconds)
        total = min(plan.max_frames, math.ceil(max(video.frame_count, 1) / plan.stride))
    frames: list[AnalysedFrame] = []
    pipeline = FacePipeline(face_detector, landmarker, keep_images=True)
    spans = plan.windows if plan.windows is not None else [(0.0, None)]
    try:
        if info.is_image:  # static mode: detection and mesh once, no tracking
            image = next(iter(VideoReader(path, max_side=max_side))).image
            result = pipeline.process_image(image)
            frames.append(AnalysedFrame(0, 0.0, 0, image, [_observation(f) for f in result.faces]))
            if progress:
                progress(1, 1, "face pass")
            spans = []
        for segment, (start, end) in enumerate(spans):
            reader = VideoReader(path, max_side=max_side, start=start, end=end)
            source = _strided(iter(reader), plan.stride)
            for result in pipeline.run(source):
                if is_cancelled and is_cancelled():
                    raise JobCancelled("the job was cancelled")
                # A window's reader counts frames from the window start: index by time.
                index = result.index if plan.windows is None else _source_index(result.time, video.fps)
                frames.append(AnalysedFrame(index, result.time, segment, result.image,
                                            [_observation(f) for f in result.faces]))
                if progress:
                    progress(len(frames), total, "face pass")
                if len(frames) >= plan.max_frames:
                    break
            if len(frames) >= plan.max_frames:
                break
    finally:
        pipeline.close()
    if not frames:
        raise InputError(f"{path.name}: no decodable video frames")
    audio = np.zeros(0, np.float32)
    if info.audio is not None and not info.is_image:
        try:
            audio = read_audio(path, sample_rate=AUDIO_RATE, mono=True)
        except InputError:
            audio = np.zeros(0, np.float32)  # a broken audio track only disables audio methods
    sampling = SamplingInfo(
        source_frames=1 if info.is_image else int(video.frame_count),
        analysed_frames=len(frames),
        stride=plan.stride,
        segments=len({f.segment for f in frames}),
        analysis_scale=round(scale, 4),
        policy="still image" if info.is_image else plan.describe(),
    )
    return ClipAnalysis(path=path, info=info, frames=frames, sampling=sampling, audio=audio,
                        audio_rate=AUDIO_RATE, face_backends=pipeline.backend_names)


def _source_index(time: float, fps: float) -> int:
    return int(round(time * fps)) if fps > 0 else 0
