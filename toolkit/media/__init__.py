"""Media I/O: probing, streamed decoding, encoding and still images (PyAV + Pillow).

Frames everywhere in dftk are RGB ``uint8`` arrays of shape ``(H, W, 3)`` already rotated
for display. Nothing here loads a whole clip into memory.
"""

from toolkit.media.atomic import atomic_path
from toolkit.media.image import IMAGE_SUFFIXES, is_image_path, read_image, write_image
from toolkit.media.probe import AudioInfo, MediaInfo, VideoInfo, probe
from toolkit.media.reader import Frame, VideoReader, read_audio
from toolkit.media.writer import VideoWriter

__all__ = [
    "AudioInfo",
    "Frame",
    "IMAGE_SUFFIXES",
    "MediaInfo",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "atomic_path",
    "is_image_path",
    "probe",
    "read_audio",
    "read_image",
    "write_image",
]
