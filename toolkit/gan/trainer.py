"""The GAN training loop: one generator, a multi-scale frame D and a temporal D.

Per step: the generator renders K consecutive frames of B stacks; the frame
discriminator (conditioned on the landmark map) and the temporal discriminator (frame
stacks) take a hinge step; then the generator takes a step on L1 + (1 - SSIM) +
feature matching + both adversarial terms, and its EMA copy (what is saved) follows.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toolkit.gan import losses as L
from toolkit.gan.config import TrainConfig
from toolkit.gan.networks import Generator, MultiScalePatchDiscriminator, TemporalDiscriminator
from toolkit.media.atomic import atomic_path

LOSS_KEYS = ("g_total", "l1", "ssim", "fm", "adv", "temporal", "d_frame", "d_temporal")


class GanTrainer:
    def __init__(self, cfg: TrainConfig, device: torch.device):
        torch.manual_seed(cfg.seed)
        self.cfg = cfg
        self.device = device
        self.generator = Generator(cfg.generator).to(device)
        self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.d_frame = MultiScalePatchDiscriminator(cfg.d_channels, cfg.d_scales, cfg.d_layers).to(device)
        self.d_temporal = TemporalDiscriminator(cfg.clip_frames, cfg.t_channels, cfg.d_layers).to(device)
        betas = (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), cfg.lr_g, betas=betas)
        self._d_params = list(self.d_frame.parameters()) + list(self.d_temporal.parameters())
        self.opt_d = torch.optim.Adam(self._d_params, cfg.lr_d, betas=betas)
        self.step = 0
        self.history: list[list[float]] = []  # one row of LOSS_KEYS per step
        self.seconds = 0.0  # training time over all sessions (resumes add up)

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg = self.cfg
        warped, maps, real = batch["warped"], batch["maps"], batch["real"]
        b, k = real.shape[:2]
        flat = lambda t: t.reshape(b * k, *t.shape[2:])  # noqa: E731
        w, m, r, wt = flat(warped), flat(maps), flat(real), flat(batch["weight"])
        use_temporal = k == self.d_temporal.frames

        fake = self.generator(w, m)

        # Discriminators.
        self.opt_d.zero_grad(set_to_none=True)
        real_outs = self.d_frame(r, m)
        fake_outs = self.d_frame(fake.detach(), m)
        d_frame = sum(L.d_hinge(ro[-1], fo[-1]) for ro, fo in zip(real_outs, fake_outs)) / len(real_outs)
        d_temp = torch.zeros((), device=self.device)
        if use_temporal:
            d_temp = L.d_hinge(self.d_temporal(real)[-1], self.d_temporal(fake.detach().reshape(real.shape))[-1])
        (d_frame + d_temp).backward()
        torch.nn.utils.clip_grad_norm_(self._d_params, cfg.grad_clip)
        self.opt_d.step()

        # Generator.
        self.opt_g.zero_grad(set_to_none=True)
        fake_outs = self.d_frame(fake, m)
        adv = sum(L.g_hinge(fo[-1]) for fo in fake_outs) / len(fake_outs)
        fm = sum(L.feature_matching(ro, fo) for ro, fo in zip(real_outs, fake_outs)) / len(fake_outs)
        temporal = L.g_hinge(self.d_temporal(fake.reshape(real.shape))[-1]) if use_temporal else torch.zeros(())
        l1 = L.weighted_mean((fake - r).abs(), wt)
        dssim = 1.0 - L.ssim(fake, r, weight=wt)
        g_total = (cfg.l1_weight * l1 + cfg.ssim_weight * dssim + cfg.fm_weight * fm + cfg.adv_weight * adv
                   + cfg.temporal_weight * temporal)
        g_total.backward()
        torch.nn.utils.clip_grad_norm_(self.generator.parameters(), cfg.grad_clip)
        self.opt_g.step()
        self._update_ema()
        self.step += 1
        row = [float(v.detach()) for v in (g_total, l1, dssim, fm, adv, temporal, d_frame, d_temp)]
        self.history.append(row)
        return dict(zip(LOSS_KEYS, row))

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Short runs: let the average warm up instead of being dominated by the random init.
        decay = min(self.cfg.ema_decay, (1 + self.step) / (10 + self.step))
        for pe, p in zip(self.ema.parameters(), self.generator.parameters()):
            pe.lerp_(p, 1.0 - decay)
        for be, b in zip(self.ema.buffers(), self.generator.buffers()):
            be.copy_(b)

    def loss_summary(self) -> dict[str, dict[str, float]]:
        """Mean of each loss over the first and the last tenth of all steps."""
        if not self.history:
            return {}
        h = np.asarray(self.history)
        n = max(1, len(h) // 10)
        return {"initial": dict(zip(LOSS_KEYS, h[:n].mean(0).round(5).tolist())),
                "final": dict(zip(LOSS_KEYS, h[-n:].mean(0).round(5).tolist())),
                "steps": len(h)}

    # -- checkpoints -----------------------------------------------------------------
    def state(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "step": self.step,
            "history": self.history,
            "seconds": self.seconds,
            "generator": self.generator.state_dict(),
            "ema": self.ema.state_dict(),
            "d_frame": self.d_frame.state_dict(),
            "d_temporal": self.d_temporal.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "torch_rng": torch.get_rng_state(),
            **extra,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.history = [list(map(float, row)) for row in state["history"]]
        self.seconds = float(state.get("seconds", 0.0))
        self.generator.load_state_dict(state["generator"])
        self.ema.load_state_dict(state["ema"])
        self.d_frame.load_state_dict(state["d_frame"])
        self.d_temporal.load_state_dict(state["d_temporal"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["torch_rng"])


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint's state, or None when there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None


def now() -> float:
    return time.perf_counter()
