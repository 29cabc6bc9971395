"""The server-side allow-list of files the web app may hand to a browser.

Only two things are ever offered for download: generated media written by the core output
writer (registered with its :class:`~toolkit.output.OutputRecord`) and detection reports
written by the detection report writer. Handlers never return a path a client sent them;
they return :meth:`DownloadAllowList.resolve` of a registered entry, which also checks the
file still has the sha256 it had when it was written.

Gradio serves a returned file by copying it into its upload folder; the resolved copy is
staged there by us, so the data dir (keys, consent records, jobs DB) can stay on Gradio's
``blocked_paths`` list and is never served directly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from toolkit.errors import DftkError
from toolkit.hashing import sha256_file
from toolkit.output import OutputRecord


class DownloadRefused(DftkError):
    exit_code = 2
    kind = "download_refused"


@dataclass(frozen=True)
class Offer:
    path: Path  # the original, under the data dir
    sha256: str
    kind: str  # "generated" (output writer) or "report" (detection report writer)
    label: str  # what the user sees in the download list


def _default_staging_dir() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / "dftk-downloads"


class DownloadAllowList:
    def __init__(self, staging_dir: Path | None = None):
        self._staging_dir = staging_dir
        self._offers: dict[str, Offer] = {}  # key: resolved path of the original
        self._lock = threading.Lock()

    @property
    def staging_dir(self) -> Path:
        return self._staging_dir or _default_staging_dir()

    # -- registering ---------------------------------------------------------------
    def offer_output(self, record: OutputRecord) -> Offer:
        """Allow the file an output writer run produced (its record carries the sha256)."""
        path = Path(record.path).resolve()
        offer = Offer(path, record.sha256, "generated", path.name)
        self._add(offer)
        return offer

    def offer_report(self, path: Path | str) -> Offer:
        """Allow a report the detection report writer just wrote (hashed now)."""
        path = Path(path).resolve()
        offer = Offer(path, sha256_file(path), "report", path.name)
        self._add(offer)
        return offer

    def _add(self, offer: Offer) -> None:
        with self._lock:
            self._offers[str(offer.path)] = offer

    # -- reading -------------------------------------------------------------------
    def offers(self) -> list[Offer]:
        with self._lock:
            return list(self._offers.values())

    def is_allowed(self, path: Path | str) -> bool:
        try:
            key = str(Path(path).resolve())
        except (OSError, RuntimeError, ValueError):
            return False
        with self._lock:
            return key in self._offers

    def resolve(self, path: Path | str | None) -> str:
        """A servable copy of an allow-listed file; refuses anything else."""
        if not path:
            raise DownloadRefused("nothing to download yet")
        try:
            key = str(Path(path).resolve())
        except (OSError, RuntimeError, ValueError):
            raise DownloadRefused("that file is not offered for download") from None
        with self._lock:
            offer = self._offers.get(key)
        if offer is None:
            raise DownloadRefused("that file is not offered for download")
        if not offer.path.is_file() or sha256_file(offer.path) != offer.sha256:
            raise DownloadRefused(f"{offer.label} changed or vanished since it was written; run the job again")
        return str(self._stage(offer))

    def _stage(self, offer: Offer) -> Path:
        dest = self.staging_dir / offer.sha256[:32] / offer.path.name
        if dest.is_file():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".stage.")
        os.close(fd)
        try:
            shutil.copyfile(offer.path, tmp)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest
