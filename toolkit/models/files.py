"""Small file helpers for the model cache: hashing, atomic copies and JSON state."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _temp_beside(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    return Path(name)

def place_file(src: Path, dest: Path, link: bool = True) -> str:
    """Put ``src`` at ``dest`` atomically: a hard link when possible, else a copy.

    A hard link costs no space for a 500 MB model the user already has; across
    filesystems we copy. Returns ``"linked"`` or ``"copied"``.
    """
    tmp = _temp_beside(dest)
    try:
        if link:
            try:
                tmp.unlink()
                os.link(src, tmp)
                os.replace(tmp, dest)
                return "linked"
            except OSError:
                pass
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
        return "copied"
    finally:
        tmp.unlink(missing_ok=True)

def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError):
        return default

def write_json_atomic(path: Path, data: Any) -> None:
    tmp = _temp_beside(path)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
