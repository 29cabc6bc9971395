"""The model card every personal model carries: who consented, what data, how trained, how good."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

FORMAT = "dftk.personal-model"
FORMAT_VERSION = 1


@dataclass
class ModelCard:
    consent_id: str
    created: str  # UTC, ISO 8601
    preset: str
    config: dict[str, Any]
    data: dict[str, Any]  # source video name and sha256, frames used, train/held-out split, reference frame
    training: dict[str, Any]  # steps, seconds, device, library versions, resumed_from
    losses: dict[str, Any]  # mean losses over the first and the last tenth of training
    metrics: dict[str, Any]  # held-out self-reenactment: the model and the warp-only baseline
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    dftk_version: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelCard":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
