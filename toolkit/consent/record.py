"""The consent record: what a subject (or an attesting operator) agreed to, signed.

A record is an immutable, signed JSON document. Its *body* (every field but the
signature) is serialised canonically (sorted keys, no whitespace, UTF-8) and signed with
the installation key (:mod:`toolkit.consent.keys`). The record's hash, which every output's
C2PA manifest carries, is the sha256 of the canonical *signed* record (body + signature),
so a manifest pins exactly one signed document.

Revocation is not part of the record (a signed document cannot change); the registry keeps
signed revocation entries beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from toolkit.generation import SCOPES

RECORD_VERSION = 1
KINDS = ("captured", "attested")

SCOPE_DESCRIPTIONS = {
    "reenact": "animating my face from someone else's movements (reenactment)",
    "lipsync": "changing my mouth to match new speech (lip-sync)",
    "swap": "putting my face onto other footage (face swap)",
}


def canonical_json(data: Any) -> bytes:
    """The one byte serialisation that is signed and hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def format_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class FaceReference:
    """The subject's face, kept for identity matching.

    ``image_sha256`` pins an aligned RGB crop (PNG, stored in the registry beside the
    record): ``size`` pixels square, aligned to the 5-point template of
    :func:`toolkit.faces.align_face` with ``padding``. Embeddings are computed from it when
    needed, by whichever embedder backend is installed then, so the record does not depend
    on one embedding model. ``source_sha256`` is the file the face was taken from.
    """

    image_sha256: str
    size: int
    padding: float
    source_sha256: str
    frame_index: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FaceReference":
        return cls(
            image_sha256=str(data["image_sha256"]),
            size=int(data["size"]),
            padding=float(data["padding"]),
            source_sha256=str(data["source_sha256"]),
            frame_index=int(data.get("frame_index", 0)),
        )


@dataclass(frozen=True)
class ConsentRecord:
    """One signed consent record.

    ``kind`` is "captured" (the subject recorded themselves reading ``statement``, which
    contains the toolkit's ``challenge`` phrase; ``evidence_sha256`` is that recording and
    ``capture`` summarises the checks it passed) or "attested" (``operator`` attests that
    the subject signed a release elsewhere; ``evidence_sha256`` is that release document).
    """

    id: str
    kind: str
    subject: str
    statement: str
    scopes: tuple[str, ...]
    created: str  # ISO 8601 UTC, e.g. 2025-01-31T12:00:00Z
    expires: str
    evidence_sha256: str
    face: FaceReference
    key_id: str  # fingerprint of the installation key that signed it
    challenge: str | None = None
    operator: str | None = None
    capture: dict | None = None  # the measured checks, for captured records
    version: int = RECORD_VERSION
    signature: str = field(default="", compare=False)  # base64 Ed25519 over canonical body

    # -- serialisation --------------------------------------------------------------------
    def body(self) -> dict:
        """Everything that is signed (all fields but the signature)."""
        data = {
            "version": self.version,
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "statement": self.statement,
            "challenge": self.challenge,
            "scopes": list(self.scopes),
            "created": self.created,
            "expires": self.expires,
            "evidence_sha256": self.evidence_sha256,
            "face": self.face.to_dict(),
            "operator": self.operator,
            "capture": self.capture,
            "key_id": self.key_id,
        }
        return data

    def signing_bytes(self) -> bytes:
        return canonical_json(self.body())

    def document(self) -> dict:
        return {**self.body(), "signature": self.signature}

    def document_bytes(self) -> bytes:
        """The canonical signed record, as stored in the registry."""
        return canonical_json(self.document())

    @property
    def sha256(self) -> str:
        """sha256 of the canonical signed record: what output manifests reference."""
        return hashlib.sha256(self.document_bytes()).hexdigest()

    @classmethod
    def from_document(cls, data: dict) -> "ConsentRecord":
        """Parse a stored document (KeyError/TypeError/ValueError when malformed)."""
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            subject=str(data["subject"]),
            statement=str(data["statement"]),
            scopes=tuple(str(s) for s in data["scopes"]),
            created=str(data["created"]),
            expires=str(data["expires"]),
            evidence_sha256=str(data["evidence_sha256"]),
            face=FaceReference.from_dict(data["face"]),
            key_id=str(data["key_id"]),
            challenge=data.get("challenge"),
            operator=data.get("operator"),
            capture=data.get("capture"),
            version=int(data["version"]),
            signature=str(data.get("signature", "")),
        )

    # -- meaning --------------------------------------------------------------------------
    @property
    def attested(self) -> bool:
        return self.kind == "attested"

    @property
    def created_at(self) -> dt.datetime:
        return parse_time(self.created)

    @property
    def expires_at(self) -> dt.datetime:
        return parse_time(self.expires)

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or utc_now()) >= self.expires_at

    def grants(self, scope: str) -> bool:
        return scope in self.scopes

    def reference(self):
        """The :class:`watermark.c2pa_manifest.ConsentRef` an output's manifest carries."""
        from watermark.c2pa_manifest import ConsentRef

        return ConsentRef(record_id=self.id, record_sha256=self.sha256, kind=self.kind,
                          operator=self.operator if self.attested else None)

    def model_binding(self) -> dict:
        """What a personal model trained from this record stores (see :func:`check_model_binding`)."""
        return {"consent_id": self.id, "consent_sha256": self.sha256}


def validate_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Deduplicated scopes in canonical order; ValueError names an unknown one."""
    cleaned = [s.strip().lower() for s in scopes if s.strip()]
    unknown = [s for s in cleaned if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    if not cleaned:
        raise ValueError(f"at least one scope is needed ({', '.join(SCOPES)})")
    return tuple(s for s in SCOPES if s in cleaned)
