"""Persisted job status in SQLite (the embedded default) under the user data dir.

Any process (CLI, web app workers) can read a job's progress or ask it to cancel; the
runner polls :meth:`JobStore.cancel_requested` between frames.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolkit.paths import data_dir

STATES = ("queued", "running", "succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
)
"""


@dataclass
class JobRecord:
    id: str
    kind: str
    state: str
    params: dict[str, Any]
    done: int
    total: int | None
    message: str
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    cancel_requested: bool
    created: float
    updated: float

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")

    def to_dict(self) -> dict:
        return asdict(self)


class JobStore:
    def __init__(self, path: Path | None = None):
        self.path = path or data_dir() / "jobs.sqlite3"
        with closing(self._connect()) as db, db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def create(self, kind: str, params: dict[str, Any]) -> str:
        job_id = uuid.uuid4().hex[:12]
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO jobs (id, kind, state, params, created, updated) VALUES (?, ?, 'queued', ?, ?, ?)",
                (job_id, kind, json.dumps(params, default=str), now, now),
            )
        return job_id

    def update(self, job_id: str, **fields: Any) -> None:
        for key in ("result", "error", "params"):
            if key in fields and fields[key] is not None:
                fields[key] = json.dumps(fields[key], default=str)
        if "state" in fields and fields["state"] not in STATES:
            raise ValueError(f"unknown job state {fields['state']!r}")
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with closing(self._connect()) as db, db:
            db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*fields.values(), job_id))

    def get(self, job_id: str) -> JobRecord | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _record(row) if row else None

    def list(self, limit: int = 50) -> list[JobRecord]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [_record(r) for r in rows]

    def request_cancel(self, job_id: str) -> bool:
        with closing(self._connect()) as db, db:
            cur = db.execute(
                "UPDATE jobs SET cancel_requested = 1, updated = ? WHERE id = ? AND state IN ('queued', 'running')",
                (time.time(), job_id),
            )
            return cur.rowcount > 0

    def cancel_requested(self, job_id: str) -> bool:
        with closing(self._connect()) as db:
            row = db.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])


def _record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        id=row["id"],
        kind=row["kind"],
        state=row["state"],
        params=json.loads(row["params"]),
        done=row["done"],
        total=row["total"],
        message=row["message"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=json.loads(row["error"]) if row["error"] else None,
        cancel_requested=bool(row["cancel_requested"]),
        created=row["created"],
        updated=row["updated"],
    )
