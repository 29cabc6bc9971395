"""``dftk web``: serve the Gradio app (loopback only unless told otherwise)."""

from __future__ import annotations

import typer

from toolkit.cli import app


@app.command()
def web(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; 0.0.0.0 exposes the app to your network.",
                             envvar="DFTK_WEB_HOST"),
    port: int = typer.Option(7860, "--port", help="Port to listen on.", envvar="DFTK_WEB_PORT"),
) -> None:
    """Start the web app (consent, train, create, detect, verify, plugins) and print its address."""
    import logging

    from apps.web import build_app, launch

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    launch(build_app(), host=host, port=port)
