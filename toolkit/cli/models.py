"""``dftk models``: list, add, verify, locate and accept hash-pinned model files."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from toolkit.cli import app
from toolkit.cli.output import console, err_console, print_json

models_app = typer.Typer(help="Hash-pinned model files: list, add, verify, path, accept.", no_args_is_help=True)
app.add_typer(models_app, name="models")

JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _registry():
    from toolkit.models import get_registry

    return get_registry()


@contextmanager
def _byte_progress(description: str, total: int | None, enabled: bool) -> Iterator:
    """A rich bytes bar on stderr; yields ``update(done, total)`` (a no-op for --json)."""
    if not enabled:
        yield lambda done, total=None: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def update(done: int, total: int | None = None) -> None:
            progress.update(task, completed=done, **({"total": total} if total else {}))

        yield update


def _licence_text(spec) -> str:
    use = "commercial use allowed" if spec.commercial_use else "NON-COMMERCIAL use only"
    url = f" ({spec.licence_url})" if spec.licence_url else ""
    return f"{spec.name}: licence {spec.licence}{url}; {use}"


@models_app.command("list")
def list_models(as_json: bool = JSON) -> None:
    """Every known model, where it comes from, its licence and whether it is installed."""
    statuses = _registry().statuses()
    if as_json:
        print_json({"models": [s.to_dict() for s in statuses]})
        return
    table = Table("model", "from", "size", "licence", "state", "accepted")
    for s in statuses:
        size = f"{s.spec.size / 1e6:.1f} MB" if s.spec.size else "-"
        licence = s.spec.licence + ("" if s.spec.commercial_use else " (non-commercial)")
        table.add_row(s.spec.name, s.spec.origin or "-", size, licence, s.state, "yes" if s.accepted else "no")
    console.print(table)


@models_app.command()
def add(
    name: str = typer.Argument(..., help="Registered model name, or a new name for your own model."),
    file: Path = typer.Option(..., "--file", help="Your local copy of the model file."),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 (checked against the file)."),
    licence: Optional[str] = typer.Option(None, "--licence", help="Licence of a model that is not registered."),
    licence_url: Optional[str] = typer.Option(None, "--licence-url"),
    description: str = typer.Option("", "--description"),
    commercial_use: bool = typer.Option(False, "--commercial-use/--non-commercial",
                                        help="Whether the licence allows commercial use (own models)."),
    copy: bool = typer.Option(False, "--copy", help="Always copy (default: hard-link when on the same filesystem)."),
    accept_licence: bool = typer.Option(False, "--accept-licence", help="Also accept the licence now."),
    as_json: bool = JSON,
) -> None:
    """Verify a local model file against its pinned sha256 and put it in the cache."""
    registry = _registry()
    total = file.stat().st_size if file.is_file() else None
    with _byte_progress(f"verifying {file.name}", total, enabled=not as_json) as update:
        done = [0]

        def on_chunk(n: int) -> None:
            done[0] += n
            update(done[0], total)

        status = registry.add(name, file, sha256=sha256, link=not copy, licence=licence, licence_url=licence_url,
                              description=description, commercial_use=commercial_use, progress=on_chunk)
    if accept_licence:
        status = registry.accept(name)
    if as_json:
        print_json(status.to_dict())
        return
    console.print(f"added {name} -> {status.path}")
    if not status.accepted:
        console.print(_licence_text(status.spec))
        console.print(f"accept it before first use: dftk models accept {name}")


@models_app.command()
def verify(name: Optional[str] = typer.Argument(None, help="One model (default: every installed one)."),
           as_json: bool = JSON) -> None:
    """Re-hash cached model files; a file with the wrong hash is removed (exit code 6)."""
    from toolkit.errors import ModelError

    registry = _registry()
    names = [name] if name else [s.spec.name for s in registry.statuses() if s.state in ("cached", "changed")]
    results, failed = [], []
    for n in names:
        try:
            results.append({"name": n, "ok": True, "path": str(registry.verify(n).path)})
        except ModelError as err:
            results.append({"name": n, "ok": False, "error": err.message})
            failed.append(err)
    if as_json:
        print_json({"verified": results})
    else:
        for r in results:
            console.print(f"{'ok' if r['ok'] else '[red]BAD[/red]'} {r['name']}" + ("" if r["ok"] else f": {r['error']}"))
    if failed:
        raise failed[0] if len(failed) == 1 else ModelError(f"{len(failed)} model files failed verification")


@models_app.command()
def accept(name: str = typer.Argument(...), yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
           as_json: bool = JSON) -> None:
    """Show a model's licence and record that you accept it."""
    registry = _registry()
    spec = registry.spec(name)
    if not yes and not as_json:
        console.print(_licence_text(spec))
        if not sys.stdin.isatty() or not typer.confirm("Accept this licence?", default=False):
            raise typer.Abort()
    status = registry.accept(name)
    if as_json:
        print_json(status.to_dict())
    else:
        console.print(f"accepted the licence of {name}")


@models_app.command()
def path(
    name: str = typer.Argument(...),
    allow_download: bool = typer.Option(False, "--allow-download", help="Download a missing file (verified by sha256).",
                                        envvar="DFTK_ALLOW_DOWNLOADS"),
    as_json: bool = JSON,
) -> None:
    """Print the verified path of a model file (what plugins get from the registry)."""
    registry = _registry()
    spec = registry.spec(name)
    if not registry.is_accepted(spec) and not as_json and sys.stdin.isatty():
        console.print(_licence_text(spec))
        if typer.confirm("Accept this licence?", default=False):
            registry.accept(name)
    with _byte_progress(f"downloading {spec.file_name}", spec.size, enabled=not as_json) as update:
        result = registry.path(name, allow_download=allow_download, progress=update)
    if as_json:
        print_json({"name": name, "path": str(result)})
    else:
        print(result)
