"""``dftk train``, ``reenact``, ``lipsync``, ``swap`` and ``demo``.

Training goes through :func:`toolkit.jobs.train.run_training`, generation through
:func:`toolkit.jobs.generate.run_generation` (consent gate, identity checks, the core
output writer). Ctrl-C asks the job to stop at its next step: training keeps a
checkpoint that the next run resumes from, generation leaves no file; a second Ctrl-C
stops at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer
from rich.table import Table

from toolkit.cli import app
from toolkit.cli.output import console, err_console, print_json

_JSON = typer.Option(False, "--json", help="Machine-readable output (the job id and its result).")
_CONSENT = typer.Option(..., "--consent", "-c", help="Consent record id (see `dftk consent list`).")
_OUT = typer.Option(..., "--output", "-o", help="Output video (.mp4 or .mov), written marked and signed.")


@contextlib.contextmanager
def _cancel_on_interrupt() -> Iterator[Callable[[Any], None]]:
    """Yield an ``on_start(job)`` hook; the first Ctrl-C cancels that job, the second interrupts."""
    jobs: list[Any] = []
    if threading.current_thread() is not threading.main_thread():  # signals only work there
        yield jobs.append
        return

    def handler(signum, frame):  # noqa: ARG001
        if jobs and not jobs[-1].is_cancelled():
            jobs[-1].cancel()
            err_console.print("[yellow]stopping at the next step (Ctrl-C again to stop at once)[/yellow]")
            return
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield jobs.append
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _progress(description: str, enabled: bool) -> Iterator[Callable[[int, "int | None", str], None]]:
    if not enabled:
        yield lambda done, total=None, message="": None
        return
    from toolkit.gan.progress import console_progress

    with console_progress(description, console=err_console) as update:
        def on_progress(done: int, total: int | None = None, message: str = "") -> None:
            # Generation reports frames without a message; the consent line is one-off text.
            update(done, total, message if message.startswith(("training", "finding", "lip-sync", "evaluating"))
                   else "")

        yield on_progress


def _generate(generator: str, consent: str, output: Path, inputs: dict[str, Any], options: dict[str, Any],
              as_json: bool) -> dict:
    from toolkit.generation import GenerationRequest
    from toolkit.jobs.generate import run_generation

    request = GenerationRequest(generator=generator, consent_id=consent, output=Path(output),
                                inputs={k: str(v) for k, v in inputs.items() if v is not None}, options=options)
    with _cancel_on_interrupt() as on_start, _progress(generator, not as_json) as on_progress:
        job = run_generation(request, on_progress=on_progress, on_start=on_start)
    result = {"job_id": job.id, **(job.result or {})}
    if as_json:
        print_json(result)
    else:
        console.print(f"[bold]{result.get('path', output)}[/bold]: {result.get('frames')} frames, "
                      f"{result.get('duration', 0):.1f} s, watermark {result.get('watermark_id')}, "
                      f"consent {consent} (job {job.id}); check it with `dftk verify`")
    return result


@app.command()
def train(
    consent: str = _CONSENT,
    video: Optional[Path] = typer.Option(None, "--video", help="Recording of the subject (default: the consent "
                                                               "recording kept with a captured record)."),
    preset: str = typer.Option("quick", "--preset", help="quick (~10 min on 2 cores), standard (~3 CPU-hours) "
                                                         "or tiny (a smoke test, not a usable model)."),
    as_json: bool = _JSON,
) -> None:
    """Train the subject's personal model (and their lip-sync model when the recording has speech)."""
    from toolkit.jobs.train import run_training

    with _cancel_on_interrupt() as on_start, _progress("training", not as_json) as on_progress:
        job = run_training(consent, video, preset, on_progress=on_progress, on_start=on_start)
    result = {"job_id": job.id, **(job.result or {})}
    if as_json:
        print_json(result)
        return
    metrics = result["card"]["metrics"]
    gan = metrics.get("gan", {})
    console.print(f"personal model for [bold]{consent}[/bold]: {result['model']} ({result['preset']}, "
                  f"{result['card']['training']['steps']} steps; held-out face SSIM {gan.get('ssim', float('nan')):.3f})")
    for note in result["notes"]:
        console.print(f"  {note}")


@app.command()
def reenact(
    consent: str = _CONSENT,
    driver: Path = typer.Option(..., "--driver", help="Video whose facial motion drives the subject (anyone)."),
    output: Path = _OUT,
    no_audio: bool = typer.Option(False, "--no-audio", help="Drop the driver's audio."),
    as_json: bool = _JSON,
) -> None:
    """Animate the subject's face with another video's expressions and head motion."""
    _generate("reenact", consent, output, {"driver": driver}, {"audio": not no_audio}, as_json)


@app.command()
def lipsync(
    consent: str = _CONSENT,
    video: Path = typer.Option(..., "--video", help="Footage of the subject (their consent recording or another "
                                                    "clip of them, checked against the record)."),
    output: Path = _OUT,
    audio: Optional[Path] = typer.Option(None, "--audio", help="New speech: any audio or video file."),
    text: Optional[str] = typer.Option(None, "--text", help="New speech as text (spoken by espeak-ng)."),
    voice: str = typer.Option("en-us", "--voice", help="espeak-ng voice for --text, e.g. en-us, en-us+f3, de."),
    mouth: str = typer.Option("auto", "--mouth", help="auto, learned or envelope (how audio moves the mouth)."),
    start: float = typer.Option(0.0, "--start", help="Use the subject's video from this second."),
    end: Optional[float] = typer.Option(None, "--end", help="... up to this second."),
    as_json: bool = _JSON,
) -> None:
    """Make the subject's video speak new audio or text; the output lasts as long as the speech."""
    from toolkit.errors import InputError

    if (audio is None) == (not text):
        raise InputError("give the new speech with exactly one of --audio FILE or --text \"...\"")
    options: dict[str, Any] = {"voice": voice, "mouth": mouth, "start": start, "end": end}
    if text:
        options["text"] = text
    _generate("lipsync", consent, output, {"video": video, "audio": audio}, options, as_json)


@app.command()
def swap(
    consent: str = _CONSENT,
    target: Path = typer.Option(..., "--target", help="Destination video: the person in it gets the subject's face."),
    output: Path = _OUT,
    no_audio: bool = typer.Option(False, "--no-audio", help="Drop the destination's audio."),
    as_json: bool = _JSON,
) -> None:
    """Put the subject's face onto the person in a destination video."""
    _generate("swap", consent, output, {"target": target}, {"audio": not no_audio}, as_json)


@app.command()
def demo(
    preset: str = typer.Option("quick", "--preset", help="quick (about 10 min of training on 2 cores, cached) or "
                                                         "tiny (a smoke run; the faces will look wrong)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the outputs (default: <data dir>/demo)."),
    as_json: bool = _JSON,
) -> None:
    """End to end on the sample clips: attested consent, personal model, reenact, lip-sync, swap, verify."""
    from toolkit.cli.demo import run_demo

    def say(message: str) -> None:
        if not as_json:
            err_console.print(message)

    with _cancel_on_interrupt() as on_start:
        summary = run_demo(preset, out, say=say, on_start=on_start,
                           progress=lambda stage: _progress(stage, not as_json))
    if as_json:
        print_json(summary)
        return
    table = Table("output", "frames", "C2PA", "AI label", "consent", "watermark", "path")
    for row in summary["outputs"]:
        v = row["verify"]
        table.add_row(row["generator"], str(row["frames"]), v["state"], v["ai_label"], v["consent"],
                      v["watermark"], row["path"])
    console.print(table)
    for note in summary["notes"]:
        console.print(note)
