"""Read and verify the C2PA manifest of any file, ours or anyone else's.

:func:`read_provenance` returns a :class:`C2paReport`: the validation state ("Trusted",
"Valid", "Invalid", or None when the file carries no manifest) with its status codes,
whether the manifest labels the content AI-generated, who signed it, and the dftk fields
(consent reference, watermark ID) when present. Files that are not media the C2PA library
can parse raise a typed :class:`toolkit.errors.InputError`, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import c2pa

from toolkit.errors import InputError, ProvenanceError, UnsupportedMediaError
from toolkit.media.probe import check_file
from watermark.c2pa_manifest import (
    CONSENT_LABEL,
    GENERATOR_LABEL,
    INGREDIENT_SHA256_KEY,
    SOFT_BINDING_LABEL,
    TRAINING_MINING_LABEL,
    WATERMARK_ALG,
    ConsentRef,
    soft_binding_id,
)
from watermark.signing import trust_anchors_pem

# IPTC digital source types that mean "made or changed by generative AI".
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "compositeSynthetic")
# Our code when the library finds a manifest but cannot validate it at all.
UNREADABLE_CODE = "io.dftk.manifest.unreadable"
# Library errors that mean "there is a manifest, and it is broken" rather than "bad file".
_BROKEN_MANIFEST_ERRORS = ("Verify", "Manifest", "Decoding", "Assertion", "AssertionNotFound", "Json", "Signature")


@dataclass(frozen=True)
class StatusEntry:
    code: str
    explanation: str = ""
    url: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SignerInfo:
    subject: str  # e.g. "CN=dftk output signer, O=..."
    issuer: str
    alg: str = ""
    serial_number: str = ""
    not_after: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IngredientInfo:
    title: str
    relationship: str
    format: str = ""
    sha256: str | None = None  # only dftk ingredients record it
    has_manifest: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class C2paReport:
    path: str
    state: str | None  # "Trusted" | "Valid" | "Invalid" | None (no manifest)
    validation_status: list[StatusEntry] = field(default_factory=list)
    ai_generated: bool = False
    digital_source_type: str | None = None
    signer: SignerInfo | None = None
    title: str | None = None
    claim_generator: str | None = None
    consent: ConsentRef | None = None
    generator: dict | None = None
    watermark_id: str | None = None
    soft_bindings: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    ingredients: list[IngredientInfo] = field(default_factory=list)
    training_mining: dict[str, str] = field(default_factory=dict)
    manifest_json: dict | None = None

    @property
    def has_manifest(self) -> bool:
        return self.state is not None

    @property
    def status_codes(self) -> list[str]:
        return [s.code for s in self.validation_status]

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "has_manifest": self.has_manifest,
            "state": self.state,
            "status_codes": self.status_codes,
            "validation_status": [s.to_dict() for s in self.validation_status],
            "ai_generated": self.ai_generated,
            "digital_source_type": self.digital_source_type,
            "signer": self.signer.to_dict() if self.signer else None,
            "title": self.title,
            "claim_generator": self.claim_generator,
            "consent": self.consent.to_dict() if self.consent else None,
            "generator": self.generator,
            "watermark_id": self.watermark_id,
            "soft_bindings": self.soft_bindings,
            "actions": self.actions,
            "ingredients": [i.to_dict() for i in self.ingredients],
            "training_mining": self.training_mining,
            "manifest_json": self.manifest_json,
        }


def read_provenance(path: Path, trust_anchors: str | None = None) -> C2paReport:
    """Read and validate ``path``'s C2PA manifest.

    ``trust_anchors`` is a PEM bundle of trusted roots; None uses :func:`trust_anchors_pem`
    (our local root plus configured ones), "" trusts nothing (a good signature is then
    "Valid", not "Trusted").
    """
    path = Path(path)
    check_file(path)
    anchors = trust_anchors_pem() if trust_anchors is None else trust_anchors
    try:
        with open(path, "rb") as f, _reader_context(anchors) as context:
            reader = c2pa.Reader.try_create(_format_hint(path), f, None, context)
            if reader is None:
                return C2paReport(path=str(path), state=None)
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
                certificate = _certificate_info(reader, store.get("active_manifest"))
    except c2pa.C2paError as exc:
        return _report_for_error(path, exc)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _report_from_store(path, store, state, certificate)


def _reader_context(anchors: str) -> c2pa.Context:
    settings: dict[str, Any] = {"verify": {"verify_trust": True}}
    if anchors.strip():
        settings["trust"] = {"trust_anchors": anchors}
    return c2pa.Context.from_dict(settings)


def _format_hint(path: Path) -> str | None:
    """The file's extension when the library knows it; None lets it sniff the bytes."""
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix and suffix in c2pa.Reader.get_supported_mime_types() else None


def _report_for_error(path: Path, exc: c2pa.C2paError) -> C2paReport:
    kind = type(exc).__name__.removeprefix("_C2pa")
    message = " ".join(str(exc).split())
    if kind == "NotSupported":
        raise UnsupportedMediaError(f"{path.name}: not a file type that can carry C2PA provenance") from None
    if kind in _BROKEN_MANIFEST_ERRORS:
        status = [StatusEntry(UNREADABLE_CODE, message[:300])]
        return C2paReport(path=str(path), state="Invalid", validation_status=status)
    raise InputError(f"{path.name}: not a readable media file ({message[:200]})") from None


