"""Jobs: one runner for long work, with progress, cancellation and persisted status."""

from toolkit.jobs.runner import Job, run_job
from toolkit.jobs.store import JobRecord, JobStore

__all__ = ["Job", "JobRecord", "JobStore", "run_job"]
