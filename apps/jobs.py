"""Run long work from a Gradio handler as a tracked toolkit job.

Every long action goes through a toolkit job runner (:func:`toolkit.jobs.run_job`, or the
toolkit's own wrappers of it such as ``run_generation`` and ``run_detection``), so it is
persisted in the JobStore like a CLI job. :func:`progress_feeder` turns the job's progress
callbacks into ``gr.Progress`` updates, and :func:`tracked` records the running job under
the browser session so the tab's Cancel button can reach it: cancelling sets the job's
flag and the request in the store; the work stops at its next check and the handler ends
with a "cancelled" message.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import gradio as gr

from toolkit.jobs import Job, JobRecord, JobStore, run_job


class SessionJobs:
    """Running jobs per (session, tab), so a Cancel button stops only its own tab's work."""

    def __init__(self) -> None:
        self._running: dict[tuple[str, str], dict[str, Job]] = {}
        self._lock = threading.Lock()

    def started(self, key: tuple[str, str], job: Job) -> None:
        with self._lock:
            self._running.setdefault(key, {})[job.id] = job

    def finished(self, key: tuple[str, str], job: Job) -> None:
        with self._lock:
            jobs = self._running.get(key, {})
            jobs.pop(job.id, None)
            if not jobs:
                self._running.pop(key, None)

    def running(self, key: tuple[str, str]) -> list[Job]:
        with self._lock:
            return list(self._running.get(key, {}).values())

    def cancel(self, key: tuple[str, str]) -> int:
        """Ask every job of ``key`` to stop; returns how many were asked."""
        jobs = self.running(key)
        for job in jobs:
            job.cancel()
            job.store.request_cancel(job.id)
        return len(jobs)


def session_key(request: gr.Request | None, tab: str) -> tuple[str, str]:
    session = getattr(request, "session_hash", None) or "no-session"
    return (session, tab)


def progress_feeder(progress: gr.Progress | None, label: str) -> Callable[[int, int | None, str], None]:
    """A toolkit progress callback (``done, total, message``) that moves a ``gr.Progress`` bar."""

    def feed(done: int, total: int | None, message: str = "") -> None:
        if progress is None:
            return
        desc = message or label
        if total:
            progress((min(done, total), total), desc=desc, unit="steps")
        else:
            progress((done, None), desc=desc, unit="steps")

    return feed


@contextmanager
def tracked(jobs: SessionJobs, key: tuple[str, str]) -> Iterator[Callable[[Job], None]]:
    """Yield an ``on_start`` callback for a toolkit job runner; the job is reachable by the
    session's Cancel button until the block ends."""
    started: list[Job] = []

    def on_start(job: Job) -> None:
        started.append(job)
        jobs.started(key, job)

    try:
        yield on_start
    finally:
        for job in started:
            jobs.finished(key, job)


def run_tracked(
    kind: str,
    params: dict[str, Any],
    work: Callable[[Job], dict[str, Any]],
    *,
    jobs: SessionJobs,
    key: tuple[str, str],
    progress: gr.Progress | None = None,
    store: JobStore | None = None,
) -> JobRecord:
    """Run ``work`` as a job of ``kind``; raises what the work raised (typed errors)."""
    if progress is not None:
        progress(0, desc=f"{kind}: starting")
    with tracked(jobs, key) as on_start:
        return run_job(kind, params, work, store=store, on_progress=progress_feeder(progress, kind),
                       on_start=on_start)


def run_tracked_generation(request: Any, *, jobs: SessionJobs, key: tuple[str, str],
                           progress: gr.Progress | None = None, host: Any = None) -> JobRecord:
    """:func:`toolkit.jobs.generate.run_generation` (consent gate, generator, output writer)
    with the same progress and cancel wiring as :func:`run_tracked`."""
    from toolkit.jobs.generate import run_generation

    if progress is not None:
        progress(0, desc=f"{request.generator}: checking consent")
    with tracked(jobs, key) as on_start:
        return run_generation(request, on_progress=progress_feeder(progress, request.generator),
                              on_start=on_start, host=host)


def wire_cancel(button: Any, jobs: SessionJobs, tab: str, events: list[Any]) -> None:
    """Make ``button`` stop this session's running ``tab`` jobs and reset ``events``.

    The toolkit job sees its cancel flag at its next check and ends as "cancelled" in the
    JobStore; Gradio's own ``cancels`` releases the browser at once.
    """

    def cancel(request: gr.Request) -> None:
        if jobs.cancel(session_key(request, tab)):
            gr.Info("Cancelling: the job stops at its next checkpoint.")

    button.click(cancel, inputs=None, outputs=None, cancels=events, queue=False, api_name=f"cancel_{tab}",
                 api_visibility="undocumented")