def _certificate_info(reader: c2pa.Reader, label: str | None) -> dict | None:
    """Subject and issuer of the signing certificate (only the crJSON view has both)."""
    try:
        manifests = json.loads(reader.crjson()).get("manifests", [])
    except (c2pa.C2paError, ValueError):
        return None
    for manifest in manifests:
        if manifest.get("label") == label:
            return manifest.get("signature")
    return None


def _report_from_store(path: Path, store: dict, state: str | None, certificate: dict | None) -> C2paReport:
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    assertions = _assertions_by_label(manifest)
    actions = [a for label, data in assertions if label.startswith("c2pa.actions") for a in data.get("actions", [])]
    source_type = _ai_source_type(actions, manifest)
    soft_bindings = [data for label, data in assertions if label.startswith(SOFT_BINDING_LABEL)]
    return C2paReport(
        path=str(path),
        state=state,
        validation_status=[_status_entry(s) for s in store.get("validation_status", [])],
        ai_generated=source_type is not None and _short_type(source_type) in AI_SOURCE_TYPES,
        digital_source_type=source_type,
        signer=_signer(manifest, certificate),
        title=manifest.get("title"),
        claim_generator=_claim_generator(manifest),
        consent=_consent(assertions),
        generator=_first(assertions, GENERATOR_LABEL),
        watermark_id=_watermark_id(soft_bindings),
        soft_bindings=soft_bindings,
        actions=actions,
        ingredients=[_ingredient(i) for i in manifest.get("ingredients", [])],
        training_mining=_training_mining(assertions),
        manifest_json=store,
    )


def _assertions_by_label(manifest: dict) -> list[tuple[str, dict]]:
    out = []
    for assertion in manifest.get("assertions", []):
        data = assertion.get("data")
        if isinstance(data, dict):
            out.append((str(assertion.get("label", "")), data))
    return out


def _first(assertions: list[tuple[str, dict]], label: str) -> dict | None:
    return next((data for lab, data in assertions if lab == label), None)


def _short_type(source_type: str) -> str:
    return source_type.rstrip("/").rsplit("/", 1)[-1]


def _ai_source_type(actions: list[dict], manifest: dict) -> str | None:
    """The most telling digitalSourceType: an AI one if any action declares one."""
    declared = [a["digitalSourceType"] for a in actions if isinstance(a.get("digitalSourceType"), str)]
    for ingredient in manifest.get("ingredients", []):
        # Older manifests put it on the ingredient instead.
        if isinstance(ingredient.get("digital_source_type"), str):
            declared.append(ingredient["digital_source_type"])
    ai = [t for t in declared if _short_type(t) in AI_SOURCE_TYPES]
    return (ai or declared or [None])[0]


def _status_entry(raw: dict) -> StatusEntry:
    return StatusEntry(str(raw.get("code", "")), str(raw.get("explanation", "")), str(raw.get("url", "")))


def _signer(manifest: dict, certificate: dict | None) -> SignerInfo | None:
    summary = manifest.get("signature_info") or {}
    info = (certificate or {}).get("certificateInfo") or {}
    if not summary and not info:
        return None
    subject = _dn(info.get("subject")) or ", ".join(
        f"{k}={v}" for k, v in (("CN", summary.get("common_name")), ("O", summary.get("issuer"))) if v
    )
    return SignerInfo(
        subject=subject,
        issuer=_dn(info.get("issuer")),
        alg=str(summary.get("alg") or (certificate or {}).get("algorithm") or ""),
        serial_number=str(info.get("serialNumber") or summary.get("cert_serial_number") or ""),
        not_after=str((info.get("validity") or {}).get("notAfter") or ""),
    )


def _dn(name: Any) -> str:
    if isinstance(name, dict):
        return ", ".join(f"{k}={v}" for k, v in name.items())
    return str(name or "")


def _claim_generator(manifest: dict) -> str | None:
    infos = manifest.get("claim_generator_info") or []
    if infos and isinstance(infos[0], dict):
        first = infos[0]
        return " ".join(str(first[k]) for k in ("name", "version") if first.get(k))
    return manifest.get("claim_generator")


def _consent(assertions: list[tuple[str, dict]]) -> ConsentRef | None:
    data = _first(assertions, CONSENT_LABEL)
    if data is None:
        return None
    try:
        return ConsentRef.from_dict(data)
    except ProvenanceError:  # a malformed reference is reported as absent, not as a crash
        return None


def _watermark_id(soft_bindings: list[dict]) -> str | None:
    for binding in soft_bindings:
        if binding.get("alg") != WATERMARK_ALG:
            continue
        for block in binding.get("blocks", []):
            if isinstance(block, dict) and (value := soft_binding_id(str(block.get("value", "")))):
                return value
    return None


def _ingredient(raw: dict) -> IngredientInfo:
    metadata = raw.get("metadata") or {}
    return IngredientInfo(
        title=str(raw.get("title", "")),
        relationship=str(raw.get("relationship", "")),
        format=str(raw.get("format", "")),
        sha256=metadata.get(INGREDIENT_SHA256_KEY) if isinstance(metadata, dict) else None,
        has_manifest=bool(raw.get("active_manifest")),
    )


def _training_mining(assertions: list[tuple[str, dict]]) -> dict[str, str]:
    entries = (_first(assertions, TRAINING_MINING_LABEL) or {}).get("entries") or {}
    return {k: str(v.get("use")) for k, v in entries.items() if isinstance(v, dict)}
