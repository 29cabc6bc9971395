"""Plugin manager: loads builtin, installed and directory plugins, calls hooks safely.

* Builtin plugins live in ``plugins/`` and are declared in the ``dftk`` entry-point group
  of our own ``pyproject.toml``, the same way a third-party distribution declares its own.
* ``DFTK_LOAD_PLUGINS=a,b`` is an allow-list of entry-point names (builtins included);
  an empty value loads none.
* ``--plugins-dir DIR`` / ``DFTK_PLUGINS_DIR`` loads every ``*.py`` file in DIR.
* ``DFTK_TRACE_PLUGINS=1`` prints each hook call (plugin, hook, duration) to stderr.

A plugin that fails to import, or raises inside a hook, is recorded in
:attr:`PluginHost.failures` and skipped; every other plugin keeps working.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import pluggy

from toolkit import hookspecs

ENTRY_POINT_GROUP = "dftk"
BUILTIN_DISTRIBUTION = "dftk"


@dataclass
class PluginFailure:
    plugin: str
    stage: str  # "import" or the hook name
    error: str

    def to_dict(self) -> dict:
        return {"plugin": self.plugin, "stage": self.stage, "error": self.error}


@dataclass
class PluginInfo:
    name: str
    source: str  # "builtin", "installed", "directory" or "registered"
    version: str | None
    distribution: str | None
    module: str
    hooks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "version": self.version,
            "distribution": self.distribution,
            "module": self.module,
            "hooks": self.hooks,
        }


@dataclass
class HostContext:
    host: str
    data_dir: Path


def _allow_list() -> set[str] | None:
    raw = os.environ.get("DFTK_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _tracing() -> bool:
    return os.environ.get("DFTK_TRACE_PLUGINS", "") not in ("", "0", "false")


class PluginHost:
    """One pluggy manager plus what we learned while loading it."""

    def __init__(self, plugins_dir: Path | str | None = None, load_entry_points: bool = True):
        self.pm = pluggy.PluginManager("dftk")
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self.info: dict[str, PluginInfo] = {}
        self._cache: dict[str, list[tuple[str, Any]]] = {}
        if load_entry_points:
            self._load_entry_points()
        plugins_dir = plugins_dir or os.environ.get("DFTK_PLUGINS_DIR")
        if plugins_dir:
            self.load_directory(Path(plugins_dir))

    # -- loading -------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        allowed = _allow_list()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allowed is not None and ep.name not in allowed:
                continue
            if ep.name in self.info:
                continue
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else None
            source = "builtin" if dist_name == BUILTIN_DISTRIBUTION else "installed"
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not take the host down
                self.failures.append(PluginFailure(ep.name, "import", _describe(exc)))
                continue
            self.register(module, ep.name, source, dist.version if dist else None, dist_name)

    def load_directory(self, directory: Path) -> None:
        if not directory.is_dir():
            self.failures.append(PluginFailure(str(directory), "import", "plugins dir does not exist"))
            return
        for path in sorted(directory.glob("*.py")):
            name = path.stem
            try:
                spec = importlib.util.spec_from_file_location(f"dftk_dir_plugin_{name}", path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            except Exception as exc:
                self.failures.append(PluginFailure(name, "import", _describe(exc)))
                continue
            self.register(module, name, "directory", None, None)

    def register(
        self,
        plugin: ModuleType | object,
        name: str | None = None,
        source: str = "registered",
        version: str | None = None,
        distribution: str | None = None,
    ) -> str:
        """Register a plugin object or module (tests use this directly)."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:  # duplicate name or a bad hookimpl
            self.failures.append(PluginFailure(name, "register", _describe(exc)))
            return name
        hooks = sorted(impl.name for impl in self._hookimpls_of(name))
        module = getattr(plugin, "__name__", type(plugin).__module__)
        self.info[name] = PluginInfo(name, source, version, distribution, module, hooks)
        self._cache.clear()
        return name

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.info.pop(name, None)
        self._cache.clear()

    def _hookimpls_of(self, plugin_name: str) -> Iterable[Any]:
        plugin = self.pm.get_plugin(plugin_name)
        for caller in self.pm.get_hookcallers(plugin) or []:
            yield caller

    # -- calling -------------------------------------------------------------------
    def call_each(self, hook_name: str, only: set[str] | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of a hook on its own, isolating failures.

        ``only`` limits the call to those plugin names. Returns ``(plugin_name,
        return_value)`` pairs. A plugin that raises is recorded in :attr:`failures` and left out.
        """
        caller = getattr(self.pm.hook, hook_name)
        results = []
        for impl in reversed(caller.get_hookimpls()):  # registration order
            if only is not None and impl.plugin_name not in only:
                continue
            start = time.perf_counter()
            try:
                value = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception as exc:
                self.failures.append(PluginFailure(impl.plugin_name, hook_name, _describe(exc)))
                value = None
                ok = False
            else:
                results.append((impl.plugin_name, value))
                ok = True
            if _tracing():
                ms = (time.perf_counter() - start) * 1000
                print(f"[dftk trace] {impl.plugin_name}.{hook_name} {ms:.1f} ms"
                      f"{'' if ok else ' FAILED'}", file=sys.stderr)
        return results

    def collect(self, hook_name: str) -> list[tuple[str, Any]]:
        """Run a ``register_*`` hook and return ``(plugin_name, registered_thing)`` pairs."""
        if hook_name in self._cache:
            return self._cache[hook_name]
        collected: list[tuple[str, Any]] = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            items: list[Any] = []
            start = time.perf_counter()
            try:
                impl.function(register=items.append)
            except Exception as exc:
                self.failures.append(PluginFailure(impl.plugin_name, hook_name, _describe(exc)))
                continue
            finally:
                if _tracing():
                    ms = (time.perf_counter() - start) * 1000
                    print(f"[dftk trace] {impl.plugin_name}.{hook_name} {ms:.1f} ms", file=sys.stderr)
            collected.extend((impl.plugin_name, item) for item in items)
        self._cache[hook_name] = collected
        return collected

    # -- typed views ----------------------------------------------------------------
    def _named(self, hook_name: str, what: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for plugin_name, item in self.collect(hook_name):
            name = getattr(item, "name", None)
            if not name:
                self.failures.append(PluginFailure(plugin_name, hook_name, f"registered a {what} without a name"))
                continue
            if name in out:
                self.failures.append(PluginFailure(plugin_name, hook_name, f"{what} name {name!r} is already taken"))
                continue
            out[name] = item
        return out

    def generators(self) -> dict[str, Any]:
        return self._named("register_generators", "generator")

    def detectors(self) -> dict[str, Any]:
        return self._named("register_detectors", "detector")

    def face_backends(self, kind: str | None = None) -> dict[str, Any]:
        backends = self._named("register_face_backends", "face backend")
        if kind is None:
            return backends
        return {n: b for n, b in backends.items() if getattr(b, "kind", None) == kind}

    def web_tabs(self) -> list[tuple[str, Any]]:
        return self.collect("register_web_tabs")

    def models(self) -> dict[str, Any]:
        return self._named("register_models", "model")

    def contributions(self) -> dict[str, dict[str, list[str]]]:
        """What each plugin registered, by kind, for ``dftk plugins``."""
        kinds = {
            "register_generators": "generators",
            "register_detectors": "detectors",
            "register_face_backends": "face_backends",
            "register_web_tabs": "web_tabs",
            "register_models": "models",
        }
        out: dict[str, dict[str, list[str]]] = {}
        for hook, kind in kinds.items():
            for plugin_name, item in self.collect(hook):
                label = getattr(item, "name", None) or getattr(item, "title", None) or repr(item)
                if hook == "register_face_backends":
                    label = f"{label} ({getattr(item, 'kind', '?')})"
                out.setdefault(plugin_name, {}).setdefault(kind, []).append(label)
        return out

    def startup(self, host: str) -> None:
        from toolkit.paths import data_dir

        self.call_each("startup", context=HostContext(host=host, data_dir=data_dir()))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, created on first use."""
    global _host
    if _host is None:
        _host = PluginHost()
    return _host


def set_host(host: PluginHost | None) -> None:
    """Replace the process-wide host (``--plugins-dir`` and tests use this)."""
    global _host
    _host = host
