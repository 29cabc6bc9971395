"""sha256 of files, streamed (samples, models, recordings, outputs and ingredients use it)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

CHUNK = 1 << 20


def sha256_file(path: Path | str, progress: Callable[[int], None] | None = None) -> str:
    """Hex sha256 of a file read in 1 MiB chunks; ``progress(n)`` gets each chunk's size."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()
