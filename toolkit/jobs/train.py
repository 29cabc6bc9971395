"""The training job: a consenting subject's personal models, from a recording of that subject.

:func:`run_training` is what ``dftk train`` (and any other front end) calls. Inside a
tracked job it

1. loads the consent record and refuses one that is unknown, altered, revoked or expired
   (training is not a generation, so no scope is needed: every scope uses the model);
2. picks the recording (:func:`training_video`): by default the consent recording kept
   with a captured record; any other clip must show the record's subject, checked by the
   identity path of :mod:`toolkit.consent.identity` (refused, with the reason, when no
   face embedder is installed), unless it is the very file the record was made from;
3. trains the personal GAN (``toolkit.gan.train_for_consent``), bound to the record (its
   id and hash are kept in the model card), resumable from its checkpoint after a cancel;
4. trains the subject's audio-to-mouth model when the recording holds enough speech, or
   says why not (``toolkit.lipsync.personal``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from toolkit.errors import ConsentError, InputError
from toolkit.jobs.runner import Job, ProgressCallback, run_job
from toolkit.jobs.store import JobRecord, JobStore

JOB_KIND = "train"


def training_video(record: Any, video: Path | str | None, registry: Any = None, host: Any = None) -> tuple[Path, str]:
    """The recording to train on and how it is known to show the subject (one line)."""
    from toolkit.consent.evidence import evidence_path
    from toolkit.jobs.generate import record_media

    if video is None:
        if record.attested:
            raise InputError(f"consent record {record.id} is attested: it keeps no recording of the subject; "
                             "pass --video with footage of them (e.g. the clip given to `dftk consent attest --face`)")
        kept = evidence_path(record, registry)
        if kept is None:
            raise InputError(f"the consent recording of {record.id} is not kept in this installation (records made "
                             "before dftk kept them); pass --video with that recording")
        return kept, "the consent recording kept with the record"
    video = Path(video)
    if not video.is_file():
        raise InputError(f"{video}: no such video")
    known = record_media(video, record)
    if known:
        return video, f"{known} (its sha256 matches the record)"
    from toolkit.consent import identity_verifier, verify_media_identity

    verifier = identity_verifier(record, registry=registry, host=host)
    if not verifier.available:
        raise ConsentError(
            f"{video.name} is neither the consent recording nor the clip the record's face reference came from, "
            "and no face embedder backend is installed to check that it shows the subject of "
            f"{record.id}; train on that clip (its sha256 {record.face.source_sha256[:12]}…) or install an "
            "embedder (see docs/consent.md)")
    similarity = verify_media_identity(video, verifier)
    return video, f"checked against the record's face ({verifier.embedder.name}, similarity {similarity:.2f})"


def run_training(
    consent_id: str,
    video: Path | str | None = None,
    preset: str = "quick",
    store: JobStore | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    model_dir: Path | None = None,
    registry: Any = None,
    host: Any = None,
    on_start: Any = None,
    lipsync: bool = True,
    lipsync_steps: int = 1500,
    preview: Callable[[int, np.ndarray], None] | None = None,
) -> JobRecord:
    """Train the personal models of ``consent_id`` as a tracked job; returns its final record.

    ``result``: ``model`` (path), ``card`` (summary), ``video`` and how it was matched,
    ``lipsync`` (:class:`~toolkit.lipsync.personal.AudioModelResult` as a dict), ``notes``.
    ``preview(step, image)``: real face crops over the model's renders, a few times while the
    GAN learns (the web app's Train tab shows them).
    """
    from toolkit.consent.gate import check, load
    from toolkit.gan.config import preset_config

    preset_config(preset)  # unknown preset: a typed error before the job starts
    params = {"consent_id": consent_id, "video": str(video) if video else None, "preset": preset}

    def work(job: Job) -> dict[str, Any]:
        from toolkit.gan import train_for_consent
        from toolkit.lipsync.personal import train_personal_audio_model

        stored = load(consent_id, registry)
        status = check(stored)
        if not status.valid:
            raise ConsentError(status.reason)
        record = stored.record
        path, how = training_video(record, video, registry, host)
        job.progress(0, None, f"training on {path.name}: {how}")
        out, card = train_for_consent(path, record.id, preset, model_dir, progress=job.progress,
                                      is_cancelled=job.is_cancelled, binding=record.model_binding(),
                                      preview=preview)
        notes = [f"video: {path.name} ({how})"]
        audio = None
        if lipsync:
            audio = train_personal_audio_model(path, record.id, model_dir, steps=lipsync_steps, progress=job.progress,
                                               is_cancelled=job.is_cancelled)
            notes.append(audio.note)
        return {
            "consent_id": record.id,
            "model": str(out),
            "video": str(path),
            "video_match": how,
            "preset": card.preset,
            "card": {"created": card.created, "data": card.data, "training": card.training,
                     "metrics": card.metrics, "losses": card.losses},
            "lipsync": audio.to_dict() if audio else None,
            "notes": notes,
        }

    return run_job(JOB_KIND, params, work, store=store, on_progress=on_progress, on_start=on_start)
