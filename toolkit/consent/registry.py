"""The consent registry: signed records, revocations and issued challenges in SQLite.

One embedded database, ``data_dir()/consent.sqlite3``. Rows hold the canonical signed
record and the face-reference crop (PNG); nothing in a row is trusted until
:func:`toolkit.consent.gate.check` has verified the signature and the crop's hash, so a
row edited behind the toolkit's back is refused, not believed.

Revocations are signed too and kept in their own table: a record stays revoked as long
as any revocation row names it (even a damaged one: the registry fails closed).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from toolkit.consent import keys
from toolkit.consent.challenge import Challenge
from toolkit.consent.record import ConsentRecord, canonical_json, format_time, utc_now
from toolkit.errors import ConsentError
from toolkit.paths import data_dir

DB_NAME = "consent.sqlite3"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS records (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        created TEXT NOT NULL,
        document TEXT NOT NULL,
        face_png BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS revocations (
        record_id TEXT PRIMARY KEY,
        document TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS challenges (
        id TEXT PRIMARY KEY,
        document TEXT NOT NULL,
        used_by TEXT
    )""",
)


@dataclass(frozen=True)
class Revocation:
    record_id: str
    record_sha256: str
    revoked: str
    reason: str
    key_id: str
    signature: str

    def body(self) -> dict:
        return {"record_id": self.record_id, "record_sha256": self.record_sha256, "revoked": self.revoked,
                "reason": self.reason, "key_id": self.key_id}

    def to_dict(self) -> dict:
        return {**self.body(), "signature": self.signature}

    @property
    def signature_ok(self) -> bool:
        return keys.verify(canonical_json(self.body()), self.signature, self.key_id) is None


@dataclass(frozen=True)
class StoredRecord:
    """A registry row as read: the parsed record (``None`` if unreadable) and what sits beside it."""

    id: str
    record: ConsentRecord | None
    face_png: bytes
    revocation: Revocation | None
    raw_document: str
    parse_error: str | None = None


class ConsentRegistry:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else data_dir() / DB_NAME
        with closing(self._connect()) as db, db:
            for statement in _SCHEMA:
                db.execute(statement)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        return db

    # -- records --------------------------------------------------------------------------
    def add(self, record: ConsentRecord, face_png: bytes) -> None:
        if not record.signature:
            raise ConsentError("refusing to store an unsigned consent record")
        try:
            with closing(self._connect()) as db, db:
                db.execute(
                    "INSERT INTO records (id, kind, subject, created, document, face_png) VALUES (?, ?, ?, ?, ?, ?)",
                    (record.id, record.kind, record.subject, record.created,
                     record.document_bytes().decode("utf-8"), sqlite3.Binary(face_png)),
                )
        except sqlite3.IntegrityError:
            raise ConsentError(f"a consent record with id {record.id} already exists") from None

    def get(self, record_id: str) -> StoredRecord | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
            rev = db.execute("SELECT document FROM revocations WHERE record_id = ?", (record_id,)).fetchone()
        return _stored(row, rev) if row else None

    def list(self) -> list[StoredRecord]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM records ORDER BY created DESC, id").fetchall()
            revs = {r["record_id"]: r for r in db.execute("SELECT * FROM revocations").fetchall()}
        return [_stored(row, revs.get(row["id"])) for row in rows]

    def revoke(self, record: ConsentRecord, reason: str = "") -> Revocation:
        """Sign and store a revocation; revoking twice keeps the first."""
        body = {"record_id": record.id, "record_sha256": record.sha256, "revoked": format_time(utc_now()),
                "reason": reason.strip()}
        body["key_id"] = keys.signing_key_id()
        _, signature = keys.sign(canonical_json(body))
        revocation = Revocation(signature=signature, **body)
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR IGNORE INTO revocations (record_id, document) VALUES (?, ?)",
                       (record.id, json.dumps(revocation.to_dict())))
        stored = self.get(record.id)
        assert stored is not None and stored.revocation is not None
        return stored.revocation

    # -- challenges -----------------------------------------------------------------------
    def add_challenge(self, challenge: Challenge) -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO challenges (id, document) VALUES (?, ?)",
                       (challenge.id, json.dumps(challenge.to_dict())))

    def get_challenge(self, challenge_id: str) -> Challenge | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM challenges WHERE id = ?", (challenge_id,)).fetchone()
        if not row:
            return None
        data = json.loads(row["document"])
        data["scopes"] = tuple(data["scopes"])
        data["used_by"] = row["used_by"]
        return Challenge(**data)

    def add_record_for_challenge(self, record: ConsentRecord, face_png: bytes, challenge_id: str) -> None:
        """Store ``record`` and mark its challenge used, in one transaction (single use)."""
        with closing(self._connect()) as db, db:
            cur = db.execute("UPDATE challenges SET used_by = ? WHERE id = ? AND used_by IS NULL",
                             (record.id, challenge_id))
            if cur.rowcount != 1:
                raise ConsentError(f"challenge {challenge_id} was already used; ask for a new one "
                                   "with `dftk consent challenge`")
            db.execute(
                "INSERT INTO records (id, kind, subject, created, document, face_png) VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, record.kind, record.subject, record.created,
                 record.document_bytes().decode("utf-8"), sqlite3.Binary(face_png)),
            )


def _stored(row: sqlite3.Row, rev_row: sqlite3.Row | None) -> StoredRecord:
    record, error = None, None
    try:
        record = ConsentRecord.from_document(json.loads(row["document"]))
    except (ValueError, KeyError, TypeError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    revocation = None
    if rev_row is not None:
        try:
            revocation = Revocation(**json.loads(rev_row["document"]))
        except (ValueError, TypeError):
            # A damaged revocation still revokes: fail closed.
            revocation = Revocation(row["id"], "", "unknown", "revocation entry is damaged", "", "")
    return StoredRecord(id=row["id"], record=record, face_png=bytes(row["face_png"]), revocation=revocation,
                        raw_document=row["document"], parse_error=error)
