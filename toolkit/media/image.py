"""Still images: read with EXIF orientation applied, write atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from toolkit.errors import InputError, MediaTooLargeError
from toolkit.media.atomic import atomic_path
from toolkit.media.limits import check_dimensions

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def is_image_path(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path | str) -> np.ndarray:
    """Read a still image as RGB uint8, upright."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the file is empty")
    try:
        with Image.open(path) as img:
            check_dimensions(path.name, img.width, img.height)
            img = ImageOps.exif_transpose(img)
            return np.asarray(img.convert("RGB"))
    except MediaTooLargeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path.name}: not a readable image ({exc.__class__.__name__})") from None
    except Image.DecompressionBombError:
        raise MediaTooLargeError(f"{path.name}: image is too large to process") from None


def write_image(path: Path | str, image: np.ndarray, quality: int = 95) -> Path:
    """Write RGB uint8 ``image`` to ``path`` (format from the suffix), atomically."""
    path = Path(path)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP",
           ".tif": "TIFF", ".tiff": "TIFF"}.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path.name}: unsupported image type {path.suffix!r}")
    kwargs = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(tmp, format=fmt, **kwargs)
    return path
