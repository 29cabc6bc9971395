"""``dftk detect``: run the detector suite on a file and report (table, JSON, HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from toolkit.cli import app
from toolkit.cli.output import console, print_json, progress_bar


@app.command()
def detect(
    file: Path = typer.Argument(..., help="Video or image to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write a self-contained HTML report here."),
    detectors: Optional[str] = typer.Option(None, "--detectors", help="Comma-separated detector names (default: all default ones)."),
    max_frames: int = typer.Option(480, "--max-frames", help="Most frames to analyse (see docs/detection.md for the policy)."),
) -> None:
    """Detect face manipulation: per-detector scores, a fused verdict and the file's provenance."""
    from toolkit.detection.suite import run_detection
    from toolkit.errors import InputError

    if max_frames < 1:
        raise InputError("--max-frames must be at least 1")
    if html_out is not None and html_out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{html_out.name}: the report is written as an .html file")
    names = [n.strip() for n in detectors.split(",") if n.strip()] if detectors else None
    with progress_bar(f"detecting {file.name}", total=None, enabled=not as_json) as advance:
        last = [0]

        def on_progress(done: int, total: int | None, message: str) -> None:
            advance(done - last[0], total=total)
            last[0] = done

        report = run_detection(file, detectors=names, max_frames=max_frames, on_progress=on_progress,
                               keep_analysis=html_out is not None)
    if html_out is not None:
        report.write_html(html_out)
    if as_json:
        data = report.to_dict()
        if html_out is not None:
            data["html"] = str(html_out)
        print_json(data)
        return
    v = report.verdict
    prob = "-" if v.probability is None else f"{v.probability:.2f}"
    console.print(f"[bold]{file.name}[/bold]: [bold]{v.band.upper()}[/bold] (probability {prob})")
    table = Table("detector", "score", "weight", "finding")
    contrib = {c.detector: c for c in v.contributions}
    for r in report.results:
        score = f"{r.clip_score:.2f}" if r.applicable and r.clip_score is not None else "n/a"
        c = contrib.get(r.detector)
        weight = f"{c.weight:+.2f}" if c else ("override" if r.detector == "provenance" else "-")
        table.add_row(r.detector, score, weight, r.explanation)
    console.print(table)
    console.print(report.summary)
    if html_out is not None:
        console.print(f"report: {html_out}")
