"""Which media types we sign, recognised from their bytes rather than their names.

The output writer may hand us a temp file with any name, and a user may hand ``dftk
verify`` a text file called ``clip.mp4``; sniffing the first bytes gives a clean error
before the C2PA library sees the file.
"""

from __future__ import annotations

from pathlib import Path

# MIME type -> file name suffixes it is written with.
SIGNABLE_TYPES: dict[str, tuple[str, ...]] = {
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "audio/wav": (".wav",),
}

_HEAD_BYTES = 16


def sniff_mime(path: Path) -> str | None:
    """The signable MIME type of the file's content, or None if it is none of them."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    return mime_from_head(head)


def mime_from_head(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        # QuickTime files declare the 'qt  ' major brand; everything else is ISO BMFF.
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    return None


def mime_for_suffix(path: Path) -> str | None:
    suffix = Path(path).suffix.lower()
    for mime, suffixes in SIGNABLE_TYPES.items():
        if suffix in suffixes:
            return mime
    return None


def same_family(mime_a: str, mime_b: str) -> bool:
    """MP4 and MOV share one container format; other types must match exactly."""
    bmff = {"video/mp4", "video/quicktime"}
    return mime_a == mime_b or (mime_a in bmff and mime_b in bmff)
