"""The dftk web app (Gradio): consent, training, creation, detection, verification, plugins.

``build_app()`` assembles the tabs (each a small module in :mod:`apps.tabs` that calls the
toolkit's public APIs); ``launch()`` serves it on loopback with the queue enabled, no
analytics, no share link and the data dir blocked from Gradio's file route; ``main()`` is
what ``dftk web`` runs.
"""

from __future__ import annotations

import os

# Must be set before Gradio is imported: no telemetry, no version check, nothing online.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import logging
import sys
from typing import Callable

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from toolkit.paths import data_dir

log = logging.getLogger("dftk.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# CPU-heavy work (detection, generation, training) shares this many workers; streaming and
# quick checks run beside it.
HEAVY = "dftk-heavy"


def heavy_workers() -> int:
    raw = os.environ.get("DFTK_WEB_WORKERS")
    return max(1, int(raw)) if raw else max(1, min(2, os.cpu_count() or 1))


def _tab_builders() -> list[tuple[str, str, Callable[[WebContext], None]]]:
    from apps.tabs import consent, create, detect, plugins, train, verify

    return [
        ("Consent", "tab-consent", consent.build),
        ("Train", "tab-train", train.build),
        ("Create", "tab-create", create.build),
        ("Detect", "tab-detect", detect.build),
        ("Verify", "tab-verify", verify.build),
        ("Plugins", "tab-plugins", plugins.build),
    ]


def build_app(ctx: WebContext | None = None) -> gr.Blocks:
    """The Blocks app; ``ctx`` is shared state (tests pass their own)."""
    ctx = ctx or WebContext()
    ctx.host.startup("web")
    with gr.Blocks(title="dftk", analytics_enabled=False) as app:
        gr.Markdown(
            "# dftk\nConsented, watermarked, C2PA-signed synthetic video, and the detectors to catch "
            "the rest. Every generated file is invisibly marked and signed; no face is animated "
            "without its owner's consent record."
        )
        with gr.Tabs():
            for title, elem_id, build in _tab_builders():
                with gr.Tab(title, elem_id=elem_id):
                    build(ctx)
        _download_endpoint(ctx)
    app.dftk_context = ctx  # type: ignore[attr-defined]
    app.queue(default_concurrency_limit=heavy_workers(), max_size=int(os.environ.get("DFTK_WEB_QUEUE", 64)))
    return app


def _download_endpoint(ctx: WebContext) -> None:
    """``/download``: the one by-name file endpoint, for scripted clients; it hands out
    only what the allow-list holds (outputs of the output writer, detection reports)."""
    name = gr.Textbox(visible=False)
    file = gr.File(visible=False)

    @user_errors
    def download(path: str) -> str:
        return ctx.downloads.resolve(path)

    name.submit(download, inputs=name, outputs=file, api_name="download", queue=False)


def _blocked_paths() -> list[str]:
    """The data dir holds keys, consent records and the jobs DB: never serve it directly.

    Downloads are staged copies in Gradio's upload folder (see :mod:`apps.downloads`), so
    blocking the whole data dir costs nothing, unless Gradio's own folder lives inside it.
    """
    from gradio.utils import get_upload_folder, is_in_or_equal

    root = data_dir().resolve()
    if is_in_or_equal(get_upload_folder(), root):
        return [str(root / name) for name in ("keys", "consent", "models", "jobs.sqlite3")]
    return [str(root)]


def launch(app: gr.Blocks, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, block: bool = True,
           quiet: bool = False) -> str:
    """Serve ``app`` and return its address (printed unless ``quiet``)."""
    limits = app.dftk_context.limits  # type: ignore[attr-defined]
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=True,
        show_error=True,
        quiet=True,
        ssr_mode=False,
        max_file_size=limits.max_bytes,
        blocked_paths=_blocked_paths(),
        enable_monitoring=False,
        mcp_server=False,
        footer_links=["api"],
        run_history=False,
    )
    url = f"http://{host}:{app.server_port}/"
    if not quiet:
        print(f"dftk web app running on {url}  (Ctrl+C to stop)", flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"warning: bound to {host}; anyone who can reach this address can use the app", flush=True)
    if block:
        try:
            app.block_thread()
        except KeyboardInterrupt:
            pass
        finally:
            app.close()
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dftk-web", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("DFTK_WEB_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DFTK_WEB_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    launch(build_app(), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
