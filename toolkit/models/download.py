"""Resumable, verified, atomic HTTP download of one model file.

Bytes go to ``<dest>.part`` beside the destination. A later call resumes from the part
file's size with an HTTP ``Range`` request (a server that ignores it answers 200 and we
start over). Only a part file whose sha256 matches the pinned value is renamed onto the
destination (``os.replace``), so the cache never holds a partial or foreign file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from toolkit.errors import ModelError, NetworkError
from toolkit.hashing import sha256_file

NET_CHUNK = 1 << 16  # bytes per read; at most this much is lost when a connection drops

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None)


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download(url: str, dest: Path, sha256: str, size: int | None = None,
             progress: Progress | None = None, timeout: float = 30.0) -> Path:
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    start = part.stat().st_size if part.exists() else 0
    if size is not None and start > size:  # not ours or a different file: start over
        part.unlink()
        start = 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    done = start
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as resp:
            if resp.status_code == 416 and start:  # nothing left to fetch: verify what we have
                total = start
            else:
                resp.raise_for_status()
                if start and resp.status_code != 206:
                    start = done = 0  # the server ignored Range
                length = resp.headers.get("Content-Length")
                total = start + int(length) if length is not None else size
                with open(part, "ab" if start else "wb") as f:
                    for chunk in resp.iter_content(NET_CHUNK):
                        f.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
    except requests.RequestException as exc:
        kept = part.stat().st_size if part.exists() else 0
        raise NetworkError(
            f"download of {dest.name} failed ({type(exc).__name__}) after {kept / 1e6:.1f} MB; "
            "run the same command again to resume"
        ) from None
    got = sha256_file(part)
    if got != sha256:
        part.unlink(missing_ok=True)
        raise ModelError(f"downloaded {dest.name} has sha256 {got[:12]}…, expected {sha256[:12]}…; refused")
    os.replace(part, dest)
    return dest
