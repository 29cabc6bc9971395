"""The key-dependent carrier layout of the invisible mark, and the periodic pattern it makes.

The mark is a periodic luma pattern: one ``TILE`` x ``TILE`` tile (240 px) repeated over the
frame from its top-left corner. The tile is built in its own 2-D Fourier domain. Every frequency
bin of the upper half plane whose radius lies in the profile's band gives two real *slots*
(cosine and sine). The key shuffles the slots: a ``SYNC_FRACTION`` of them carry a fixed sync
pattern, the others carry the 512 coded bits (each bit over one or more slots); every slot gets
a key-random sign.

Two profiles share everything but the band (and a layout seed):

* ``video`` (band 6-16 cycles per tile, periods of 15-40 px): low enough that H.264/H.265 at
  high CRF keep most of it (the codec's dead zone removes finer patterns);
* ``image`` (band 10-36 cycles per tile, periods of 7-24 px): finer, so less host image content
  competes with it; best for stills, which meet JPEG, resizing and cropping but not inter coding.

Because the pattern is periodic, a crop is a cyclic shift of the tile, found by one FFT
cross-correlation with the sync slots. A rescale by ``s`` turns the period into ``TILE * s``
pixels but keeps every bin's index in cycles per tile, so the decoder folds the frame at a few
candidate periods (:data:`SCALES`; all give integer periods) and reads the same bins.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from watermark.ecc import ConvolutionalCode
from watermark.keys import WatermarkKey

TILE = 240
SYNC_FRACTION = 0.15
PAYLOAD_BITS = 64
# Rate-1/8 tail-biting code, constraint length 7 (free distance 40): 64 bits -> 512 coded bits.
CODE = ConvolutionalCode((0o117, 0o127, 0o155, 0o171, 0o133, 0o165, 0o145, 0o175))
CODED_BITS = CODE.coded_length(PAYLOAD_BITS)
# Scale factors (received size / marked size) the decoder tries. TILE * s must be an integer
# whose Nyquist limit (TILE * s / 2) lies above every band's top.
SCALES = (1.0, 0.5, 2 / 3, 0.75, 4 / 3, 1.5, 2.0, 1 / 3)


@dataclass(frozen=True)
class Profile:
    name: str
    band: tuple[float, float]  # radius range, cycles per tile


PROFILES: dict[str, Profile] = {
    "video": Profile("video", (6.0, 16.0)),
    "image": Profile("image", (10.0, 36.0)),
}


@dataclass(frozen=True, eq=False)
class CarrierLayout:
    """Which slot of which band bin carries what, for one key and profile.

    ``ky, kx``: bin frequencies (cycles per tile) in the upper half plane, shape (B,).
    ``slot_bit``: (B, 2) coded-bit index carried by the cosine/sine slot, -1 for sync.
    ``slot_sign``: (B, 2) key sign (+1/-1) of each slot.
    """

    key: WatermarkKey
    profile: Profile
    ky: np.ndarray
    kx: np.ndarray
    slot_bit: np.ndarray
    slot_sign: np.ndarray

    @property
    def n_bins(self) -> int:
        return int(self.ky.size)

    @property
    def sync_mask(self) -> np.ndarray:
        return self.slot_bit < 0

    def sync_spectrum(self) -> np.ndarray:
        """Complex (B,) sync component: the key sign on sync slots, 0 on data slots."""
        vals = np.where(self.sync_mask, self.slot_sign, 0).astype(np.float64)
        return vals[:, 0] + 1j * vals[:, 1]

    def spectrum(self, codeword: np.ndarray) -> np.ndarray:
        """Complex (B,) spectrum of the whole tile (sync + data) for a 0/1 codeword."""
        symbols = 2.0 * np.asarray(codeword, dtype=np.float64) - 1.0
        vals = np.where(self.sync_mask, 1.0, symbols[np.maximum(self.slot_bit, 0)]) * self.slot_sign
        return vals[:, 0] + 1j * vals[:, 1]


def band_bins(band: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Upper-half-plane bins (ky, kx) with radius in ``band``, in a fixed order."""
    lim = int(np.ceil(band[1]))
    ky, kx = np.meshgrid(np.arange(-lim, lim + 1), np.arange(-lim, lim + 1), indexing="ij")
    ky, kx = ky.ravel(), kx.ravel()
    radius = np.hypot(ky, kx)
    upper = (ky > 0) | ((ky == 0) & (kx > 0))
    keep = upper & (radius >= band[0]) & (radius <= band[1])
    return ky[keep], kx[keep]


@lru_cache(maxsize=32)
def layout_for(key: WatermarkKey, profile: str = "video") -> CarrierLayout:
    prof = PROFILES[profile]
    seed = hashlib.sha256(key.seed.to_bytes(16, "big") + prof.name.encode()).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed[:16], "big")))
    ky, kx = band_bins(prof.band)
    n_slots = 2 * ky.size
    n_sync = int(round(SYNC_FRACTION * n_slots))
    if n_slots - n_sync < CODED_BITS:
        raise ValueError(f"band {prof.band} too narrow for {CODED_BITS} coded bits")
    # Sync slots get -1; data slots cycle through the coded bits so each gets an equal share.
    assignment = np.concatenate([np.full(n_sync, -1), np.arange(n_slots - n_sync) % CODED_BITS])
    slot_bit = rng.permutation(assignment).reshape(-1, 2)
    slot_sign = rng.choice(np.array([-1, 1]), size=(ky.size, 2))
    return CarrierLayout(key, prof, ky, kx, slot_bit, slot_sign)


def tile_from_spectrum(layout: CarrierLayout, spec: np.ndarray) -> np.ndarray:
    """Real ``TILE`` x ``TILE`` tile (unit RMS, float32) whose band spectrum is ``spec``."""
    full = np.zeros((TILE, TILE), dtype=np.complex128)
    full[layout.ky % TILE, layout.kx % TILE] = spec
    full[(-layout.ky) % TILE, (-layout.kx) % TILE] = np.conj(spec)
    out = np.fft.ifft2(full).real
    out /= np.sqrt(np.mean(out**2))
    return out.astype(np.float32)


def frame_pattern(tile: np.ndarray, height: int, width: int) -> np.ndarray:
    """The tile repeated over a ``height`` x ``width`` frame, anchored at the top-left corner."""
    t = tile.shape[0]
    reps = (-(-height // t), -(-width // t))
    return np.ascontiguousarray(np.tile(tile, reps)[:height, :width])


def periods(scales: tuple[float, ...] = SCALES) -> list[int]:
    return [int(round(TILE * s)) for s in scales]
