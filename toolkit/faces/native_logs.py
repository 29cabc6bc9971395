"""Silence native libraries that write straight to file descriptor 2.

MediaPipe's C++ graphs (absl, TFLite) print warnings and "INFO: Created TensorFlow Lite
XNNPACK delegate" on stderr when a graph starts; Python's ``sys.stderr`` cannot catch
them. Backends wrap graph construction and first use in :func:`quiet_stderr` so
``dftk`` output stays clean. ``DFTK_NATIVE_LOGS=1`` keeps them for debugging.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

_lock = threading.Lock()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    if os.environ.get("DFTK_NATIVE_LOGS") or not hasattr(os, "dup2"):
        yield
        return
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no usable fd 2 (embedded interpreters)
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
