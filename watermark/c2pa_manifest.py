"""What a dftk output's C2PA manifest says, and how it is laid out.

:class:`ProvenanceInfo` carries what the output writer knows about one output;
:func:`build_manifest` turns it into the manifest definition c2pa-python signs:

* ``c2pa.actions``: ``c2pa.created`` (trainedAlgorithmicMedia) for fully synthetic media,
  or ``c2pa.opened`` (the real parent clip) + ``c2pa.edited``
  (compositeWithTrainedAlgorithmicMedia) for a real clip with a generated face/voice;
  then ``c2pa.watermarked``;
* ``c2pa.soft-binding``: our invisible-watermark ID, so a stripped file can be matched
  back to this manifest;
* ``io.dftk.consent``: which consent record authorised the output (id + sha256);
* ``io.dftk.generator``: plugin, plugin version, model, dftk version;
* ``cawg.training-mining``: AI training, inference and data mining not allowed;
* ingredients: the parent clip (``parentOf``) and other source media (``componentOf``),
  each with its title and sha256 (in the ingredient's metadata).
"""

from __future__ import annotations

import base64
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from toolkit import __version__ as DFTK_VERSION
from toolkit.hashing import sha256_file
from toolkit.errors import ProvenanceError

IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC_SOURCE_TYPE + "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_MEDIA = IPTC_SOURCE_TYPE + "compositeWithTrainedAlgorithmicMedia"
# ProvenanceInfo.source_type -> IPTC digital source type of the output.
SOURCE_TYPES = {"created": TRAINED_ALGORITHMIC_MEDIA, "composite": COMPOSITE_WITH_TRAINED_MEDIA}

WATERMARK_ALG = "io.dftk.watermark.v1"
CONSENT_LABEL = "io.dftk.consent"
GENERATOR_LABEL = "io.dftk.generator"
SOFT_BINDING_LABEL = "c2pa.soft-binding"
TRAINING_MINING_LABEL = "cawg.training-mining"
INGREDIENT_SHA256_KEY = "io.dftk.sha256"
TRAINING_MINING_USES = (
    "cawg.ai_generative_training",
    "cawg.ai_training",
    "cawg.ai_inference",
    "cawg.data_mining",
)
CONSENT_KINDS = ("captured", "attested")
PARENT_LABEL = "parent"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


