"""Consent: capture, signed records, and the gate every generation passes.

* :func:`authorize` (``toolkit.consent.gate``): the verified record for an id and scope,
  or a :class:`~toolkit.errors.ConsentError` saying why not. The core generation job
  (:func:`toolkit.jobs.generate.run_generation`) calls it before any generator runs.
* :class:`ConsentRecord`: the signed record; ``reference()`` gives the
  :class:`watermark.c2pa_manifest.ConsentRef` every output's manifest carries.
* :func:`issue_challenge`, :func:`create_captured`, :func:`create_attested`,
  :func:`revoke`: making and ending records (``dftk consent ...``).
* :func:`identity_verifier`, :func:`verify_media_identity`, :func:`check_model_binding`:
  identity binding of the face a generator uses.

Heavy modules (the face pass, capture analysis) are imported only when used.
"""

from __future__ import annotations

from typing import Any

from toolkit.consent.gate import RecordStatus, authorize, check
from toolkit.consent.record import ConsentRecord, FaceReference
from toolkit.consent.registry import ConsentRegistry, Revocation, StoredRecord

_LAZY = {
    "issue_challenge": "toolkit.consent.create",
    "create_captured": "toolkit.consent.create",
    "create_attested": "toolkit.consent.create",
    "revoke": "toolkit.consent.create",
    "CaptureRejected": "toolkit.consent.create",
    "analyse_capture": "toolkit.consent.capture",
    "CaptureReport": "toolkit.consent.capture",
    "identity_verifier": "toolkit.consent.identity",
    "verify_media_identity": "toolkit.consent.identity",
    "check_model_binding": "toolkit.consent.identity",
    "IdentityVerifier": "toolkit.consent.identity",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'toolkit.consent' has no attribute {name!r}")


__all__ = [
    "CaptureRejected",
    "CaptureReport",
    "ConsentRecord",
    "ConsentRegistry",
    "FaceReference",
    "IdentityVerifier",
    "RecordStatus",
    "Revocation",
    "StoredRecord",
    "analyse_capture",
    "authorize",
    "check",
    "check_model_binding",
    "create_attested",
    "create_captured",
    "identity_verifier",
    "issue_challenge",
    "revoke",
    "verify_media_identity",
]
