"""``dftk train-detector``: fit a detector's weights or parameters from real media only."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from toolkit.cli import app
from toolkit.cli.output import console, err_console, print_json, progress_bar

KINDS = ("blend", "spectral", "temporal", "rppg", "avsync")


@app.command("train-detector")
def train_detector(
    kind: str = typer.Argument(..., help=f"Which detector to train: {', '.join(KINDS)}."),
    data: List[Path] = typer.Argument(..., help="Real videos/photos, or folders of them (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Weights/parameters file to write (.pt for blend, .json for the others)."),
    steps: int = typer.Option(1500, help="blend: training steps (batches)."),
    minutes: Optional[float] = typer.Option(None, help="blend: wall-clock budget; training stops (with a decayed learning rate) when spent."),
    batch: int = typer.Option(16, help="blend: real/self-blended pairs per batch."),
    size: int = typer.Option(128, help="blend: crop side in pixels."),
    seed: int = typer.Option(0, help="Random seed."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="blend: continue training these weights."),
    lr: float = typer.Option(2e-3, help="blend: peak learning rate."),
    note: Optional[str] = typer.Option(None, help="A line for the model card about the data (who is in it, consent)."),
    as_json: bool = typer.Option(False, "--json", help="Print the training record as JSON."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log the loss every 25 steps."),
) -> None:
    """Train a detector on real media only.

    blend: CNN on self-blended images; spectral: logistic regression against synthetic
    artefacts; temporal/rppg: one-class calibration on real clips; avsync: constructed pairs.

    Writes the weights and a model card (<out stem>.card.json and .md) beside them.
    """
    from toolkit.errors import InputError
    from toolkit.jobs import run_job

    if kind not in KINDS:
        raise InputError(f"unknown detector kind {kind!r}; one of {', '.join(KINDS)}")
    files = _media_files(data)
    expected = ".pt" if kind == "blend" else ".json"  # the others are small fitted parameter sets
    if out.suffix.lower() != expected:
        raise InputError(f"{out.name}: the {kind} detector is saved as a {expected} file")

    with progress_bar(f"training {kind}", total=None, enabled=not as_json) as advance:
        last = [0]

        def on_progress(done: int, total: int | None, message: str) -> None:
            advance(done - last[0], total=total)  # negative when a new phase starts
            last[0] = done

        def log(line: str) -> None:
            if verbose:
                err_console.print(line)

        def work(job) -> dict:
            def progress(done: int, total: int | None = None, message: str = "") -> None:
                job.progress(done, total, message)

            if kind == "blend":
                from toolkit.detection.train_blend import TrainConfig, train_blend, write_blend_card

                config = TrainConfig(steps=steps, batch_pairs=batch, input_size=size, max_minutes=minutes, seed=seed,
                                     lr=lr, init_from=str(init_from) if init_from else None)
                record = train_blend(files, out, config, progress=progress, is_cancelled=job.is_cancelled, log=log)
                write_blend_card(out, record, note)
            elif kind == "spectral":
                from toolkit.detection.spectral import fit_spectral, write_spectral_card

                record = fit_spectral(files, out, seed=seed, progress=progress, is_cancelled=job.is_cancelled)
                write_spectral_card(out, record, note)
            else:
                from toolkit.detection import fit_signals

                fit = {"temporal": fit_signals.fit_temporal, "rppg": fit_signals.fit_rppg}.get(kind)
                if fit is None:
                    record = fit_signals.fit_avsync(files, out, seed=seed, progress=progress,
                                                    is_cancelled=job.is_cancelled)
                else:
                    record = fit(files, out, progress=progress, is_cancelled=job.is_cancelled)
                fit_signals.write_signal_card(out, kind, record, note)
            return {"out": str(out), "record": record}

        record = run_job(f"train-{kind}", {"data": [str(p) for p in files], "out": str(out)}, work,
                         on_progress=on_progress)
    result = record.result or {}
    if as_json:
        print_json(result)
        return
    rec = result.get("record", {})
    console.print(f"wrote {out}")
    for key in ("steps", "stopped_by", "validation_self_blended", "validation", "seconds"):
        if key in rec:
            console.print(f"  {key}: {rec[key]}")


def _media_files(data: list[Path]) -> list[Path]:
    from toolkit.detection.train_blend import find_media

    files: list[Path] = []
    for item in data:
        files.extend(find_media(item))
    return files
