"""Training losses: hinge adversarial, feature matching, SSIM, L1."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()


def feature_matching(real_feats: list[torch.Tensor], fake_feats: list[torch.Tensor]) -> torch.Tensor:
    """L1 between discriminator features of real and generated images (all but the logits)."""
    terms = [F.l1_loss(f, r.detach()) for r, f in zip(real_feats[:-1], fake_feats[:-1])]
    return torch.stack(terms).mean()


def _gaussian_window(size: int, sigma: float, channels: int, device, dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim_map(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, size: int = 11,
             sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel SSIM (Wang et al. 2004, Gaussian window), channel-averaged: (N, 1, H, W).

    Zero padding keeps the map the size of the image, so it can be weighted by a mask.
    """
    c = a.shape[1]
    w = _gaussian_window(size, sigma, c, a.device, a.dtype)
    blur = lambda t: F.conv2d(t, w, groups=c, padding=size // 2)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean(1, keepdim=True)


def weighted_mean(x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``x`` (N, C, H, W) under a (N, 1, H, W) weight map (plain mean when None)."""
    if weight is None:
        return x.mean()
    return (x * weight).sum() / (weight.sum() * x.shape[1]).clamp_min(1e-6)


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM of two (N, C, H, W) batches, optionally under a weight map."""
    return weighted_mean(ssim_map(a, b, data_range), weight)
