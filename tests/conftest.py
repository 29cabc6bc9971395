"""Shared fixtures: a throw-away DFTK_HOME per test session, real samples from the cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from toolkit.paths import samples_dir

# Resolve the shared sample cache before DFTK_HOME moves, so every session reuses it.
os.environ.setdefault("DFTK_SAMPLES_DIR", str(samples_dir()))


@pytest.fixture(scope="session", autouse=True)
def dftk_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dftk_home")
    os.environ["DFTK_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    from toolkit.samples import fetch_samples

    return fetch_samples()


@pytest.fixture
def run_cli(capfd):
    """Run ``dftk`` in-process; return (exit code, stdout, stderr)."""
    from toolkit.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        code = main([str(a) for a in args])
        out, err = capfd.readouterr()
        return code, out, err

    return run
