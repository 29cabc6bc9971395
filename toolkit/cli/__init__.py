"""The ``dftk`` command line (typer).

Core commands live in modules of this package; plugins add theirs through the
``register_commands`` hook. :func:`main` turns every :class:`~toolkit.errors.DftkError`
into ``error: <message>`` on stderr and its exit code, so users never see a traceback
for bad input. ``DFTK_DEBUG=1`` shows tracebacks for internal errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from toolkit.errors import DftkError

app = typer.Typer(
    name="dftk",
    help="Deepfake creation and detection toolkit: consented, watermarked, C2PA-signed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    plugins_dir: Optional[Path] = typer.Option(
        None, "--plugins-dir", help="Also load every *.py plugin in this directory.", envvar="DFTK_PLUGINS_DIR"
    ),
) -> None:
    """Deepfake creation and detection toolkit."""
    # --plugins-dir is read in build_app() before parsing: plugin commands must exist
    # before click parses the command line. The option is declared here for --help.


def _plugins_dir_from_argv(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--plugins-dir" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--plugins-dir="):
            return arg.split("=", 1)[1]
    return os.environ.get("DFTK_PLUGINS_DIR")


def build_app(argv: list[str] | None = None) -> typer.Typer:
    """Load plugins (honouring ``--plugins-dir``) and let them add their commands."""
    from toolkit.cli import commands  # noqa: F401  (registers the core commands)
    from toolkit.plugins import PluginHost, get_host, set_host

    argv = sys.argv[1:] if argv is None else argv
    plugins_dir = _plugins_dir_from_argv(argv)
    if plugins_dir:
        set_host(PluginHost(plugins_dir=plugins_dir))
    host = get_host()
    # The typer app lives for the process; each plugin adds its commands to it once, also
    # when a later call loads a new host (another --plugins-dir).
    added: set[str] = app.__dict__.setdefault("_dftk_command_plugins", set())
    pending = set(host.info) - added
    if pending:
        host.call_each("register_commands", only=pending, cli=app)
        added |= pending
    host.startup("cli")
    return app


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        build_app(argv)
        app(args=argv, prog_name="dftk", standalone_mode=False)
    except DftkError as err:
        if "--json" in argv:  # scripts get a parseable error on stdout too
            import json

            print(json.dumps(err.to_dict()))
        print(f"error: {err.message}", file=sys.stderr)
        return err.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception as exc:  # click usage errors and genuine bugs
        import click

        if isinstance(exc, click.exceptions.Exit):
            return exc.exit_code
        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        if os.environ.get("DFTK_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set DFTK_DEBUG=1 for details)", file=sys.stderr)
        return 70
    return 0
