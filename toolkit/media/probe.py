"""Probe a media file: container, video and audio streams, rotation, frame rate."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np

from toolkit.errors import InputError, NoVideoStreamError, UnsupportedMediaError
from toolkit.media.image import is_image_path
from toolkit.media.limits import check_dimensions

# Packets inspected to decide whether a clip has a variable frame rate.
_VFR_PACKETS = 240


@dataclass
class VideoInfo:
    codec: str
    width: int  # display size, after rotation
    height: int
    fps: float
    frame_count: int
    duration: float
    rotation: int  # degrees counter-clockwise applied for display
    pix_fmt: str | None
    bit_rate: int | None
    variable_frame_rate: bool


@dataclass
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int
    duration: float


@dataclass
class MediaInfo:
    path: str
    size_bytes: int
    container: str
    duration: float
    is_image: bool
    video: VideoInfo | None
    audio: AudioInfo | None

    def to_dict(self) -> dict:
        return asdict(self)


def check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a media file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the file is empty (0 bytes)")


_MAGIC = {
    b"\x1a\x45\xdf\xa3": "Matroska/WebM",
    b"RIFF": "RIFF",
    b"OggS": "Ogg",
    b"FLV": "FLV",
    b"\x00\x00\x01\xba": "MPEG-PS",
    b"G": "MPEG-TS",
}
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


def sniff_container(path: Path) -> str | None:
    """Name the container family from the first bytes, or None if it looks like no media."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head[4:8] in _ISO_BOXES:
        return "MP4/QuickTime"
    for magic, name in _MAGIC.items():
        if head.startswith(magic) and (name != "MPEG-TS" or len(head) > 0 and head[0] == 0x47):
            return name
    return None


def open_container(path: Path) -> av.container.InputContainer:
    """Open with PyAV, turning FFmpeg's errors into one-line typed errors."""
    check_file(path)
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError:
        family = sniff_container(path)
        if family:
            raise InputError(f"{path.name}: the {family} file is truncated or corrupt") from None
        raise UnsupportedMediaError(f"{path.name}: not a media file that can be decoded") from None


def _stream_duration(stream: av.stream.Stream, container: av.container.InputContainer) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream, name: str):
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError:
        pass
    raise InputError(f"{name}: the video stream could not be decoded (truncated or corrupt)")


def _is_vfr(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> bool:
    pts = []
    for packet in container.demux(stream):
        if packet.pts is not None:
            pts.append(packet.pts)
        if len(pts) >= _VFR_PACKETS:
            break
    if len(pts) < 3:
        return False
    # Packets arrive in decode order (B-frames reordered): sort, and drop the tail whose
    # successors were not read yet.
    ordered = np.sort(np.asarray(pts, dtype=np.float64))
    if len(pts) >= _VFR_PACKETS:
        ordered = ordered[:-16]
    steps = np.diff(ordered)
    steps = steps[steps > 0]
    if steps.size == 0:
        return False
    return bool(steps.max() > 1.5 * np.median(steps) or steps.min() < 0.5 * np.median(steps))


def _tail_readable(container: av.container.InputContainer, stream: av.video.stream.VideoStream, duration: float) -> bool:
    """A clip whose index promises more than the file holds (cut download) has no tail."""
    if duration <= 1.0 or stream.time_base is None:
        return True
    container.seek(int((duration - 0.5) / stream.time_base), stream=stream)
    try:
        for packet in container.demux(stream):
            if packet.size:
                return True
    except av.error.FFmpegError:
        return False
    return False


def probe(path: Path | str, require_video: bool = True) -> MediaInfo:
    """Describe ``path``; raise a typed error if it cannot be used as video or image."""
    path = Path(path)
    if is_image_path(path):
        from toolkit.media.image import read_image

        image = read_image(path)
        h, w = image.shape[:2]
        video = VideoInfo("image", w, h, 0.0, 1, 0.0, 0, "rgb24", None, False)
        return MediaInfo(str(path), path.stat().st_size, path.suffix.lstrip(".").lower(), 0.0, True, video, None)

    with open_container(path) as container:
        vstreams = container.streams.video
        astreams = container.streams.audio
        audio = None
        if astreams:
            a = astreams[0]
            cc = a.codec_context
            audio = AudioInfo(cc.name, cc.sample_rate or 0, cc.channels or 0, _stream_duration(a, container))
        video = None
        if vstreams:
            v = vstreams[0]
            cc = v.codec_context
            check_dimensions(path.name, cc.width, cc.height)
            first = _first_frame(container, v, path.name)
            rotation = int(getattr(first, "rotation", 0) or 0) % 360
            w, h = (cc.height, cc.width) if rotation in (90, 270) else (cc.width, cc.height)
            fps = float(v.average_rate or v.guessed_rate or 0.0)
            duration = _stream_duration(v, container)
            frames = int(v.frames) if v.frames else int(round(duration * fps))
            if not _tail_readable(container, v, duration):
                raise InputError(f"{path.name}: the file is truncated (its index lists more data than it holds)")
            container.seek(0)
            vfr = _is_vfr(container, v)
            video = VideoInfo(cc.name, w, h, fps, frames, duration, rotation, cc.format.name if cc.format else None,
                              cc.bit_rate or None, vfr)
        if video is None and require_video:
            if audio is not None:
                raise NoVideoStreamError(f"{path.name}: audio only; a video stream is needed")
            raise NoVideoStreamError(f"{path.name}: contains no video stream")
        duration = container.duration / av.time_base if container.duration else (video.duration if video else 0.0)
        return MediaInfo(str(path), path.stat().st_size, container.format.name, float(duration), False, video, audio)
