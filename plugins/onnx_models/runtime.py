"""ONNX Runtime sessions for registry models, with a check of the model's inputs.

Models are opened only through the model registry (verified, licence accepted). Input
roles are found by name first (FaceFusion's and InsightFace's names) and then by shape,
so re-exports with other names work; a model that fits no role is refused with a
one-line :class:`~toolkit.errors.ModelError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from toolkit.errors import ModelError


@dataclass(frozen=True)
class Role:
    """One input a model must have: accepted names and the shape (None = any size)."""

    names: tuple[str, ...]
    shape: tuple[int | None, ...]


def _fits(shape: list, want: tuple[int | None, ...]) -> bool:
    if len(shape) != len(want):
        return False
    return all(w is None or not isinstance(s, int) or s == w for s, w in zip(shape, want))


def providers(device: str = "cpu") -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else ["CPUExecutionProvider"]
    return [p for p in wanted if p in available] or ["CPUExecutionProvider"]


class OnnxModel:
    """A verified registry model and the input name bound to each role."""

    def __init__(self, model_name: str, kind: str, roles: dict[str, Role], device: str = "cpu"):
        from toolkit.models import get_registry

        self.name = model_name
        self.path = get_registry().path(model_name)
        self.session = _session(str(self.path), tuple(providers(device)))
        self.inputs = self._bind(kind, roles)
        self.output = self.session.get_outputs()[0].name

    def _bind(self, kind: str, roles: dict[str, Role]) -> dict[str, str]:
        inputs = {i.name: list(i.shape) for i in self.session.get_inputs()}
        bound: dict[str, str] = {}
        for role, spec in roles.items():
            free = {n: s for n, s in inputs.items() if n not in bound.values()}
            by_name = [n for n in spec.names if n in free and _fits(free[n], spec.shape)]
            by_shape = [n for n, s in free.items() if _fits(s, spec.shape)]
            choice = (by_name or by_shape or [None])[0]
            if choice is None:
                found = ", ".join(f"{n} {s}" for n, s in inputs.items())
                raise ModelError(f"{self.name} does not look like a {kind} model: no input for {role} "
                                 f"{list(spec.shape)} (it has {found})")
            bound[role] = choice
        return bound

    def run(self, **feeds: np.ndarray) -> np.ndarray:
        return self.session.run([self.output], {self.inputs[r]: v for r, v in feeds.items()})[0]


@lru_cache(maxsize=8)
def _session(path: str, provider_list: tuple[str, ...]):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: published graphs carry unused initializers (emap)
    try:
        return ort.InferenceSession(path, options, providers=list(provider_list))
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{Path(path).name} cannot be loaded by onnxruntime ({type(exc).__name__})") from None


@lru_cache(maxsize=4)
def last_initializer(path: str) -> np.ndarray:
    """The graph's last initializer: inswapper keeps its 512x512 embedding map (emap) there."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path, load_external_data=False)
    if not model.graph.initializer:
        raise ModelError(f"{Path(path).name} has no initializers (no inswapper emap)")
    return numpy_helper.to_array(model.graph.initializer[-1])
