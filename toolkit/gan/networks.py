"""Generator and discriminators of the personal face model.

* :class:`Generator`: a conditional U-Net. Input: the reference face warped to the target
  landmarks plus the rasterised target landmark map; output: a residual added to the warp,
  so it starts from the warp and learns what the warp cannot do (teeth, eyelids, shading,
  disocclusions).
* :class:`MultiScalePatchDiscriminator`: pix2pixHD-style PatchGAN on the image and its
  half-size copy, conditioned on the landmark map; returns features for feature matching.
* :class:`TemporalDiscriminator`: a PatchGAN over short stacks of consecutive frames
  (the DVD-GAN idea) that penalises flicker a per-frame discriminator cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from toolkit.gan.landmark_map import CHANNELS as MAP_CHANNELS


@dataclass(frozen=True)
class GeneratorSpec:
    channels: tuple[int, ...] = (16, 32, 64, 128)  # level i works at 1/2**(i+1) of the input size
    res_blocks: int = 2  # at the bottleneck (one more halving below the last level)

    def to_dict(self) -> dict:
        return {"channels": list(self.channels), "res_blocks": self.res_blocks}

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorSpec":
        return cls(tuple(d["channels"]), int(d["res_blocks"]))


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, inplace=True))


class _ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.a = nn.Conv2d(ch, ch, 3, 1, 1)
        self.b = nn.Conv2d(ch, ch, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.leaky_relu(self.a(x), 0.2))


class Generator(nn.Module):
    """U-Net: (warped reference, landmark map) -> refined face (about [-1, 1]; clamp to show).

    The encoder starts with a stride-2 conv and only one thin conv works at full
    resolution (full-resolution layers dominate CPU time); full-resolution detail comes
    from the warped reference through the blend.
    """

    def __init__(self, spec: GeneratorSpec = GeneratorSpec()):
        super().__init__()
        ch = spec.channels
        cin = 3 + MAP_CHANNELS
        self.spec = spec
        self.stem = _conv(cin, ch[0], 2)
        self.down = nn.ModuleList(_conv(ch[i], ch[i + 1], 2) for i in range(len(ch) - 1))
        self.bottom = nn.Sequential(_conv(ch[-1], ch[-1], 2), *[_ResBlock(ch[-1]) for _ in range(spec.res_blocks)])
        ups = [ch[-1]] + list(reversed(ch))  # channels coming up, then the skip at each level
        self.up = nn.ModuleList(_conv(ups[i] + ch[-1 - i], ch[-1 - i]) for i in range(len(ch)))
        self.head = nn.Conv2d(ch[0] + cin, 3, 3, 1, 1)
        with torch.no_grad():  # start exactly at the warp; the residual grows where it helps
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()

    def forward(self, warped: torch.Tensor, landmark_map: torch.Tensor) -> torch.Tensor:
        inp = torch.cat([warped, landmark_map], 1)
        x = self.stem(inp)
        skips = [x]
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        x = self.bottom(x)
        for layer, skip in zip(self.up, reversed(skips)):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = layer(torch.cat([x, skip], 1))
        x = F.interpolate(x, size=inp.shape[-2:], mode="bilinear", align_corners=False)
        # Bounded residual: a runaway generator cannot push pixels far outside the image range.
        return warped + 2.0 * torch.tanh(0.5 * self.head(torch.cat([x, inp], 1)))


class PatchDiscriminator(nn.Module):
    """70x70-style PatchGAN with spectral norm; returns every layer's output."""

    def __init__(self, cin: int, ch: int = 64, layers: int = 3):
        super().__init__()
        blocks = [nn.Sequential(spectral_norm(nn.Conv2d(cin, ch, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True))]
        c = ch
        for i in range(1, layers):
            stride = 2 if i < layers - 1 else 1
            blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(c, min(c * 2, 512), 4, stride, 1)),
                                        nn.LeakyReLU(0.2, inplace=True)))
            c = min(c * 2, 512)
        blocks.append(spectral_norm(nn.Conv2d(c, 1, 4, 1, 1)))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class MultiScalePatchDiscriminator(nn.Module):
    """PatchGANs on the full image and on successively halved copies."""

    def __init__(self, ch: int = 64, scales: int = 2, layers: int = 3):
        super().__init__()
        self.ds = nn.ModuleList(PatchDiscriminator(3 + MAP_CHANNELS, ch, layers) for _ in range(scales))

    def forward(self, image: torch.Tensor, landmark_map: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([image, landmark_map], 1)
        outs = []
        for i, d in enumerate(self.ds):
            if i:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            outs.append(d(x))
        return outs


class TemporalDiscriminator(nn.Module):
    """PatchGAN over ``frames`` consecutive frames stacked on channels, at half size."""

    def __init__(self, frames: int, ch: int = 64, layers: int = 3):
        super().__init__()
        self.frames = frames
        self.d = PatchDiscriminator(3 * frames, ch, layers)

    def forward(self, clips: torch.Tensor) -> list[torch.Tensor]:
        """``clips``: (B, K, 3, H, W)."""
        b, k, c, h, w = clips.shape
        x = F.avg_pool2d(clips.reshape(b, k * c, h, w), 2)
        return self.d(x)
