"""The training job: a personal model is trained only for a valid consent record, and only
on footage of that record's subject.

:func:`run_training` is to training what :func:`toolkit.jobs.generate.run_generation` is to
generation: inside a tracked job it

1. verifies the record (:func:`toolkit.consent.check`: unknown, tampered, revoked and
   expired records are refused);
2. binds the footage to the record: it must be the very file the record was made from
   (a captured record's recording, or the footage an attested record's face reference was
   taken from, by sha256), or an embedder backend must match its face to the record's face
   reference (:func:`toolkit.consent.verify_media_identity`);
3. trains with :func:`toolkit.gan.train_for_consent` (progress, cancellation with a
   resumable checkpoint, optional preview images) into the models directory, where the
   generators look for the record's model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from toolkit.errors import ConsentError
from toolkit.jobs.runner import Job, ProgressCallback, run_job
from toolkit.jobs.store import JobRecord, JobStore

JOB_KIND = "train"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified_record(consent_id: str, registry: Any = None) -> Any:
    """The record, if it verifies and is neither revoked nor expired; else ConsentError."""
    from toolkit.consent import check
    from toolkit.consent.gate import load

    stored = load(consent_id, registry)
    status = check(stored)
    if not status.valid:
        raise ConsentError(status.reason)
    return stored.record


def check_footage(record: Any, footage: Path, registry: Any = None, host: Any = None) -> str:
    """How ``footage`` is bound to ``record``'s subject ("evidence", "face source" or
    "embedder"); ConsentError when it is not."""
    digest = _sha256(footage)
    if digest == record.evidence_sha256:
        return "evidence"
    if digest == record.face.source_sha256:
        return "face source"
    from toolkit.consent import identity_verifier, verify_media_identity

    try:
        verify_media_identity(footage, identity_verifier(record, registry=registry, host=host))
    except ConsentError as exc:
        raise ConsentError(f"{footage.name} is not the footage consent record {record.id} was made from, and "
                           f"its face could not be matched to the record's ({exc.message})") from None
    return "embedder"


def run_training(
    consent_id: str,
    footage: Path | str,
    preset: str = "quick",
    store: JobStore | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    on_start: Callable[[Job], None] | None = None,
    preview: Callable[[int, np.ndarray], None] | None = None,
    registry: Any = None,
    host: Any = None,
    model_dir: Path | None = None,
) -> JobRecord:
    """Train ``consent_id``'s personal model on ``footage`` as a tracked job.

    ``result`` holds the model path, the binding used and the model card's metrics.
    """
    from toolkit.gan import train_for_consent

    footage = Path(footage)
    params = {"consent_id": consent_id, "footage": footage.name, "preset": preset}

    def work(job: Job) -> dict[str, Any]:
        record = verified_record(consent_id, registry)
        binding = check_footage(record, footage, registry, host)
        job.progress(0, None, f"consent {record.id} ({record.kind}); footage bound by {binding}")
        path, card = train_for_consent(footage, record.id, preset, model_dir=model_dir, progress=job.progress,
                                       is_cancelled=job.is_cancelled, preview=preview)
        return {"model": str(path), "consent_id": record.id, "binding": binding, "preset": preset,
                "steps": card.training.get("steps"), "metrics": card.metrics}

    return run_job(JOB_KIND, params, work, store=store, on_progress=on_progress, on_start=on_start)
