"""Start the web app on a free loopback port for tests and benchmarks."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(ctx=None) -> Iterator[tuple[str, object]]:
    """Yield ``(url, app)`` for the real app served in this process (Gradio's own thread)."""
    from apps.web import build_app, launch

    app = build_app(ctx)
    url = launch(app, port=free_port(), block=False, quiet=True)
    try:
        yield url, app
    finally:
        app.close()
