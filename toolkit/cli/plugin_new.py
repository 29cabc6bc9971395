"""``dftk plugin new``: scaffold a pip-installable plugin package."""

from __future__ import annotations

from pathlib import Path

import typer

from toolkit.cli import app
from toolkit.cli.output import console, print_json

plugin_app = typer.Typer(help="Write your own plugin.", no_args_is_help=True)
app.add_typer(plugin_app, name="plugin")


@plugin_app.command("new")
def new(
    name: str = typer.Argument(..., help="Plugin name, e.g. sepia-tint (the package becomes dftk-sepia-tint)."),
    kind: str = typer.Option("generator", "--kind", help="generator or detector."),
    directory: Path = typer.Option(Path("."), "--dir", help="Where to create the package folder."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create a plugin package: pyproject with the dftk entry point, a working plugin, tests, README."""
    from toolkit.plugin_template import names_for, scaffold

    path = scaffold(name, kind, directory)
    names = names_for(name)
    if as_json:
        print_json({"path": str(path), **names.mapping()})
        return
    console.print(f"created {path}")
    console.print(f"next: cd {path} && pip install -e . && dftk plugins && pytest")
