"""The plugin contract: every extension point of dftk is one hook in this module.

Plugins implement hooks with ``@hookimpl`` and are found through the ``dftk`` entry-point
group (builtin plugins in ``plugins/`` use the same group), through ``--plugins-dir`` /
``DFTK_PLUGINS_DIR``, or are registered directly in tests. Each ``register_*`` hook is
called with a ``register`` callable; a plugin calls it once per thing it contributes.

A plugin that raises inside a hook is reported by ``dftk plugins`` and skipped; the other
plugins keep working.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("dftk")
hookimpl = pluggy.HookimplMarker("dftk")


@hookspec
def register_generators(register: Callable[[Any], None]) -> None:
    """Register generator classes (face swap, lip-sync, reenactment...).

    Call ``register(GeneratorClass)`` with a subclass of
    :class:`toolkit.generation.Generator`. A generator only *yields frames*: the core job
    runner checks the consent record for the generator's ``scope`` before it is called,
    and the core output writer watermarks, encodes and C2PA-signs what it yields.
    Generators must never write media files themselves.
    """


@hookspec
def register_detectors(register: Callable[[Any], None]) -> None:
    """Register detector classes.

    Call ``register(DetectorClass)`` with a subclass of :class:`toolkit.detection.Detector`.
    Detectors receive one shared decode and face pass of the clip and return per-frame,
    per-face scores in [0, 1], a clip score, evidence and a one-line explanation.
    """


@hookspec
def register_face_backends(register: Callable[[Any], None]) -> None:
    """Register face backends: detectors, landmarkers and embedders.

    Call ``register(backend)`` with an object that has ``name`` (unique), ``kind`` (one of
    ``"detector"``, ``"landmarker"``, ``"embedder"``), ``priority`` (higher wins when the
    user does not choose) and the methods of the matching protocol in
    :mod:`toolkit.faces.backends`. Backends are constructed lazily by the core.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``dftk`` command line.

    ``cli`` is the root :class:`typer.Typer` application; decorate functions with
    ``@cli.command()`` or add a sub-application with ``cli.add_typer(...)``.
    """


@hookspec
def register_web_tabs(register: Callable[[Any], None]) -> None:
    """Add tabs to the web app.

    Call ``register(WebTab(title=..., build=fn))`` (:class:`toolkit.webtabs.WebTab`);
    ``fn()`` is called inside a ``gradio.Tab`` context and creates that tab's components.
    Plugin tabs appear on the web app's Plugins tab, one sub-tab each, beside the list of
    installed plugins; a tab whose ``build`` raises shows the error and the app keeps working.
    """


@hookspec
def register_models(register: Callable[[Any], None]) -> None:
    """Declare published model files a plugin can use.

    Call ``register(ModelSpec(...))`` (:class:`toolkit.models.ModelSpec`) with name,
    sha256, file name, licence and, when known, size and source URL. The model registry
    verifies, caches and (only when allowed) downloads them, and asks the user to accept
    each licence once. Plugins load weights only through
    ``toolkit.models.get_registry().path(name)``, never from a hub directly.
    """


@hookspec
def startup(context: Any) -> None:
    """Called once when the host (CLI or web app) has loaded all plugins.

    ``context`` is a :class:`toolkit.plugins.HostContext` naming the host (``"cli"`` or
    ``"web"``) and the data directory. Use it for one-off initialisation; keep it fast.
    """
