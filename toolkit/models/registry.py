"""The model registry: the only way plugins get weights.

Specs come from plugins (the ``register_models`` hook) and from the user
(``dftk models add``, persisted in ``<data_dir>/models/registry.json``). Files live in
``<data_dir>/models/<name>/<file_name>``. The registry is offline-first: a file appears in
the cache only when the user points at a local copy, or when downloads were explicitly
allowed (``allow_download=True`` / ``DFTK_ALLOW_DOWNLOADS=1``) and the spec has a URL.
Every file is checked against its pinned sha256 before it is used, and every licence must
be accepted once (``dftk models accept NAME``) before :meth:`ModelRegistry.path` returns.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from toolkit.errors import ModelError
from toolkit.models.download import Progress, download, part_path
from toolkit.hashing import sha256_file
from toolkit.models.files import place_file, read_json, write_json_atomic
from toolkit.models.spec import ModelSpec

STATE_FILE = "registry.json"
STAMP_FILE = ".verified.json"


def downloads_allowed() -> bool:
    return os.environ.get("DFTK_ALLOW_DOWNLOADS", "") not in ("", "0", "false", "no")


@dataclass
class ModelStatus:
    spec: ModelSpec
    path: Path
    state: str  # "missing", "partial" (a resumable download), "cached" or "changed" (needs verify)
    accepted: bool

    def to_dict(self) -> dict:
        d = self.spec.to_dict()
        d.update(path=str(self.path), state=self.state, accepted=self.accepted)
        return d


class ModelRegistry:
    def __init__(self, specs: Iterable[ModelSpec] | None = None, root: Path | None = None):
        from toolkit.paths import subdir

        self.root = Path(root) if root is not None else subdir("models")
        self.root.mkdir(parents=True, exist_ok=True)
        self._plugin_specs: dict[str, ModelSpec] = {}
        for spec in specs or ():
            self._plugin_specs.setdefault(spec.name, spec)

    @classmethod
    def from_host(cls, host=None) -> "ModelRegistry":
        """A registry of every spec the loaded plugins registered (bad ones are skipped)."""
        from dataclasses import replace

        from toolkit.plugins import PluginFailure, get_host

        host = host or get_host()
        specs = []
        for plugin_name, item in host.collect("register_models"):
            if not isinstance(item, ModelSpec):
                host.failures.append(PluginFailure(plugin_name, "register_models", "registered something that is not a ModelSpec"))
                continue
            specs.append(replace(item, origin=plugin_name))
        return cls(specs)

    # -- state ----------------------------------------------------------------------
    def _state(self) -> dict:
        state = read_json(self.root / STATE_FILE, {})
        state.setdefault("user_models", {})
        state.setdefault("accepted", {})
        return state

    def _save(self, state: dict) -> None:
        write_json_atomic(self.root / STATE_FILE, state)

    # -- lookup ---------------------------------------------------------------------
    def specs(self) -> dict[str, ModelSpec]:
        out = dict(self._plugin_specs)
        for name, data in self._state()["user_models"].items():
            if name not in out:  # a plugin's pinned spec always wins over a user entry
                try:
                    out[name] = ModelSpec.from_dict({**data, "origin": "user"})
                except (ModelError, TypeError):
                    continue
        return dict(sorted(out.items()))

    def spec(self, name: str) -> ModelSpec:
        specs = self.specs()
        if name not in specs:
            known = ", ".join(specs) or "none"
            raise ModelError(f"unknown model {name!r} (known: {known}); add it with `dftk models add {name} --file PATH`")
        return specs[name]

    def file_path(self, name: str) -> Path:
        spec = self.spec(name)
        return self.root / spec.name / spec.file_name

    def is_accepted(self, spec: ModelSpec) -> bool:
        record = self._state()["accepted"].get(spec.name)
        return bool(record) and record.get("licence") == spec.licence

    def status(self, name: str) -> ModelStatus:
        spec = self.spec(name)
        path = self.file_path(name)
        if path.is_file():
            state = "cached" if self._stamp_ok(spec, path) else "changed"
        elif part_path(path).is_file():
            state = "partial"
        else:
            state = "missing"
        return ModelStatus(spec, path, state, self.is_accepted(spec))

    def statuses(self) -> list[ModelStatus]:
        return [self.status(name) for name in self.specs()]

    # -- verification -----------------------------------------------------------------
    def _stamp_ok(self, spec: ModelSpec, path: Path) -> bool:
        stamp = read_json(path.parent / STAMP_FILE, {})
        st = path.stat()
        return stamp == {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def _write_stamp(self, spec: ModelSpec, path: Path) -> None:
        st = path.stat()
        write_json_atomic(path.parent / STAMP_FILE, {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})

    def verify(self, name: str, progress: Callable[[int], None] | None = None) -> ModelStatus:
        """Re-hash the cached file. A file with the wrong hash is removed and reported."""
        spec = self.spec(name)
        path = self.file_path(name)
        if not path.is_file():
            raise ModelError(f"model {name} is not installed; add it with `dftk models add {name} --file PATH`")
        got = sha256_file(path, progress)
        if got != spec.sha256:
            path.unlink()
            (path.parent / STAMP_FILE).unlink(missing_ok=True)
            raise ModelError(f"cached {name} has sha256 {got[:12]}…, expected {spec.sha256[:12]}…; removed it")
        self._write_stamp(spec, path)
        return self.status(name)

    # -- adding -------------------------------------------------------------------------
    def add(self, name: str, file: Path | str, sha256: str | None = None, link: bool = True,
            licence: str | None = None, licence_url: str | None = None, description: str = "",
            commercial_use: bool = False, progress: Callable[[int], None] | None = None) -> ModelStatus:
        """Verify a local file and put it in the cache under ``name``.

        For a registered name the file must match the pinned sha256. An unknown name
        becomes a user entry pinned to this file's hash (or to ``sha256`` when given,
        which the file must match); ``licence`` is then required so it can be shown later.
        """
        file = Path(file).expanduser()
        if not file.is_file():
            raise ModelError(f"model file not found: {file}")
        got = sha256_file(file, progress)
        known = self.specs().get(name)
        expected = (sha256 or "").lower() or (known.sha256 if known else None)
        if known is not None and sha256 and sha256.lower() != known.sha256:
            raise ModelError(f"{name} is pinned to sha256 {known.sha256[:12]}…, not {sha256[:12]}…")
        if expected is not None and got != expected:
            raise ModelError(f"{file.name} has sha256 {got[:12]}…, but {name} needs {expected[:12]}…; refused")
        if known is None:
            if not licence:
                raise ModelError(f"{name} is not a registered model: give its licence with --licence")
            spec = ModelSpec(name=name, sha256=got, file_name=file.name, licence=licence, size=file.stat().st_size,
                             licence_url=licence_url, description=description, commercial_use=commercial_use,
                             url=None, origin="user")
            state = self._state()
            data = spec.to_dict()
            data.pop("origin")
            state["user_models"][name] = data
            self._save(state)
        else:
            spec = known
        dest = self.root / spec.name / spec.file_name
        place_file(file, dest, link=link)
        self._write_stamp(spec, dest)
        return self.status(name)

    # -- licences -------------------------------------------------------------------------
    def accept(self, name: str) -> ModelStatus:
        spec = self.spec(name)
        state = self._state()
        state["accepted"][name] = {"licence": spec.licence, "sha256": spec.sha256,
                                   "commercial_use": spec.commercial_use,
                                   "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._save(state)
        return self.status(name)

    # -- the one way to get weights ---------------------------------------------------------
    def path(self, name: str, allow_download: bool | None = None, progress: Progress | None = None) -> Path:
        """Path of the verified file for ``name``, downloading it only if allowed.

        Raises :class:`~toolkit.errors.ModelError` when the model is unknown, missing,
        has the wrong hash, or its licence has not been accepted.
        """
        spec = self.spec(name)
        if not self.is_accepted(spec):
            use = "non-commercial use only" if not spec.commercial_use else "see the licence"
            raise ModelError(f"the licence of {name} ({spec.licence}; {use}) has not been accepted: "
                             f"run `dftk models accept {name}`")
        path = self.root / spec.name / spec.file_name
        if path.is_file():
            if not self._stamp_ok(spec, path):
                self.verify(name)
            return path
        allow = downloads_allowed() if allow_download is None else allow_download
        if not spec.url:
            raise ModelError(f"model {name} is not installed and has no download source; "
                             f"add your copy with `dftk models add {name} --file PATH`")
        if not allow:
            raise ModelError(f"model {name} is not installed; add your copy with `dftk models add {name} --file PATH` "
                             "or allow the download with --allow-download / DFTK_ALLOW_DOWNLOADS=1")
        download(spec.url, path, spec.sha256, spec.size, progress)
        self._write_stamp(spec, path)
        return path


_registry: ModelRegistry | None = None


def get_registry() -> ModelRegistry:
    """The registry of the process-wide plugin host (rebuilt when the host changes)."""
    global _registry
    from toolkit.paths import data_dir
    from toolkit.plugins import get_host

    host = get_host()
    root = data_dir() / "models"
    if _registry is None or getattr(_registry, "_host", None) is not host or _registry.root != root:
        _registry = ModelRegistry.from_host(host)
        _registry._host = host  # type: ignore[attr-defined]
    return _registry
