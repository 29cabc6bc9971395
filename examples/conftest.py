"""Run the examples' own tests from a checkout where the examples are not installed.

``make test`` installs every example into the venv (``examples/install.sh``) and runs
their tests against the installed packages. Elsewhere (a plain checkout, a shared venv) an
example whose package cannot be imported is imported from its source folder instead, so its
tests still run; only the entry point (``dftk plugins``) needs the installed package.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from pathlib import Path

import pytest

from toolkit.paths import samples_dir

os.environ.setdefault("DFTK_SAMPLES_DIR", str(samples_dir()))  # the shared cache, before DFTK_HOME moves


def _import_from_source(package: str, folder: Path) -> None:
    """Import ``folder/package`` as ``package`` without putting ``folder`` on sys.path, where
    build leftovers (``*.egg-info``) would pass for an installed distribution and its entry point."""
    init = folder / package / "__init__.py"
    spec = importlib.util.spec_from_file_location(package, init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    spec.loader.exec_module(module)


for pyproject in sorted(Path(__file__).parent.glob("*/pyproject.toml")):
    for package in tomllib.loads(pyproject.read_text()).get("tool", {}).get("setuptools", {}).get("packages", []):
        if importlib.util.find_spec(package) is None:
            _import_from_source(package, pyproject.parent)


@pytest.fixture(scope="session", autouse=True)
def example_dftk_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("example_dftk_home")
    os.environ["DFTK_HOME"] = str(home)
    return home