@dataclass(frozen=True)
class ConsentRef:
    """Points at the consent record that authorised an output.

    ``kind`` is "captured" (the subject recorded their consent in the toolkit) or
    "attested" (an operator attests consent was obtained elsewhere; ``operator`` names them).
    """

    record_id: str
    record_sha256: str
    kind: str
    operator: str | None = None

    def __post_init__(self) -> None:
        if not self.record_id:
            raise ProvenanceError("consent reference needs a record id")
        if not _HEX64.fullmatch(self.record_sha256 or ""):
            raise ProvenanceError("consent record sha256 must be 64 lowercase hex digits")
        if self.kind not in CONSENT_KINDS:
            raise ProvenanceError(f"consent kind must be one of {', '.join(CONSENT_KINDS)}, not {self.kind!r}")
        if self.kind == "attested" and not self.operator:
            raise ProvenanceError("an attested consent reference must name its operator")

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.operator is None:
            del data["operator"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ConsentRef":
        return cls(
            record_id=str(data.get("record_id", "")),
            record_sha256=str(data.get("record_sha256", "")),
            kind=str(data.get("kind", "")),
            operator=data.get("operator"),
        )


@dataclass(frozen=True)
class ProvenanceInfo:
    """Everything the output writer knows about one generated file.

    ``source_type`` is "created" (fully synthetic) or "composite" (a real clip, ``parent``,
    with generated parts). ``components`` are other source media used (face photo,
    driving audio...). ``watermark_id`` is the hex ID embedded by the invisible watermark.
    """

    plugin: str
    plugin_version: str
    model: str
    watermark_id: str
    consent: ConsentRef | None
    source_type: str = "created"
    parent: Path | None = None
    components: tuple[Path, ...] = ()
    title: str | None = None

    def __post_init__(self) -> None:
        # Normalise so callers may pass str paths, lists and upper-case hex.
        object.__setattr__(self, "parent", Path(self.parent) if self.parent is not None else None)
        object.__setattr__(self, "components", tuple(Path(p) for p in self.components))
        object.__setattr__(self, "watermark_id", str(self.watermark_id).lower())
        if self.source_type not in SOURCE_TYPES:
            raise ProvenanceError(f"source type must be 'created' or 'composite', not {self.source_type!r}")
        if self.source_type == "composite" and self.parent is None:
            raise ProvenanceError("a composite output needs the real media it was made from as parent")
        if self.source_type == "created" and self.parent is not None:
            raise ProvenanceError("a fully synthetic ('created') output has no parent; list sources as components")
        if not _HEX.fullmatch(self.watermark_id):
            raise ProvenanceError(f"watermark id must be a hex string, not {self.watermark_id!r}")

    @property
    def digital_source_type(self) -> str:
        return SOURCE_TYPES[self.source_type]

    @property
    def software_agent(self) -> str:
        return f"dftk {DFTK_VERSION} / {self.plugin} {self.plugin_version} / {self.model}"

    def to_dict(self) -> dict:
        return {
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "model": self.model,
            "watermark_id": self.watermark_id,
            "consent": self.consent.to_dict() if self.consent else None,
            "source_type": self.source_type,
            "digital_source_type": self.digital_source_type,
            "parent": str(self.parent) if self.parent else None,
            "components": [str(p) for p in self.components],
            "title": self.title,
        }


@dataclass(frozen=True)
class IngredientSpec:
    """One source file to attach as an ingredient."""

    path: Path
    relationship: str  # "parentOf" | "componentOf"
    label: str
    sha256: str = ""

    def definition(self) -> dict:
        return {
            "title": self.path.name,
            "relationship": self.relationship,
            "label": self.label,
            "metadata": {INGREDIENT_SHA256_KEY: self.sha256},
        }


def ingredient_specs(info: ProvenanceInfo) -> list[IngredientSpec]:
    specs = []
    if info.parent is not None:
        specs.append(IngredientSpec(info.parent, "parentOf", PARENT_LABEL, file_sha256(info.parent)))
    for i, path in enumerate(info.components):
        specs.append(IngredientSpec(path, "componentOf", f"component{i}", file_sha256(path)))
    return specs


def build_manifest(info: ProvenanceInfo, title: str) -> dict:
    """The manifest definition (ingredients are added separately, with their bytes)."""
    return {
        "claim_generator_info": [{"name": "dftk", "version": DFTK_VERSION}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": _actions(info)}},
            {"label": SOFT_BINDING_LABEL, "data": _soft_binding(info.watermark_id)},
            {"label": GENERATOR_LABEL, "data": _generator(info)},
            *([{"label": CONSENT_LABEL, "data": info.consent.to_dict()}] if info.consent else []),
            {"label": TRAINING_MINING_LABEL, "data": _training_mining_not_allowed()},
        ],
    }


def _actions(info: ProvenanceInfo) -> list[dict]:
    agent = {"name": info.software_agent}
    if info.source_type == "created":
        actions = [{"action": "c2pa.created", "digitalSourceType": info.digital_source_type, "softwareAgent": agent}]
    else:
        # C2PA requires the first action to be created or opened; opened names the parent.
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_LABEL]}},
            {"action": "c2pa.edited", "digitalSourceType": info.digital_source_type, "softwareAgent": agent},
        ]
    actions.append(
        {
            "action": "c2pa.watermarked",
            "softwareAgent": agent,
            "description": f"invisible watermark {WATERMARK_ALG} carrying the soft-binding ID",
        }
    )
    return actions


def _soft_binding(watermark_id: str) -> dict:
    value = base64.b64encode(bytes.fromhex(watermark_id)).decode("ascii")
    return {
        "alg": WATERMARK_ALG,
        "name": "dftk invisible watermark ID",
        "blocks": [{"scope": {}, "value": value}],
        "pad": [0],
    }


def soft_binding_id(value: str) -> str | None:
    """The hex watermark ID stored in a soft-binding block value, or None if malformed."""
    try:
        return base64.b64decode(value, validate=True).hex()
    except (ValueError, TypeError):
        return None


def _generator(info: ProvenanceInfo) -> dict:
    return {
        "dftk_version": DFTK_VERSION,
        "plugin": info.plugin,
        "plugin_version": info.plugin_version,
        "model": info.model,
    }


def _training_mining_not_allowed() -> dict:
    return {"entries": {use: {"use": "notAllowed"} for use in TRAINING_MINING_USES}}


def file_sha256(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        raise ProvenanceError(f"cannot read ingredient {path}: {exc.strerror}") from None
