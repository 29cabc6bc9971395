"""Where the toolkit keeps its state.

Everything lives under one user data dir (``platformdirs``), overridable with ``DFTK_HOME``
so tests and CI can run in a throw-away directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The root of all persistent state (jobs DB, consent registry, keys, models, samples)."""
    root = os.environ.get("DFTK_HOME")
    path = Path(root) if root else Path(platformdirs.user_data_dir("dftk", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def samples_dir() -> Path:
    """Cached sample media; ``DFTK_SAMPLES_DIR`` overrides it.

    Samples are immutable, sha256-pinned downloads, so tests that use a throw-away
    DFTK_HOME point this at one shared cache instead of fetching 10 MB per session.
    """
    root = os.environ.get("DFTK_SAMPLES_DIR")
    path = Path(root) if root else data_dir() / "samples"
    path.mkdir(parents=True, exist_ok=True)
    return path
