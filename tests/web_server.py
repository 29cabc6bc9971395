"""Start the web app on a free loopback port for tests and benchmarks."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Builtin generators newer than the shared environment's entry-point metadata: registered
# by hand until the package is reinstalled (the entry points name the same modules).
BUILTIN_GENERATORS = ("gen_reenact", "gen_lipsync", "gen_swap")


def builtin_host():
    """A plugin host with the installed plugins and every builtin generator."""
    import importlib

    from toolkit.plugins import PluginHost

    host = PluginHost()
    for name in BUILTIN_GENERATORS:
        if name not in host.info:
            host.register(importlib.import_module(f"plugins.{name}"), name=name, source="builtin")
    return host


@contextmanager
def running_app(ctx=None) -> Iterator[tuple[str, object]]:
    """Yield ``(url, app)`` for the real app served in this process (Gradio's own thread);
    by default with :func:`builtin_host`'s plugins."""
    from apps.context import WebContext
    from apps.web import build_app, launch

    app = build_app(ctx or WebContext(host=builtin_host()))
    url = launch(app, port=free_port(), block=False, quiet=True)
    try:
        yield url, app
    finally:
        app.close()
