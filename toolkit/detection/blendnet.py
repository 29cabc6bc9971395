"""BlendNet: the small CNN behind the blending-boundary detector.

A stride-2 stem and three stages of two 3x3 convolutions (BatchNorm, ReLU), each stage
halving the resolution, down to 1/16. Two heads: a fake-probability logit (global average
+ max pooling -> linear) and a boundary map at 1/8 resolution (Face X-ray's
``4 m (1 - m)``) from the 1/8 stage, which is the heatmap shown in reports. About 0.29 M
parameters and ~45 MFLOP per 128 px crop: it has to run inside a 30 fps budget on two CPU
cores (this class of machine does ~5 GFLOP/s in convolutions).

Weights are saved with their configuration and training record in one ``.pt`` file
(:func:`save_checkpoint` / :func:`load_checkpoint`); nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from toolkit.errors import ModelError

# Inputs are scaled to [-1, 1] per channel with these statistics (of the training crops).
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


@dataclass
class BlendNetConfig:
    input_size: int = 128
    widths: tuple[int, ...] = (16, 32, 64, 128)

    def to_dict(self) -> dict:
        return {"input_size": self.input_size, "widths": list(self.widths)}


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class BlendNet(nn.Module):
    def __init__(self, config: BlendNetConfig | None = None):
        super().__init__()
        self.config = config or BlendNetConfig()
        w = self.config.widths
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(inplace=True))
        self.s1 = _block(w[0], w[1], 2)  # 1/4
        self.s2 = _block(w[1], w[2], 2)  # 1/8
        self.s3 = _block(w[2], w[3], 2)  # 1/16
        self.map_head = nn.Conv2d(w[2], 1, 1)
        self.cls_head = nn.Linear(2 * w[3], 1)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: float (N, 3, S, S) in [0, 1]. Returns (logit (N,), boundary-map logits (N, S/8, S/8))."""
        x = (x - self.mean) / self.std
        f8 = self.s2(self.s1(self.stem(x)))
        f16 = self.s3(f8)
        pooled = torch.cat([f16.mean(dim=(2, 3)), f16.amax(dim=(2, 3))], dim=1)
        return self.cls_head(pooled).squeeze(1), self.map_head(f8).squeeze(1)


def to_tensor(crops: np.ndarray | list[np.ndarray]) -> torch.Tensor:
    """uint8 RGB crops (N, S, S, 3) -> float tensor (N, 3, S, S) in [0, 1]."""
    arr = np.ascontiguousarray(np.stack(crops) if isinstance(crops, list) else crops)
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)


@dataclass
class Checkpoint:
    model: BlendNet
    config: BlendNetConfig
    record: dict[str, Any] = field(default_factory=dict)  # how it was trained (the model card's facts)
    sha256: str = ""


def save_checkpoint(path: Path | str, model: BlendNet, record: dict[str, Any]) -> Path:
    """Write weights (float16 to keep the file small), config and training record atomically."""
    from toolkit.media.atomic import atomic_path

    state = {k: (v.half() if v.dtype == torch.float32 else v) for k, v in model.state_dict().items()}
    payload = {"format": "dftk-blendnet-1", "config": model.config.to_dict(), "state_dict": state, "record": record}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: Path | str) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"blend detector weights not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != "dftk-blendnet-1":
            raise ValueError("not a dftk BlendNet checkpoint")
        cfg = payload["config"]
        config = BlendNetConfig(int(cfg["input_size"]), tuple(int(v) for v in cfg["widths"]))
        model = BlendNet(config)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    except ModelError:
        raise
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelError(f"{path.name}: cannot load blend detector weights ({type(exc).__name__}: {first_line})") from None
    model.eval()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Checkpoint(model, config, payload.get("record", {}), digest)


def predict(model: BlendNet, crops: list[np.ndarray], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Fake probabilities (N,) and boundary maps (N, S/8, S/8) in [0, 1] for uint8 crops."""
    probs, maps = [], []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            logit, mlogit = model(to_tensor(crops[i:i + batch]))
            probs.append(torch.sigmoid(logit).numpy())
            maps.append(torch.sigmoid(mlogit).numpy())
    if not probs:
        s = model.config.input_size // 8
        return np.zeros(0, np.float32), np.zeros((0, s, s), np.float32)
    return np.concatenate(probs), np.concatenate(maps)
