"""The consent recording, kept beside the registry as the subject's training data.

A captured record signs only the recording's sha256. The recording itself is kept too,
in ``<registry dir>/consent_evidence/<record id><suffix>``: it is what the subject gave
for their personal model (``dftk train --consent ID`` trains on it by default), and a
reviewer can play it back against the signed hash. It is not media dftk generated (it
is copied byte for byte, never re-encoded).

Revoking the record deletes the kept recording (and the personal models trained from
it, see :func:`toolkit.consent.create.revoke`): nothing trained or kept for a subject
outlives their consent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from toolkit.hashing import sha256_file
from toolkit.media.atomic import atomic_path

EVIDENCE_DIR = "consent_evidence"


def evidence_dir(registry: Any = None) -> Path:
    """Where recordings are kept: beside the registry database."""
    from toolkit.consent.registry import ConsentRegistry

    registry = registry or ConsentRegistry()
    path = Path(registry.path).parent / EVIDENCE_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep_evidence(record_id: str, recording: Path | str, sha256: str, registry: Any = None) -> Path:
    """Copy ``recording`` into the evidence folder (atomically) after checking its hash."""
    recording = Path(recording)
    dest = evidence_dir(registry) / f"{record_id}{recording.suffix.lower() or '.mp4'}"
    with atomic_path(dest) as tmp:
        shutil.copyfile(recording, tmp)
        if sha256_file(tmp) != sha256:
            raise ValueError(f"{recording.name} changed while it was being kept")
        os.chmod(tmp, 0o600)  # the subject's face and voice: not for other users of the machine
    return dest


def evidence_path(record: Any, registry: Any = None) -> Path | None:
    """The kept recording of a captured ``record`` whose content still matches its signed hash."""
    folder = evidence_dir(registry)
    for path in sorted(folder.glob(f"{record.id}.*")):
        if path.name.endswith(".part") or path.name.startswith("."):
            continue
        if sha256_file(path) == record.evidence_sha256:
            return path
    return None


def delete_evidence(record_id: str, registry: Any = None) -> list[Path]:
    removed = []
    for path in evidence_dir(registry).glob(f"{record_id}.*"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# Files a personal model of a record consists of in the models folder (toolkit.gan.model_path,
# its training checkpoint, and the lip-sync audio model beside it). Named here rather than
# imported so revoking does not load torch.
PERSONAL_MODEL_SUFFIXES = (".pt", ".pt.ckpt", ".audio2mouth.pt")


def delete_personal_models(record_id: str, model_dir: Path | None = None) -> list[Path]:
    """Delete the personal models trained from ``record_id`` in the default models folder."""
    from toolkit.paths import data_dir

    folder = Path(model_dir) if model_dir else data_dir() / "models"
    removed = []
    for suffix in PERSONAL_MODEL_SUFFIXES:
        path = folder / f"{record_id}{suffix}"
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed
