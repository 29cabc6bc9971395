"""Embed and detect dftk's invisible mark in RGB uint8 frames (H x W x 3 numpy arrays).

Embedding (output writer)::

    from watermark.invisible import WatermarkEmbedder
    from watermark.payload import new_output_id

    embedder = WatermarkEmbedder(new_output_id())        # key=None: configured key, else public
    marked = [embedder(frame) for frame in frames]       # same size and dtype; thread-safe

Pass ``profile="image"`` for still images (see :mod:`watermark.pattern`). Embedding adds the
same periodic luma pattern to R, G and B (chroma is untouched), rounded to whole gray levels
and scaled so that every frame's PSNR is at least :data:`PSNR_TARGET` (40.1 dB; clipping at 0
and 255 only raises it). In the ``video`` profile the pattern for a frame size is computed once
and cached, so a frame costs one saturating add (about 1 ms at 640x360 on one core), and every
frame gets exactly the same pattern: no flicker. The ``image`` profile also scales the pattern
by local texture (:func:`texture_gain`) so it hides in detail rather than in flat areas.

Detection::

    from watermark.invisible import WatermarkDecoder

    decoder = WatermarkDecoder()          # keys=None: configured private key, then public key
    for frame in frames:
        decoder.add(frame)                # folds the frame into per-period accumulators
    result = decoder.result()             # WatermarkResult; found / payload_hex / ...

``decoder.add`` whitens the frame's luma (local high-pass divided by local energy, so scaling
the brightness changes nothing) and folds it modulo each candidate period; evidence from all
frames adds up coherently. ``result()`` then, for every key, profile and scale, FFTs the folded
tile (and its mirror image, for left-right flipped media), finds the shift of the sync pattern
(crop) by FFT cross-correlation, tries the strongest sync peaks, soft-decodes the convolutional
code (:mod:`watermark.ecc`), and accepts a candidate only if its agreement with the re-encoded codeword passes the thresholds of
:mod:`watermark.falsealarm` (false-detection rate <= 1e-6 by construction). Each call of
``result()`` is one test: call it once per file.

For files, use :func:`watermark.detect.detect_file`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterable, Sequence

import cv2
import numpy as np

from watermark import falsealarm
from watermark import pattern as P
from watermark.keys import WatermarkKey, as_key, detection_keys
from watermark.payload import Payload, as_payload

PSNR_TARGET = 40.1  # dB, guaranteed per frame (the rounded pattern is fitted to it)
HIGHPASS_SIGMA = 5.0
ENERGY_SIGMA = 4.0
ENERGY_FLOOR = 0.5  # gray levels; keeps flat, noise-free areas from dividing by ~0
SYNC_PEAKS = 2  # sync peaks tried per (key, profile, scale); each counts as a trial
TEXTURE_FLOOR = 2.0
MASKING = {"video": 0.0, "image": 0.5}  # texture-masking exponent per profile (see texture_gain)


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"a frame must be an HxWx3 RGB array, got shape {getattr(frame, 'shape', None)}")
    if frame.dtype != np.uint8:
        raise ValueError(f"a frame must be uint8, got {frame.dtype}")
    return frame if frame.flags.c_contiguous else np.ascontiguousarray(frame)


def payload_bits(payload: Payload) -> np.ndarray:
    value = payload.value
    return np.array([(value >> (P.PAYLOAD_BITS - 1 - i)) & 1 for i in range(P.PAYLOAD_BITS)], dtype=np.uint8)


def bits_to_int(bits: np.ndarray) -> int:
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return value


class WatermarkEmbedder:
    """Adds the mark carrying ``payload`` to frames: ``marked = embedder(frame)``."""

    def __init__(self, payload: Payload | int | str, key: WatermarkKey | str | bytes | None = None,
                 profile: str = "video", psnr: float = PSNR_TARGET, masking: float | None = None):
        if profile not in P.PROFILES:
            raise ValueError(f"unknown watermark profile {profile!r}; use one of {sorted(P.PROFILES)}")
        self.payload = as_payload(payload)
        self.key = as_key(key)
        self.profile = profile
        self.psnr = psnr
        self.masking = MASKING[profile] if masking is None else masking
        self.codeword = P.CODE.encode(payload_bits(self.payload))
        layout = P.layout_for(self.key, profile)
        self._target_mse = 255.0**2 / 10 ** (psnr / 10)
        self._tile = P.tile_from_spectrum(layout, layout.spectrum(self.codeword)) * np.float32(np.sqrt(self._target_mse))
        self._deltas: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    def _fit(self, plane: np.ndarray) -> np.ndarray:
        """Round ``plane`` to whole gray levels, scaled down if needed so that the rounded
        pattern's mean square stays within the PSNR target (clipping can only lower it)."""
        while True:  # one pass in practice; each further pass shrinks the pattern by > 0.1 %
            rounded = np.rint(plane)
            mse = float(np.mean(rounded * rounded))
            if mse <= self._target_mse:
                return rounded
            plane = plane * np.float32(np.sqrt(self._target_mse / mse) * 0.999)

    def delta(self, height: int, width: int) -> np.ndarray:
        """The H x W pattern (float32, whole gray levels) added to every frame of this size."""
        size = (height, width)
        with self._lock:
            cached = self._deltas.get(size)
            if cached is None:
                cached = self._fit(P.frame_pattern(self._tile, height, width))
                if len(self._deltas) >= 8:
                    self._deltas.clear()
                self._deltas[size] = cached
        return cached

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = _check_frame(frame)
        h, w = frame.shape[:2]
        if self.masking:
            plane = self._fit(P.frame_pattern(self._tile, h, w) * texture_gain(frame, self.masking))
        else:
            plane = self.delta(h, w)
        return cv2.add(frame, cv2.merge([plane, plane, plane]), dtype=cv2.CV_8U)


def texture_gain(frame: np.ndarray, exponent: float) -> np.ndarray:
    """Per-pixel gain (mean square 1) growing as local contrast ** exponent: the mark hides
    in texture and stays faint in flat areas, at the same PSNR."""
    h, w = frame.shape[:2]
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA).astype(np.float32)
    mean = cv2.blur(small, (5, 5))
    std = np.sqrt(np.maximum(cv2.blur(small * small, (5, 5)) - mean * mean, 0.0))
    gain = cv2.pow(std + TEXTURE_FLOOR, exponent)
    gain *= 1.0 / np.sqrt(np.mean(gain * gain))
    return cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)


def whitened_luma(frame: np.ndarray) -> np.ndarray:
    """Luma high-passed and divided by its local RMS: removes the host's low frequencies and
    makes the result independent of brightness and contrast changes."""
    y = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    r = y - cv2.GaussianBlur(y, (0, 0), HIGHPASS_SIGMA)
    energy = cv2.GaussianBlur(r * r, (0, 0), ENERGY_SIGMA)
    return r / (np.sqrt(energy) + ENERGY_FLOOR)


def fold(values: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum of ``values`` over positions modulo ``period``, and the pixel count of each cell."""
    h, w = values.shape
    rows = np.zeros((period, w), dtype=np.float32)
    for y in range(0, h, period):
        band = values[y:y + period]
        rows[: band.shape[0]] += band
    sums = np.zeros((period, period), dtype=np.float64)
    for x in range(0, w, period):
        block = rows[:, x:x + period]
        sums[:, : block.shape[1]] += block
    counts = np.outer(np.bincount(np.arange(h) % period, minlength=period),
                      np.bincount(np.arange(w) % period, minlength=period)).astype(np.float64)
    return sums, counts


def _whiten_bins(values: np.ndarray, layout: P.CarrierLayout) -> np.ndarray:
    """Divide each band bin by the RMS of its 3x3 neighbourhood of band bins (noise estimate)."""
    lim = int(np.ceil(layout.profile.band[1])) + 1
    size = 2 * lim + 1
    power = np.zeros((size, size))
    present = np.zeros((size, size))
    pw = np.abs(values) ** 2
    for sy, sx in ((1, 1), (-1, -1)):  # the band and its conjugate mirror
        power[sy * layout.ky + lim, sx * layout.kx + lim] = pw
        present[sy * layout.ky + lim, sx * layout.kx + lim] = 1.0
    k = np.ones((3, 3), np.float32)
    num = cv2.filter2D(power.astype(np.float32), -1, k, borderType=cv2.BORDER_CONSTANT)
    den = cv2.filter2D(present.astype(np.float32), -1, k, borderType=cv2.BORDER_CONSTANT)
    local = num[layout.ky + lim, layout.kx + lim] / np.maximum(den[layout.ky + lim, layout.kx + lim], 1.0)
    return values / np.sqrt(local + 1e-20)


def _peaks(corr: np.ndarray, count: int, guard: int = 3) -> list[tuple[int, int]]:
    """The ``count`` highest local maxima, at least ``guard`` cells apart (cyclic)."""
    c = corr.copy()
    n = c.shape[0]
    out = []
    for _ in range(count):
        iy, ix = np.unravel_index(int(np.argmax(c)), c.shape)
        out.append((int(iy), int(ix)))
        ys = np.arange(iy - guard, iy + guard + 1) % n
        xs = np.arange(ix - guard, ix + guard + 1) % n
        c[np.ix_(ys, xs)] = -np.inf
    return out


def _refine(c_m: float, c_0: float, c_p: float) -> float:
    den = c_m - 2 * c_0 + c_p
    return 0.0 if den >= 0 else float(np.clip(0.5 * (c_m - c_p) / den, -0.5, 0.5))


@dataclass
class Candidate:
    """One decode attempt (key, profile, scale, mirror, sync peak) and its statistics."""

    key: WatermarkKey
    profile: str
    scale: float
    mirrored: bool
    shift: tuple[float, float]  # (dy, dx) of the tile origin, in marked-frame pixels
    sync_score: float  # sync peak in standard deviations of the correlation surface
    payload: int
    matches: int  # coded bits agreeing with the re-encoded codeword
    score: float  # normalised soft agreement over the data slots


def _decode_candidates(tile: np.ndarray, layout: P.CarrierLayout, scale: float, mirrored: bool,
                       peaks: int) -> list[Candidate]:
    p, t = tile.shape[0], P.TILE
    spec = np.fft.fft2(tile)
    vals = _whiten_bins(spec[layout.ky % p, layout.kx % p], layout)
    grid = np.zeros((t, t), dtype=np.complex128)
    grid[layout.ky % t, layout.kx % t] = vals * np.conj(layout.sync_spectrum())
    corr = np.fft.ifft2(grid).real
    spread = float(np.std(corr)) + 1e-20
    data = ~layout.sync_mask
    bit_index = layout.slot_bit[data]
    out = []
    for iy, ix in _peaks(corr, peaks):
        dy = iy + _refine(corr[(iy - 1) % t, ix], corr[iy, ix], corr[(iy + 1) % t, ix])
        dx = ix + _refine(corr[iy, (ix - 1) % t], corr[iy, ix], corr[iy, (ix + 1) % t])
        aligned = vals * np.exp(2j * np.pi * (layout.ky * dy + layout.kx * dx) / t)
        slots = np.stack([aligned.real, aligned.imag], axis=1) * layout.slot_sign
        y = slots[data]
        soft = np.bincount(bit_index, weights=y, minlength=P.CODED_BITS)
        bits = P.CODE.decode(soft)
        signs = 2.0 * P.CODE.encode(bits) - 1.0
        matches = int(np.sum(soft * signs > 0))
        agree = y * signs[bit_index]
        score = float(agree.sum() / np.sqrt(np.sum(y * y) + 1e-20))
        out.append(Candidate(layout.key, layout.profile.name, scale, mirrored, (dy, dx),
                             float(corr[iy, ix] / spread), bits_to_int(bits), matches, score))
    return out


@dataclass(frozen=True)
class WatermarkResult:
    """What detection concluded. ``payload_hex`` is set only when ``found``.

    ``bit_accuracy`` = ``matching_bits / coded_bits``: agreement of the received coded bits
    with the decoded codeword (about 0.65-0.69 on unmarked content, since the decoder picks
    the nearest of 2**64 codewords; 1.0 on a clean mark).
    ``score`` is the soft agreement (in standard deviations under the null model).
    A mark is found when ``matching_bits >= bit_threshold`` or ``score >= score_threshold``;
    ``false_rate_bound`` (<= 1e-6) bounds the chance of that on unmarked content.
    ``key`` is "public" or "private" (``None`` when nothing was found).
    """

    found: bool
    payload_hex: str | None
    payload: Payload | None
    bit_accuracy: float
    matching_bits: int
    coded_bits: int
    bit_threshold: int
    score: float
    score_threshold: float
    false_rate_bound: float
    trials: int
    frames: int
    key: str | None
    key_fingerprint: str | None
    profile: str | None
    scale: float | None
    mirrored: bool | None
    shift: tuple[float, float] | None
    sync_score: float
    best_guess_hex: str | None  # the strongest candidate's payload, found or not (diagnostics)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "payload"}
        if self.payload is not None:
            d["installation"] = self.payload.installation
            d["serial"] = self.payload.serial
        return d


class WatermarkDecoder:
    """Streaming detector: ``add`` frames (any sizes of one clip), then ``result()``."""

    def __init__(self, keys: Iterable[WatermarkKey | str | bytes] | None = None,
                 profiles: Sequence[str] = tuple(P.PROFILES), scales: Sequence[float] = P.SCALES,
                 sync_peaks: int = SYNC_PEAKS, mirror: bool = True):
        self.keys = detection_keys() if keys is None else [as_key(k) for k in keys]
        if not self.keys:
            raise ValueError("at least one key is needed")
        unknown = [p for p in profiles if p not in P.PROFILES]
        if unknown:
            raise ValueError(f"unknown watermark profiles {unknown}")
        self.profiles = tuple(profiles)
        self.scales = tuple(scales)
        self.sync_peaks = sync_peaks
        self.orientations = (False, True) if mirror else (False,)
        self._sums: dict[int, np.ndarray] = {}
        self._counts: dict[int, np.ndarray] = {}
        self.frames = 0

    @property
    def trials(self) -> int:
        return len(self.keys) * len(self.profiles) * len(self.scales) * len(self.orientations) * self.sync_peaks

    def thresholds(self) -> falsealarm.Thresholds:
        return falsealarm.thresholds(P.CODED_BITS, P.PAYLOAD_BITS, self.trials)

    def add(self, frame: np.ndarray) -> None:
        residual = whitened_luma(_check_frame(frame))
        h, w = residual.shape
        for period in P.periods(self.scales):
            if 2 * h < period or 2 * w < period:  # under half a period: too little to fold
                continue
            sums, counts = fold(residual, period)
            if period in self._sums:
                self._sums[period] += sums
                self._counts[period] += counts
            else:
                self._sums[period], self._counts[period] = sums, counts
        self.frames += 1

    def candidates(self) -> list[Candidate]:
        out = []
        for period, scale in zip(P.periods(self.scales), self.scales):
            if period not in self._sums:
                continue
            tile = self._sums[period] / np.maximum(self._counts[period], 1.0)
            for mirrored in self.orientations:
                # A left-right mirrored frame folds to the mirrored tile (up to a shift).
                view = np.ascontiguousarray(tile[:, ::-1]) if mirrored else tile
                for key in self.keys:
                    for profile in self.profiles:
                        layout = P.layout_for(key, profile)
                        out.extend(_decode_candidates(view, layout, scale, mirrored, self.sync_peaks))
        return out

    def result(self) -> WatermarkResult:
        th = self.thresholds()
        cands = self.candidates()
        passing = [c for c in cands if c.matches >= th.bits or c.score >= th.score]
        pool = passing or cands
        best = max(pool, key=lambda c: c.score) if pool else None
        found = bool(passing)
        payload = Payload.from_int(best.payload) if found else None
        return WatermarkResult(
            found=found,
            payload_hex=payload.hex if payload else None,
            payload=payload,
            bit_accuracy=best.matches / P.CODED_BITS if best else 0.0,
            matching_bits=best.matches if best else 0,
            coded_bits=P.CODED_BITS,
            bit_threshold=th.bits,
            score=best.score if best else 0.0,
            score_threshold=th.score,
            false_rate_bound=th.false_rate_bound,
            trials=th.trials,
            frames=self.frames,
            key=best.key.name if found else None,
            key_fingerprint=best.key.fingerprint if found else None,
            profile=best.profile if found else None,
            scale=best.scale if found else None,
            mirrored=best.mirrored if found else None,
            shift=best.shift if found else None,
            sync_score=best.sync_score if best else 0.0,
            best_guess_hex=f"{best.payload:016x}" if best else None,
        )

