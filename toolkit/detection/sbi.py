"""Self-blended images (Shiohara & Yamasaki, CVPR 2022) from real faces and their meshes.

For a real face, a *source* and a *target* copy of the same image are made; one of them
is degraded (colour shift, brightness/contrast, down-and-up scaling or sharpening), the
source is shifted and rescaled by a few percent, and the source is blended into the target
through a soft mask grown from a hull of the face mesh (randomly deformed, blurred twice,
scaled by a blend ratio from {0.25, 0.5, 0.75, 1, 1, 1}). The result looks like the same
person but carries the statistical traces every face-swap pipeline leaves at its blending
boundary: colour and frequency mismatch and a seam. A network trained to tell the pair
apart learns those traces from real faces only, never from a generator's output.

Then both images go through the same post-processing (colour jitter, JPEG 40-100,
horizontal flip), are cropped like :func:`toolkit.detection.crops.face_crop` crops at
inference, and resized. The *boundary map* ``4 m (1 - m)`` of the final mask (Face X-ray,
Li et al. 2020) is returned too: the network's auxiliary head predicts it, which gives the
report a heatmap of where the blend is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from toolkit.detection import crops

BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
MAP_STRIDE = 8  # boundary map side = input side / MAP_STRIDE
# Which part of the face is blended: (name, probability).
MASK_REGIONS = (("hull", 0.45), ("below_brows", 0.2), ("inner", 0.2), ("lower", 0.1), ("mouth", 0.05))


@dataclass
class RealFace:
    """One real face for training: an image region around it and its mesh in that region."""

    image: np.ndarray  # RGB uint8
    points: np.ndarray  # (478, 2) float32, pixels of ``image``
    source: str  # file it came from (identity bookkeeping for the model card)

    @classmethod
    def from_frame(cls, image: np.ndarray, points: np.ndarray, source: str, margin: float = 1.65,
                   max_side: int = 360) -> "RealFace":
        """Keep only a region ``margin`` x the face around it (downscaled to ``max_side``),
        so generating a pair costs the same for a 4K frame as for a 360p one."""
        box = crops.square_box(points, scale=margin)
        region = crops.cut(image, box)
        pts = np.asarray(points, np.float32)[:, :2] - box[:2].astype(np.float32)
        side = region.shape[0]
        if side > max_side:
            f = max_side / side
            region = cv2.resize(region, (max_side, max_side), interpolation=cv2.INTER_AREA)
            pts = pts * f
        return cls(np.ascontiguousarray(region), pts.astype(np.float32), source)


@lru_cache(maxsize=None)
def _region_indices() -> dict[str, np.ndarray]:
    from mediapipe.python.solutions import face_mesh_connections as fmc

    def idx(*sets: frozenset) -> np.ndarray:
        return np.array(sorted({i for s in sets for edge in s for i in edge}), np.int64)

    return {
        "oval": idx(fmc.FACEMESH_FACE_OVAL),
        "inner": idx(fmc.FACEMESH_LEFT_EYE, fmc.FACEMESH_RIGHT_EYE, fmc.FACEMESH_LEFT_EYEBROW,
                     fmc.FACEMESH_RIGHT_EYEBROW, fmc.FACEMESH_NOSE, fmc.FACEMESH_LIPS),
        "nose": idx(fmc.FACEMESH_NOSE),
        "lips": idx(fmc.FACEMESH_LIPS),
        "brows": idx(fmc.FACEMESH_LEFT_EYEBROW, fmc.FACEMESH_RIGHT_EYEBROW),
    }


def region_points(points: np.ndarray, region: str) -> np.ndarray:
    """Mesh points whose hull is the blending region ``region`` (see :data:`MASK_REGIONS`)."""
    pts = np.asarray(points)[:468, :2]
    r = _region_indices()
    # "Down" in face coordinates: from the brows' centre towards the chin (handles head roll).
    brow = pts[r["brows"]].mean(axis=0)
    chin = pts[152]
    axis = (chin - brow) / max(np.linalg.norm(chin - brow), 1e-6)
    depth = (pts - brow) @ axis
    if region == "hull":
        return pts
    if region == "below_brows":
        return pts[depth >= 0]
    if region == "inner":
        return pts[r["inner"]]
    if region == "lower":
        nose_depth = ((pts[r["nose"]] - brow) @ axis).min()
        return pts[depth >= nose_depth]
    if region == "mouth":
        lips = pts[r["lips"]]
        centre = lips.mean(axis=0)
        grow = 1.35  # the lips plus a band of skin around them
        return centre + (lips - centre) * grow
    raise ValueError(f"unknown blend region {region!r}")


def _mask_from_points(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.float32)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0)
    return mask


# -- image degradations --------------------------------------------------------------------
def _colour(img: np.ndarray, rng: np.random.Generator, strong: bool) -> np.ndarray:
    """RGB shift (p 0.3), hue/saturation/value jitter and brightness/contrast jitter
    (always for the source degradation, p 0.3 each for the shared post-processing)."""
    out = img
    if strong or rng.random() < 0.3:
        hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
        lut_h = ((np.arange(256) + rng.uniform(-5, 5)) % 180).astype(np.uint8)
        lut_s = np.clip(np.arange(256) * rng.uniform(0.85, 1.15), 0, 255).astype(np.uint8)
        lut_v = np.clip(np.arange(256) * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8)
        hsv = cv2.merge([cv2.LUT(hsv[..., 0], lut_h), cv2.LUT(hsv[..., 1], lut_s), cv2.LUT(hsv[..., 2], lut_v)])
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    gain = np.ones(3)
    offset = np.zeros(3)
    if rng.random() < 0.3:
        offset += rng.uniform(-20, 20, size=3)
    if strong or rng.random() < 0.3:
        limit = 0.1 if strong else 0.3
        alpha = 1 + rng.uniform(-limit, limit)  # contrast
        beta = rng.uniform(-limit, limit) * 255 * 0.5  # brightness
        gain *= alpha
        offset = offset * alpha + 128 * (1 - alpha) + beta
    if np.any(gain != 1) or np.any(offset != 0):
        lut = np.clip(np.arange(256)[:, None] * gain + offset, 0, 255).astype(np.uint8)  # (256, 3)
        out = cv2.merge([cv2.LUT(out[..., c], lut[:, c]) for c in range(3)])
    return out


def _down_up(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    r = int(rng.choice([2, 4]))
    small = cv2.resize(img, (max(1, w // r), max(1, h // r)), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _sharpen(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    alpha = rng.uniform(0.2, 0.5)
    lightness = rng.uniform(0.5, 1.0)
    kernel = np.array([[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]], np.float32)
    identity = np.zeros((3, 3), np.float32)
    identity[1, 1] = 1
    k = (1 - alpha) * identity + alpha * kernel
    return np.clip(cv2.filter2D(img.astype(np.float32), -1, k), 0, 255).astype(np.uint8)


def source_transform(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The degradation that makes source and target differ (SBI's source transforms)."""
    out = _colour(img, rng, strong=True)
    return _down_up(out, rng) if rng.random() < 0.5 else _sharpen(out, rng)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) if ok else img


