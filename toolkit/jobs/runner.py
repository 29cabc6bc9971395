"""Run one unit of long work (a generation or a detection) as a tracked job.

:func:`run_job` records the job in the :class:`~toolkit.jobs.store.JobStore`, hands the
work function a :class:`Job` for progress and cancellation, and stores the outcome. The
CLI and the web app both go through it; generation jobs add the consent check and the
output writer in :mod:`toolkit.jobs.generate`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from toolkit.errors import DftkError, JobCancelled
from toolkit.jobs.store import JobRecord, JobStore

ProgressCallback = Callable[[int, "int | None", str], None]

# Progress is written to SQLite at most this often; in-process callbacks get every update.
_DB_INTERVAL_S = 0.5


class Job:
    """What a work function sees: report progress, check for cancellation."""

    def __init__(self, store: JobStore, job_id: str, on_progress: ProgressCallback | None = None):
        self.store = store
        self.id = job_id
        self._on_progress = on_progress
        self._cancel = threading.Event()
        self._last_write = 0.0
        self._last_cancel_poll = 0.0
        self.done = 0
        self.total: int | None = None

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self.done = done
        if total is not None:
            self.total = total
        if self._on_progress:
            self._on_progress(done, self.total, message)
        now = time.monotonic()
        if now - self._last_write >= _DB_INTERVAL_S or (self.total and done >= self.total):
            self._last_write = now
            fields: dict[str, Any] = {"done": done, "total": self.total}
            if message:
                fields["message"] = message
            self.store.update(self.id, **fields)

    def cancel(self) -> None:
        """Ask the work to stop at its next check (same process)."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        if self._cancel.is_set():
            return True
        now = time.monotonic()
        if now - self._last_cancel_poll >= _DB_INTERVAL_S:  # another process may have asked
            self._last_cancel_poll = now
            if self.store.cancel_requested(self.id):
                self._cancel.set()
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self.is_cancelled():
            raise JobCancelled("the job was cancelled")


def run_job(
    kind: str,
    params: dict[str, Any],
    work: Callable[[Job], dict[str, Any]],
    store: JobStore | None = None,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[Job], None] | None = None,
) -> JobRecord:
    """Run ``work(job)`` synchronously as a tracked job and return its final record.

    The job's error is recorded and then re-raised, so callers handle failures as usual.
    """
    store = store or JobStore()
    job = Job(store, store.create(kind, params), on_progress)
    if on_start:
        on_start(job)
    store.update(job.id, state="running")
    try:
        result = work(job)
    except JobCancelled as exc:
        store.update(job.id, state="cancelled", error=exc.to_dict(), message=exc.message)
        raise
    except DftkError as exc:
        store.update(job.id, state="failed", error=exc.to_dict(), message=exc.message)
        raise
    except BaseException as exc:
        store.update(job.id, state="failed", error={"error": "internal", "message": f"{type(exc).__name__}: {exc}"},
                     message="internal error")
        raise
    store.update(job.id, state="succeeded", result=result, done=job.done, total=job.total, message="done")
    record = store.get(job.id)
    assert record is not None
    return record
