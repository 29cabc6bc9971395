"""The job runner: persisted status, progress, failures and cancellation."""

from __future__ import annotations

import threading

import pytest

from toolkit.errors import InputError, JobCancelled
from toolkit.jobs import JobStore, run_job


def test_successful_job_is_persisted(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    seen = []

    def work(job):
        for i in range(1, 11):
            job.progress(i, 10, f"frame {i}")
        return {"frames": 10}

    record = run_job("detect", {"file": "x.mp4"}, work, store=store, on_progress=lambda d, t, m: seen.append(d))
    assert record.state == "succeeded" and record.result == {"frames": 10}
    assert (record.done, record.total) == (10, 10)
    assert seen == list(range(1, 11))
    again = JobStore(tmp_path / "jobs.db").get(record.id)  # another process sees it
    assert again.state == "succeeded" and again.params == {"file": "x.mp4"}


def test_failed_job_records_the_error(tmp_path):
    store = JobStore(tmp_path / "jobs.db")

    def work(job):
        raise InputError("clip.mp4: the file is empty")

    with pytest.raises(InputError):
        run_job("detect", {}, work, store=store)
    (record,) = store.list()
    assert record.state == "failed"
    assert record.error == {"error": "bad_input", "message": "clip.mp4: the file is empty"}


def test_cancellation_from_another_handle(tmp_path):
    store = JobStore(tmp_path / "jobs.db")
    started = threading.Event()
    job_ids = []

    def work(job):
        job_ids.append(job.id)
        started.set()
        for i in range(10_000):
            job.progress(i, 10_000)
            job.check_cancelled()
            threading.Event().wait(0.001)
        return {}

    def cancel_soon():
        started.wait(5)
        JobStore(tmp_path / "jobs.db").request_cancel(job_ids[0])  # e.g. the web app

    threading.Thread(target=cancel_soon).start()
    with pytest.raises(JobCancelled):
        run_job("generate", {}, work, store=store)
    record = store.get(job_ids[0])
    assert record.state == "cancelled" and record.done < 9_999
