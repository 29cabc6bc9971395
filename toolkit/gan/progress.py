"""A rich progress bar for training on the command line.

    with console_progress("training") as progress:
        train_personal_model(video, out, consent_id, progress=progress)
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextlib.contextmanager
def console_progress(description: str = "training", console: Console | None = None
                     ) -> Iterator[Callable[[int, "int | None", str], None]]:
    """Yield a ``progress(done, total, message)`` callback drawing one bar per stage."""
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[message]}"))
    with Progress(*columns, console=console or Console(stderr=True), transient=False) as bar:
        tasks: dict[str, int] = {}

        def update(done: int, total: int | None = None, message: str = "") -> None:
            stage = message.split(":")[0] or description
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, message="")
            detail = message.split(":", 1)[1].strip() if ":" in message else ""
            bar.update(tasks[stage], completed=done, total=total, message=detail)

        yield update
