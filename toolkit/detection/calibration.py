"""Small fitted mappings from a detector's raw measurements to a score in [0, 1], stored as JSON.

* :class:`OneClassCalibration`: for training-free methods whose premise says which way is
  suspicious (more jitter, less pulse coherence). Fitted on real clips only: each feature
  is z-scored against the real distribution and signed so that positive means "less like
  the real clips"; the score is ``sigmoid(gain * mean(signed z))`` (``gain`` 1.7 makes it
  close to the normal CDF: 0.5 at the real mean, ~0.84 one standard deviation out).
* :class:`LogisticCalibration`: a logistic regression on standardised features, fitted on
  labelled examples (constructed pairs, or the benchmark's training split for fusion).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from toolkit.errors import ModelError
from toolkit.media.atomic import atomic_path

ONE_CLASS = "dftk-one-class-1"
LOGISTIC = "dftk-logistic-1"


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


@dataclass
class OneClassCalibration:
    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    signs: np.ndarray  # +1: larger is more suspicious, -1: smaller is
    gain: float = 1.7
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, names: Sequence[str], real: np.ndarray, signs: Sequence[int], record: dict | None = None,
            min_scale: Sequence[float] | float = 1e-3) -> "OneClassCalibration":
        real = np.atleast_2d(np.asarray(real, np.float64))
        if len(real) < 2:
            raise ModelError("need at least two real examples to calibrate")
        scale = np.maximum(real.std(axis=0, ddof=1), np.broadcast_to(np.asarray(min_scale, np.float64), real.shape[1:]))
        return cls(list(names), real.mean(axis=0), scale, np.asarray(signs, np.float64), record=record or {})

    def z(self, features: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(features) - self.mean) / self.scale * self.signs

    def score(self, features: np.ndarray) -> np.ndarray:
        return sigmoid(self.gain * self.z(features).mean(axis=1))

    def to_dict(self) -> dict:
        return {"format": ONE_CLASS, "names": self.names, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "signs": self.signs.tolist(), "gain": self.gain, "record": self.record}


@dataclass
class LogisticCalibration:
    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, names: Sequence[str], X: np.ndarray, y: np.ndarray, C: float = 1.0, record: dict | None = None,
            class_weight: str | None = "balanced", standardize: bool = True) -> "LogisticCalibration":
        """Fit on ``X`` (N, F) and labels ``y`` (1 = manipulated). ``standardize=False`` keeps
        raw features, so a feature left at 0 adds exactly nothing to the logit."""
        from sklearn.linear_model import LogisticRegression

        X = np.atleast_2d(np.asarray(X, np.float64))
        y = np.asarray(y)
        if len(set(y.tolist())) < 2:
            raise ModelError("need examples of both classes to fit a logistic calibration")
        if standardize:
            mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
        else:
            mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        clf = LogisticRegression(C=C, max_iter=5000, class_weight=class_weight).fit((X - mean) / scale, y)
        return cls(list(names), mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]), record or {})

    def logit(self, features: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(features) - self.mean) / self.scale) @ self.coef + self.intercept

    def score(self, features: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(features))

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per-feature terms of the logit (what each feature added), ``(N, F)``."""
        return ((np.atleast_2d(features) - self.mean) / self.scale) * self.coef

    def to_dict(self) -> dict:
        return {"format": LOGISTIC, "names": self.names, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "record": self.record}


def write_params(calibration: OneClassCalibration | LogisticCalibration, path: Path | str, extra: dict | None = None) -> Path:
    data = calibration.to_dict()
    if extra:
        data.update(extra)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    return path


def from_dict(data: dict) -> OneClassCalibration | LogisticCalibration:
    arr = lambda k: np.asarray(data[k], np.float64)  # noqa: E731
    if data.get("format") == ONE_CLASS:
        return OneClassCalibration(list(data["names"]), arr("mean"), arr("scale"), arr("signs"),
                                   float(data.get("gain", 1.7)), data.get("record", {}))
    if data.get("format") == LOGISTIC:
        return LogisticCalibration(list(data["names"]), arr("mean"), arr("scale"), arr("coef"),
                                   float(data["intercept"]), data.get("record", {}))
    raise ValueError(f"unknown format {data.get('format')!r}")


def load_json(path: Path | str) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"detector parameters not found: {path}") from None
    except ValueError as exc:
        raise ModelError(f"{path.name}: unusable detector parameters ({exc})") from None


def load(path: Path | str, key: str | None = None) -> OneClassCalibration | LogisticCalibration:
    """Load a calibration from JSON (``key``: a nested one, e.g. ``"frame"``)."""
    data = load_json(path)
    try:
        return from_dict(data[key] if key else data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{Path(path).name}: unusable detector parameters ({exc})") from None
