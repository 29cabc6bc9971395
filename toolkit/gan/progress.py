"""A rich progress bar for training on the command line.

    with console_progress("training") as progress:
        train_personal_model(video, out, consent_id, progress=progress)
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column


@contextlib.contextmanager
def console_progress(description: str = "training", console: Console | None = None
                     ) -> Iterator[Callable[[int, "int | None", str], None]]:
    """Yield a ``progress(done, total, message)`` callback drawing one bar per stage."""
    console = console or Console(stderr=True)
    # On a narrow terminal the loss message gives way first; stage names, counts and times
    # keep their width (rich otherwise squeezes every column and cuts "50/800" to "50/8…").
    keep = lambda: Column(no_wrap=True)  # noqa: E731
    message_width = max(8, console.width - 70)  # what the other columns leave (stage names up to ~30)
    columns = (TextColumn("[bold]{task.description}", table_column=keep()), BarColumn(bar_width=10),
               MofNCompleteColumn(table_column=keep()), TimeElapsedColumn(table_column=keep()),
               TimeRemainingColumn(table_column=keep()),
               TextColumn("{task.fields[message]}",
                          table_column=Column(no_wrap=True, overflow="ellipsis", max_width=message_width)))
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def update(done: int, total: int | None = None, message: str = "") -> None:
            stage = message.split(":")[0] or description
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, message="")
            detail = message.split(":", 1)[1].strip() if ":" in message else ""
            bar.update(tasks[stage], completed=done, total=total, message=detail)

        yield update