# -- geometry of the source ------------------------------------------------------------------
def _affine(src: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    h, w = src.shape[:2]
    s = rng.uniform(0.95, 1 / 0.95)
    tx, ty = rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.015, 0.015) * h
    m = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], np.float32)
    src = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return src, mask


def _elastic(mask: np.ndarray, rng: np.random.Generator, alpha: float = 50.0, sigma: float = 7.0) -> np.ndarray:
    """Elastic deformation of the mask edge (a smooth random displacement field).

    The field is drawn at half resolution (it is smooth at ``sigma`` anyway) to save time."""
    h, w = mask.shape
    hh, hw = max(2, h // 2), max(2, w // 2)
    field = rng.uniform(-1, 1, (hh, hw, 2)).astype(np.float32)
    field = cv2.GaussianBlur(field, (0, 0), sigma / 2) * alpha
    field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, xs + field[..., 0], ys + field[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def _odd(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.choice(np.arange(lo, hi + 1, 2)))


def blend_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """SBI's soft mask: shrink to ~200 px, blur, cut below 1 (erodes), blur again, restore size."""
    h, w = mask.shape
    small = cv2.resize(mask, (int(rng.integers(192, 257)), int(rng.integers(192, 257))))
    k1 = _odd(rng, 5, 25)
    m = cv2.GaussianBlur(small, (k1, k1), 0)
    m = m / max(float(m.max()), 1e-6)
    m[m < 1] = 0
    k2 = _odd(rng, 5, 25)
    m = cv2.GaussianBlur(m, (k2, k2), float(rng.integers(5, 46)))
    m = m / max(float(m.max()), 1e-6)
    return cv2.resize(m, (w, h))


# -- the pair ------------------------------------------------------------------------------------
def self_blend(face: RealFace, rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training pair from one real face: ``(real, fake, boundary_map)``.

    ``real`` and ``fake`` are ``(size, size, 3)`` uint8 crops; ``boundary_map`` is
    ``(size // 8, size // 8)`` float32 in [0, 1] (all zeros belongs to ``real``).
    """
    img, pts = face.image, face.points.astype(np.float32)
    # Face-size jitter: the network must see faces of the sizes video gives it.
    face_side = float(np.ptp(pts[:, 0]) + np.ptp(pts[:, 1])) / 2
    lo = min(1.0, 48.0 / max(face_side, 1.0))
    scale = rng.uniform(max(0.55, lo), 1.1) if face_side > 60 else 1.0
    if abs(scale - 1.0) > 0.02:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        pts = pts * scale
    region = MASK_REGIONS[int(rng.choice(len(MASK_REGIONS), p=[p for _, p in MASK_REGIONS]))][0]
    mask = _mask_from_points(region_points(pts, region), img.shape[:2])
    target = img.copy()
    source = img.copy()
    if rng.random() < 0.5:
        source = source_transform(source, rng)
    else:
        target = source_transform(target, rng)
    source, mask = _affine(source, mask, rng)
    mask = _elastic(mask, rng)
    soft = blend_mask(mask, rng) * float(rng.choice(BLEND_RATIOS))
    soft3 = soft.astype(np.float32)[..., None]
    tgt = target.astype(np.float32)
    fake = np.clip(tgt + soft3 * (source.astype(np.float32) - tgt) + 0.5, 0, 255).astype(np.uint8)
    real = target

    # Identical post-processing for both, so only the blend tells them apart.
    post_seed = int(rng.integers(1 << 31))
    real = _post(real, np.random.default_rng(post_seed))
    fake = _post(fake, np.random.default_rng(post_seed))
    box = crops.square_box(pts, scale=rng.uniform(1.15, 1.4), shift=(rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)))
    real = crops.resize(crops.cut(real, box), size)
    fake = crops.resize(crops.cut(fake, box), size)
    m = size // MAP_STRIDE
    soft_crop = cv2.resize(crops.cut(soft.astype(np.float32), box), (m, m), interpolation=cv2.INTER_AREA)
    boundary = np.clip(4 * soft_crop * (1 - soft_crop), 0, 1).astype(np.float32)
    if rng.random() < 0.5:
        real, fake, boundary = real[:, ::-1].copy(), fake[:, ::-1].copy(), boundary[:, ::-1].copy()
    return real, fake, boundary


def _post(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = _colour(img, rng, strong=False)
    if rng.random() < 0.5:
        out = _jpeg(out, int(rng.integers(40, 101)))
    return out
