"""Limits on what the browser may upload: size, duration and type, checked server-side.

The browser's file pickers are only a hint (any client can post any file to the API), so
every handler runs its uploads through :func:`check_upload`, which raises a typed
:class:`~toolkit.errors.DftkError` with a one-line message the user can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.errors import InputError, MediaTooLargeError, UnsupportedMediaError
from toolkit.media import MediaInfo, probe

VIDEO_TYPES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
IMAGE_TYPES = (".jpg", ".jpeg", ".png", ".webp")
AUDIO_TYPES = (".wav", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac")
# What the Verify tab accepts: anything that can carry C2PA or our mark.
PROVENANCE_TYPES = VIDEO_TYPES + IMAGE_TYPES + (".wav",)

KINDS = {"video": VIDEO_TYPES, "image": IMAGE_TYPES, "audio": AUDIO_TYPES}


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class UploadLimits:
    """Per-server limits (environment overrides in parentheses)."""

    max_mb: float = field(default_factory=lambda: _env_float("DFTK_WEB_MAX_UPLOAD_MB", 200.0))
    max_seconds: float = field(default_factory=lambda: _env_float("DFTK_WEB_MAX_SECONDS", 120.0))
    max_text_chars: int = field(default_factory=lambda: int(_env_float("DFTK_WEB_MAX_TEXT", 600)))

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1_000_000)


def _kinds_of(suffix: str, kinds: tuple[str, ...]) -> str | None:
    for kind in kinds:
        if suffix in KINDS[kind]:
            return kind
    return None


def _uploaded(path: str | Path | None, what: str) -> Path:
    """The uploaded file's path; a one-line error when nothing was uploaded or it is gone."""
    if not path:
        raise InputError(f"upload a {what} first")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"the uploaded {what} is missing on the server; upload it again")
    return path


def check_upload(
    path: str | Path | None,
    kinds: tuple[str, ...],
    limits: UploadLimits | None = None,
    what: str = "file",
    need_audio: bool = False,
) -> tuple[Path, MediaInfo]:
    """Validate one uploaded file; return its path and probed media info.

    ``kinds`` names what the field accepts (``"video"``, ``"image"``, ``"audio"``); an audio
    file must hold sound, and so must a video with ``need_audio`` (speech taken from a video).
    """
    limits = limits or UploadLimits()
    path = _uploaded(path, what)
    name = _display_name(path)
    suffix = path.suffix.lower()
    kind = _kinds_of(suffix, kinds)
    if kind is None:
        accepted = ", ".join(t for k in kinds for t in KINDS[k])
        raise UnsupportedMediaError(f"{name}: {suffix or 'no extension'} is not accepted here; use {accepted}")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise MediaTooLargeError(f"{name}: {size / 1e6:.0f} MB is over the {limits.max_mb:.0f} MB upload limit")
    info = probe(path, require_video=kind != "audio")
    if (kind == "audio" or need_audio) and info.audio is None:
        raise InputError(f"{name}: contains no audio stream" if kind == "audio"
                         else f"{name}: this video has no sound track to take the {what} from")
    if not info.is_image and info.duration > limits.max_seconds:
        raise MediaTooLargeError(
            f"{name}: {info.duration:.0f} s is longer than the {limits.max_seconds:.0f} s limit; trim it first"
        )
    return path, info


def check_file_type(path: str | Path | None, suffixes: tuple[str, ...], limits: UploadLimits | None = None,
                    what: str = "file") -> Path:
    """Size and extension check only, for files that are not necessarily media (Verify)."""
    limits = limits or UploadLimits()
    path = _uploaded(path, what)
    name = _display_name(path)
    if path.suffix.lower() not in suffixes:
        raise UnsupportedMediaError(f"{name}: {path.suffix or 'no extension'} is not accepted here; "
                                    f"use {', '.join(suffixes)}")
    if path.stat().st_size > limits.max_bytes:
        raise MediaTooLargeError(f"{name}: over the {limits.max_mb:.0f} MB upload limit")
    return path


def check_text(text: str | None, limits: UploadLimits | None = None, what: str = "text") -> str:
    limits = limits or UploadLimits()
    text = (text or "").strip()
    if not text:
        raise InputError(f"type some {what} first")
    if len(text) > limits.max_text_chars:
        raise InputError(f"the {what} is {len(text)} characters; the limit is {limits.max_text_chars}")
    return text


def _display_name(path: Path) -> str:
    # Gradio keeps the user's file name as the last path component of the upload.
    return path.name
