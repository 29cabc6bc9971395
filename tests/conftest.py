"""Shared fixtures: a throw-away DFTK_HOME per session, samples from the shared cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from toolkit.paths import samples_dir

# Resolved before DFTK_HOME moves, so every session reuses one verified sample cache.
_SAMPLES = samples_dir()


@pytest.fixture(scope="session", autouse=True)
def dftk_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("dftk_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DFTK_HOME", str(home))
        mp.setenv("DFTK_SAMPLES_DIR", os.environ.get("DFTK_SAMPLES_DIR", str(_SAMPLES)))
        yield home


@pytest.fixture(scope="session")
def sample(dftk_home):
    """``sample("single_face.mp4")`` -> path of a verified sample file."""
    from toolkit.samples import sample_path

    def get(name: str) -> Path:
        return sample_path(name)

    return get
