"""Training configuration and presets of the personal face model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from toolkit.errors import InputError
from toolkit.gan.networks import GeneratorSpec


@dataclass
class TrainConfig:
    size: int = 256  # side of the canonical aligned crop the model renders
    generator: GeneratorSpec = field(default_factory=GeneratorSpec)
    d_channels: int = 32  # frame discriminator width
    d_scales: int = 2
    d_layers: int = 3
    t_channels: int = 32  # temporal discriminator width
    clip_frames: int = 3  # consecutive frames per temporal-discriminator stack
    batch: int = 2  # stacks per step (the generator sees batch * clip_frames images)
    patch: int | None = 128  # train on random patches of the crop (fully convolutional); None: whole crop
    steps: int = 1000
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    l1_weight: float = 10.0
    ssim_weight: float = 5.0
    fm_weight: float = 5.0
    adv_weight: float = 1.0
    temporal_weight: float = 0.5
    outside_weight: float = 0.1  # reconstruction weight off the face (hair, background)
    grad_clip: float = 5.0  # max gradient norm of G and of the Ds (a diverging step cannot blow up)
    ema_decay: float = 0.995
    neutral_reference_p: float = 0.5  # otherwise a random training frame is the reference
    holdout: float = 0.2  # last part of the recording kept out of training, for the model card's metrics
    max_frames: int = 1800
    eval_frames: int = 120
    checkpoint_every: int = 100
    seed: int = 0
    device: str = "auto"  # "auto": CUDA when available, else CPU
    # CPU threads for torch (None: torch's default, one per core). On a machine other
    # processes share, 1 avoids OpenMP threads spinning against each other.
    threads: int | None = None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["generator"] = self.generator.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d["generator"] = GeneratorSpec.from_dict(d["generator"])
        return cls(**d)

    def training_dict(self) -> dict:
        """The fields that change what is learned (a checkpoint only resumes if they match)."""
        d = self.to_dict()
        for key in ("checkpoint_every", "device", "eval_frames", "threads"):
            d.pop(key)
        return d


PRESETS: dict[str, TrainConfig] = {
    # Seconds on a laptop CPU: only for tests and smoke runs, the result is not a usable model.
    "tiny": TrainConfig(size=96, generator=GeneratorSpec((8, 16, 16), 1), d_channels=8, t_channels=8,
                        d_layers=2, batch=1, patch=None, steps=24, eval_frames=8, checkpoint_every=8,
                        max_frames=120, threads=1, lr_g=1e-3),
    # Within 10 minutes on 2 CPU cores, data preparation and evaluation included.
    # Short schedule: a faster generator learning rate, light discriminators and
    # adversarial terms (the reconstruction terms do most of the work in 800 steps).
    "quick": TrainConfig(steps=800, lr_g=5e-4, d_channels=16, t_channels=16, adv_weight=0.3, fm_weight=2.0,
                         temporal_weight=0.1),
    # About 3 CPU-hours (1 thread, measured 0.94 s/step), minutes on a GPU: wider generator,
    # full adversarial weights, 15x the steps of quick.
    "standard": TrainConfig(generator=GeneratorSpec((24, 48, 96, 192), 3), steps=12000, ema_decay=0.999),
}


def preset_config(preset: str = "quick", **overrides) -> TrainConfig:
    if preset not in PRESETS:
        raise InputError(f"unknown training preset {preset!r}; choose one of {', '.join(PRESETS)}")
    cfg = dataclasses.replace(PRESETS[preset])
    for key, value in overrides.items():
        if not hasattr(cfg, key):
            raise InputError(f"unknown training option {key!r}")
        setattr(cfg, key, value)
    return cfg
