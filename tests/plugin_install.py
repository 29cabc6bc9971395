"""Install plugin packages into a throw-away folder and run dftk / pytest against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import platformdirs

ROOT = Path(__file__).resolve().parents[1]


def env_for(site: Path, home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    env["DFTK_HOME"] = str(home)
    env.setdefault("DFTK_SAMPLES_DIR", str(Path(platformdirs.user_data_dir("dftk", appauthor=False)) / "samples"))
    env.update(extra)
    return env


def pip_install(package: Path, site: Path) -> None:
    """Offline, no dependencies, no build isolation: builds a wheel with our setuptools."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(package)], check=True, cwd=ROOT)


def dftk_json(env: dict[str, str], *args: str) -> dict:
    code = f"import sys; from toolkit.cli import main; sys.exit(main({list(args) + ['--json']!r}))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def run_pytest(tests: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                          env=env, capture_output=True, text=True, cwd=tests.parent)
