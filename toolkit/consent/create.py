"""Making records: issue a challenge, accept a capture, attest a release, revoke.

Every record is built, signed with the installation key and stored in one step; nothing
half-made reaches the registry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from pathlib import Path
from typing import Any, Callable

import numpy as np

from toolkit.consent import keys
from toolkit.consent.capture import CaptureReport, analyse_capture
from toolkit.consent.challenge import Challenge, make_challenge
from toolkit.consent.identity import encode_png, make_face_reference, single_face_keypoints
from toolkit.consent.record import (
    SCOPE_DESCRIPTIONS,
    ConsentRecord,
    FaceReference,
    format_time,
    parse_time,
    utc_now,
    validate_scopes,
)
from toolkit.consent.registry import ConsentRegistry, Revocation
from toolkit.errors import ConsentError, InputError, NoFaceError
from toolkit.hashing import sha256_file

DEFAULT_VALIDITY = dt.timedelta(days=365)
ATTESTED_FACE_SAMPLES = 12  # frames of a footage clip searched for the reference face


class CaptureRejected(ConsentError):
    """The recording failed one or more capture checks; ``report`` says which and why."""

    kind = "capture_rejected"

    def __init__(self, report: CaptureReport):
        reasons = "; ".join(f"{c.name}: {c.message}" for c in report.failures)
        super().__init__(f"consent capture rejected: {reasons}")
        self.report = report

    def to_dict(self) -> dict:
        return {**super().to_dict(), "checks": [c.to_dict() for c in self.report.checks]}


def new_record_id() -> str:
    return "cr_" + secrets.token_hex(8)


def consent_expiry(expires: str | dt.datetime | None = None, days: int | None = None,
                   now: dt.datetime | None = None) -> dt.datetime:
    """Expiry from an ISO date/time (a bare date means the end of that day, UTC) or a day count."""
    now = now or utc_now()
    if expires is not None and days is not None:
        raise InputError("give either an expiry date or a number of days, not both")
    if days is not None:
        if days <= 0:
            raise InputError("the consent must last at least one day")
        when = now + dt.timedelta(days=days)
    elif expires is None:
        when = now + DEFAULT_VALIDITY
    elif isinstance(expires, dt.datetime):
        when = expires if expires.tzinfo else expires.replace(tzinfo=dt.timezone.utc)
    else:
        text = expires.strip()
        try:
            if len(text) == 10:
                when = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
            else:
                when = parse_time(text)
        except ValueError:
            raise InputError(f"expiry {expires!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    if when <= now:
        raise InputError(f"the expiry {format_time(when)} is not in the future")
    return when.astimezone(dt.timezone.utc).replace(microsecond=0)


def _scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    try:
        return validate_scopes(scopes)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _subject(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InputError("the subject's name is needed")
    return name


def _sign(record: ConsentRecord) -> ConsentRecord:
    key_id = keys.signing_key_id()
    unsigned = dataclasses.replace(record, key_id=key_id, signature="")
    signed_by, signature = keys.sign(unsigned.signing_bytes())
    assert signed_by == key_id
    return dataclasses.replace(unsigned, signature=signature)


def _file_sha256(path: Path, what: str) -> str:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {what}")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the {what} is empty")
    return sha256_file(path)


# --- captured consent ---------------------------------------------------------------------------


def issue_challenge(subject: str, scopes: list[str] | tuple[str, ...], expires: str | dt.datetime | None = None,
                    days: int | None = None, registry: ConsentRegistry | None = None) -> Challenge:
    """A fresh challenge phrase and the statement the subject will read."""
    challenge = make_challenge(_subject(subject), _scopes(scopes), consent_expiry(expires, days))
    (registry or ConsentRegistry()).add_challenge(challenge)
    return challenge


def _usable_challenge(challenge_id: str, registry: ConsentRegistry) -> Challenge:
    challenge = registry.get_challenge(challenge_id.strip())
    if challenge is None:
        raise ConsentError(f"unknown challenge {challenge_id!r}; issue one with `dftk consent challenge`")
    if challenge.used_by:
        raise ConsentError(f"challenge {challenge.id} was already used for record {challenge.used_by}; "
                           "issue a new one")
    if utc_now() >= parse_time(challenge.expires):
        raise ConsentError(f"challenge {challenge.id} expired at {challenge.expires}; issue a new one and "
                           "record again")
    if utc_now() >= parse_time(challenge.consent_expires):
        raise ConsentError(f"the consent in challenge {challenge.id} would already have expired")
    return challenge


def create_captured(challenge_id: str, recording: Path | str, registry: ConsentRegistry | None = None,
                    host: Any = None, on_progress: Callable[[int, int | None], None] | None = None,
                    is_cancelled: Callable[[], bool] | None = None) -> tuple[ConsentRecord, CaptureReport]:
    """Check ``recording`` against the capture checks and store a signed record.

    Raises :class:`CaptureRejected` (with the full report) when a check fails.
    """
    registry = registry or ConsentRegistry()
    challenge = _usable_challenge(challenge_id, registry)
    report = analyse_capture(recording, host=host, on_progress=on_progress, is_cancelled=is_cancelled)
    if not report.passed:
        raise CaptureRejected(report)
    obs = report.observations
    assert obs.reference_crop is not None  # one_face passed
    png = encode_png(obs.reference_crop)
    from toolkit.consent.identity import REFERENCE_PADDING, REFERENCE_SIZE

    face = FaceReference(image_sha256=hashlib.sha256(png).hexdigest(), size=REFERENCE_SIZE,
                         padding=REFERENCE_PADDING, source_sha256=obs.sha256, frame_index=int(obs.reference_index))
    record = _sign(ConsentRecord(
        id=new_record_id(),
        kind="captured",
        subject=challenge.subject,
        statement=challenge.statement,
        challenge=challenge.phrase,
        scopes=challenge.scopes,
        created=format_time(utc_now()),
        expires=challenge.consent_expires,
        evidence_sha256=obs.sha256,
        face=face,
        key_id="",
        capture=report.summary(),
    ))
    # The recording is the subject's training data (dftk train): keep it beside the registry.
    from toolkit.consent.evidence import delete_evidence, keep_evidence

    keep_evidence(record.id, recording, obs.sha256, registry)
    try:
        registry.add_record_for_challenge(record, png, challenge.id)
    except BaseException:
        delete_evidence(record.id, registry)
        raise
    return record, report


# --- attested consent ---------------------------------------------------------------------------


def attestation_statement(operator: str, subject: str, scopes: tuple[str, ...], expires: dt.datetime,
                          release_sha256: str) -> str:
    uses = "; ".join(SCOPE_DESCRIPTIONS[s] for s in scopes)
    return (f"{operator} attests that {subject} signed a release, outside this toolkit, agreeing that synthetic "
            f"video of their face may be created for: {uses}, until {expires.strftime('%Y-%m-%d %H:%M')} UTC. "
            f"Release document sha256 {release_sha256}.")


def _reference_from_footage(path: Path, host: Any) -> tuple[np.ndarray, dict, int]:
    """A frame of ``path`` (photo or clip) showing exactly one face, the most frontal one found."""
    from toolkit.consent.capture import _frontal_score
    from toolkit.consent.identity import face_pipeline, subject_faces
    from toolkit.media import VideoReader, is_image_path, read_image

    if is_image_path(path):
        image = read_image(path)
        return image, single_face_keypoints(image, host, path.name), 0
    pipeline = face_pipeline(host, keep_images=False)
    reader = VideoReader(path, max_side=1280)
    total = max(reader.frame_count, 1)
    wanted = set(np.linspace(0, total - 1, min(ATTESTED_FACE_SAMPLES, total)).round().astype(int).tolist())
    best: tuple[float, np.ndarray | None, dict | None, int] = (np.inf, None, None, -1)
    counts = []
    for frame in reader:
        if frame.index not in wanted:
            continue
        faces = subject_faces([f for f in pipeline.process_image(frame.image).faces if f.mesh is not None])
        counts.append(len(faces))
        if len(faces) == 1:
            score = _frontal_score(faces[0].mesh.landmarks)
            if score < best[0]:
                best = (score, frame.image, faces[0].mesh.keypoints, frame.index)
    if best[1] is None:
        if counts and max(counts) > 1:
            raise InputError(f"{path.name}: every sampled frame shows several faces; give a photo or clip of "
                             "the subject alone for the face reference")
        raise NoFaceError(f"{path.name}: no face found for the face reference")
    return best[1], best[2], best[3]


def create_attested(subject: str, operator: str, release: Path | str, face_source: Path | str,
                    scopes: list[str] | tuple[str, ...], expires: str | dt.datetime | None = None,
                    days: int | None = None, registry: ConsentRegistry | None = None,
                    host: Any = None) -> ConsentRecord:
    """An operator-attested record for footage whose subject signed a release elsewhere.

    ``release`` is the signed release document (only its sha256 is kept); ``face_source``
    is a photo or clip of the subject (the footage itself, usually) for the face reference.
    """
    from toolkit.plugins import get_host

    operator = " ".join((operator or "").split())
    if not operator:
        raise InputError("an attested record must name the operator who attests it")
    subject, scopes = _subject(subject), _scopes(scopes)
    when = consent_expiry(expires, days)
    release_sha = _file_sha256(Path(release), "release document")
    face_source = Path(face_source)
    source_sha = _file_sha256(face_source, "face photo or clip")
    image, keypoints, index = _reference_from_footage(face_source, host or get_host())
    face, png = make_face_reference(image, keypoints, source_sha, index)
    record = _sign(ConsentRecord(
        id=new_record_id(),
        kind="attested",
        subject=subject,
        statement=attestation_statement(operator, subject, scopes, when, release_sha),
        scopes=scopes,
        created=format_time(utc_now()),
        expires=format_time(when),
        evidence_sha256=release_sha,
        face=face,
        key_id="",
        operator=operator,
    ))
    (registry or ConsentRegistry()).add(record, png)
    return record


# --- revocation ---------------------------------------------------------------------------------


def revoke(record_id: str, reason: str = "", registry: ConsentRegistry | None = None) -> Revocation:
    """Revoke a record for good (also one that is expired or fails verification).

    The kept consent recording and the personal models trained from the record are
    deleted: nothing trained or kept for the subject outlives their consent.
    """
    from toolkit.consent.evidence import delete_evidence, delete_personal_models
    from toolkit.consent.gate import load

    registry = registry or ConsentRegistry()
    stored = load(record_id, registry)
    if stored.record is None:
        raise ConsentError(f"consent record {record_id} is unreadable and cannot be used anyway")
    revocation = registry.revoke(stored.record, reason)
    delete_evidence(stored.record.id, registry)
    delete_personal_models(stored.record.id)
    return revocation
