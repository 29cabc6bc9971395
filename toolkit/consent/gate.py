"""The consent gate: is a record usable right now, and for this scope?

:func:`authorize` is what the core generation job calls before any generator runs; it
returns the verified record or raises :class:`~toolkit.errors.ConsentError` with the
reason. :func:`check` gives the same verdict without raising, for ``dftk consent list``
and ``show``.

Checks, in order: the id exists; the stored document parses, its signature verifies with
this installation's key and the face-reference crop matches its hash (else "tampered");
no revocation names it; it has not expired; it grants the scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from toolkit.consent import keys
from toolkit.consent.record import ConsentRecord, utc_now
from toolkit.consent.registry import ConsentRegistry, StoredRecord
from toolkit.errors import ConsentError
from toolkit.generation import SCOPES

STATES = ("valid", "revoked", "expired", "invalid")


@dataclass(frozen=True)
class RecordStatus:
    state: str  # one of STATES
    reason: str  # one line; empty when valid

    @property
    def valid(self) -> bool:
        return self.state == "valid"


def check(stored: StoredRecord, now: dt.datetime | None = None) -> RecordStatus:
    """The record's state; integrity problems win over revocation and expiry."""
    record = stored.record
    if record is None:
        return RecordStatus("invalid", f"consent record {stored.id} is unreadable ({stored.parse_error}); "
                                       "it was altered or damaged")
    if record.id != stored.id:
        return RecordStatus("invalid", f"consent record {stored.id} holds the document of {record.id}; "
                                       "it was altered")
    problem = keys.verify(record.signing_bytes(), record.signature, record.key_id)
    if problem:
        return RecordStatus("invalid", f"consent record {stored.id} failed verification: {problem}")
    if hashlib.sha256(stored.face_png).hexdigest() != record.face.image_sha256:
        return RecordStatus("invalid", f"consent record {stored.id} failed verification: its face reference "
                                       "image does not match the signed hash (it was altered)")
    if stored.revocation is not None:
        rev = stored.revocation
        why = f" ({rev.reason})" if rev.reason else ""
        return RecordStatus("revoked", f"consent record {stored.id} was revoked on {rev.revoked[:10]}{why}")
    if record.expired(now):
        return RecordStatus("expired", f"consent record {stored.id} expired on {record.expires}")
    return RecordStatus("valid", "")


def load(consent_id: str, registry: ConsentRegistry | None = None) -> StoredRecord:
    consent_id = (consent_id or "").strip()
    if not consent_id:
        raise ConsentError("no consent record named: every generation needs --consent RECORD_ID "
                           "(see `dftk consent list`)")
    stored = (registry or ConsentRegistry()).get(consent_id)
    if stored is None:
        raise ConsentError(f"unknown consent record {consent_id!r} (see `dftk consent list`)")
    return stored


def authorize(consent_id: str, scope: str, registry: ConsentRegistry | None = None,
              now: dt.datetime | None = None) -> ConsentRecord:
    """The verified record for ``consent_id`` if it grants ``scope`` now; else ConsentError."""
    if scope not in SCOPES:
        raise ConsentError(f"generator scope {scope!r} is not a consent scope ({', '.join(SCOPES)}); "
                           "it cannot be authorised")
    stored = load(consent_id, registry)
    status = check(stored, now or utc_now())
    if not status.valid:
        raise ConsentError(status.reason)
    record = stored.record
    assert record is not None
    if not record.grants(scope):
        raise ConsentError(f"consent record {record.id} does not grant {scope!r} "
                           f"(it grants {', '.join(record.scopes)})")
    return record
