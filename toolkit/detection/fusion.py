"""Fuse detector clip scores into one calibrated probability and a verdict band.

The fused probability is a logistic regression (non-negative weights, class-balanced, L2)
on the logits of the fused detectors' clip scores, fitted on the detection benchmark's units (``benchmarks/detection.py``
writes ``fusion.json`` beside this module; its record says on what). Features are *not*
standardised and a detector that is not applicable contributes a logit of 0, so a missing
detector adds nothing and the per-detector breakdown is exact: each detector's
contribution is its weight times its logit.

Bands: ``authentic`` below ``bands.suspicious``, ``manipulated`` from ``bands.manipulated``,
``suspicious`` in between. Provenance is not fused: a valid AI-generation declaration or
dftk's watermark makes the verdict ``manipulated`` outright. With no fused detector
applicable (no face, no provenance) the verdict is ``inconclusive``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.detection.calibration import LogisticCalibration, from_dict, load_json, sigmoid, write_params
from toolkit.detection.contract import DetectorResult
from toolkit.errors import ModelError

PARAMS = Path(__file__).parent / "fusion.json"
LOGIT_CLIP = 6.0
DEFAULT_BANDS = {"suspicious": 0.35, "manipulated": 0.65}
BANDS = ("authentic", "suspicious", "manipulated", "inconclusive")


def params_path() -> Path:
    return Path(os.environ.get("DFTK_FUSION_PARAMS") or PARAMS)


def score_logit(score: float | None) -> float:
    """Clip score -> logit, 0 for a missing score (no evidence either way)."""
    if score is None:
        return 0.0
    p = float(np.clip(score, sigmoid(-LOGIT_CLIP), sigmoid(LOGIT_CLIP)))
    return float(np.log(p / (1 - p)))


def feature_vector(results: dict[str, DetectorResult], names: list[str]) -> np.ndarray:
    return np.array([score_logit(results[n].clip_score if n in results and results[n].applicable else None)
                     for n in names])


@dataclass
class FusionModel:
    calibration: LogisticCalibration
    bands: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def detectors(self) -> list[str]:
        return self.calibration.names

    def to_dict(self) -> dict:
        return {**self.calibration.to_dict(), "bands": self.bands, "fusion_record": self.record}

    def write(self, path: Path | str) -> Path:
        return write_params(self.calibration, path, {"bands": self.bands, "fusion_record": self.record})


def fit_fusion(names: list[str], X: np.ndarray, y: np.ndarray, record: dict | None = None, C: float = 1.0,
               bands: dict[str, float] | None = None) -> FusionModel:
    """Fit the fusion on logit features ``X`` (N, len(names)) with labels ``y`` (1 = manipulated).

    Class-balanced logistic loss with an L2 penalty (``1 / (2C) |w|^2``) and **non-negative
    weights**: every detector's score already points the same way (higher = more likely
    manipulated), so a negative weight could only be an artefact of a small training set,
    and it would make the report's breakdown read backwards.
    """
    from scipy.optimize import minimize

    X = np.atleast_2d(np.asarray(X, np.float64))
    y = np.asarray(y, np.float64)
    if len(set(y.tolist())) < 2:
        raise ModelError("need real and manipulated examples to fit the fusion")
    sample_w = np.where(y == 1, 0.5 / y.sum(), 0.5 / (len(y) - y.sum())) * len(y)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = X @ w + b
        p = sigmoid(z)
        nll = np.sum(sample_w * (np.logaddexp(0, z) - y * z))
        grad_z = sample_w * (p - y)
        grad = np.r_[X.T @ grad_z + w / C, grad_z.sum()]
        return float(nll + 0.5 / C * w @ w), grad

    bounds = [(0.0, None)] * X.shape[1] + [(None, None)]
    res = minimize(loss, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    w, b = res.x[:-1], float(res.x[-1])
    cal = LogisticCalibration(list(names), np.zeros(len(names)), np.ones(len(names)), w, b, record or {})
    return FusionModel(cal, dict(bands or DEFAULT_BANDS), record or {})


def load_fusion(path: Path | str | None = None) -> FusionModel:
    path = Path(path or params_path())
    data = load_json(path)
    try:
        cal = from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path.name}: unusable fusion parameters ({exc})") from None
    if not isinstance(cal, LogisticCalibration):
        raise ModelError(f"{path.name}: fusion parameters must be a logistic calibration")
    return FusionModel(cal, dict(data.get("bands") or DEFAULT_BANDS), data.get("fusion_record", {}))


@dataclass
class Contribution:
    detector: str
    score: float | None
    applicable: bool
    weight: float
    logit: float
    contribution: float  # weight * logit, the detector's share of the fused logit

    def to_dict(self) -> dict:
        return {"detector": self.detector, "score": None if self.score is None else round(self.score, 4),
                "applicable": self.applicable, "weight": round(self.weight, 4), "logit": round(self.logit, 4),
                "contribution": round(self.contribution, 4)}


@dataclass
class Verdict:
    band: str
    probability: float | None  # fused probability of manipulation (None when inconclusive)
    forensic_probability: float | None  # the fusion alone, before any provenance override
    override: str | None  # why the band was set by provenance, if it was
    contributions: list[Contribution]
    intercept: float
    bands: dict[str, float]

    def to_dict(self) -> dict:
        return {"band": self.band,
                "probability": None if self.probability is None else round(self.probability, 4),
                "forensic_probability": None if self.forensic_probability is None else round(self.forensic_probability, 4),
                "override": self.override, "intercept": round(self.intercept, 4), "bands": self.bands,
                "contributions": [c.to_dict() for c in self.contributions]}


def band_for(probability: float, bands: dict[str, float]) -> str:
    if probability >= bands["manipulated"]:
        return "manipulated"
    if probability >= bands["suspicious"]:
        return "suspicious"
    return "authentic"


def fuse(results: dict[str, DetectorResult], model: FusionModel | None = None) -> Verdict:
    model = model or load_fusion()
    names = model.detectors
    logits = feature_vector(results, names)
    weights = model.calibration.coef
    contributions = [
        Contribution(n, results[n].clip_score if n in results else None, bool(n in results and results[n].applicable),
                     float(w), float(x), float(w * x))
        for n, w, x in zip(names, weights, logits)
    ]
    applicable = [c for c in contributions if c.applicable]
    forensic = float(sigmoid(model.calibration.intercept + sum(c.contribution for c in contributions))) if applicable else None
    prov = results.get("provenance")
    override = None
    if prov is not None and prov.applicable and prov.clip_score is not None and prov.clip_score >= 1.0:
        override = prov.explanation.removeprefix("provenance: ")
    if override:
        band, probability = "manipulated", 1.0
    elif forensic is None:
        band, probability = "inconclusive", None
    else:
        band, probability = band_for(forensic, model.bands), forensic
    return Verdict(band, probability, forensic, override, contributions, model.calibration.intercept, model.bands)
