"""Face crops and skin regions from the 478-point mesh, shared by training and inference.

A detector crop is a square around the mesh box (forehead to chin, cheek to cheek),
``scale`` times its longer side, cut at the frame's native resolution and only then
resized to the network's input size. Training crops (:mod:`toolkit.detection.sbi`) take
exactly the same path, so real faces look the same to the network in both.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

CROP_SCALE = 1.25  # crop side / longer side of the mesh box
CENTER_LIFT = 0.0  # the mesh box already spans the forehead


def mesh_box(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points)[:, :2]
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


def square_box(points: np.ndarray, scale: float = CROP_SCALE, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Integer square ``(x0, y0, x1, y1)`` around the mesh; ``shift`` moves the centre by
    a fraction of the side (training jitter)."""
    box = mesh_box(points)
    side = max(box[2] - box[0], box[3] - box[1]) * scale
    cx = (box[0] + box[2]) / 2 + shift[0] * side
    cy = (box[1] + box[3]) / 2 + shift[1] * side
    half = max(side / 2, 4.0)
    x0, y0 = int(np.floor(cx - half)), int(np.floor(cy - half))
    s = int(np.ceil(2 * half))
    return np.array([x0, y0, x0 + s, y0 + s], np.int64)


def cut(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The pixels of integer ``box``; parts outside the frame are mirrored in."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    if pad:
        src = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        return src[y0 + pad:y1 + pad, x0 + pad:x1 + pad].copy()
    return image[y0:y1, x0:x1].copy()


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square crop to ``size``: area averaging down, bilinear up."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def face_crop(image: np.ndarray, points: np.ndarray, size: int, scale: float = CROP_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """``(crop resized to size x size, box in frame pixels)`` for one face."""
    box = square_box(points, scale)
    return resize(cut(image, box), size), box


def hull_mask(points: np.ndarray, shape: tuple[int, int], indices: np.ndarray | None = None) -> np.ndarray:
    """``uint8`` 0/1 mask of the convex hull of (a subset of) the mesh points."""
    pts = np.asarray(points)[:, :2] if indices is None else np.asarray(points)[indices, :2]
    mask = np.zeros(shape[:2], np.uint8)
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    return mask


# -- skin regions for the pulse and flicker methods ------------------------------------------
# Mesh points at the centre of each region; radii are fractions of the inter-ocular distance.
# 151 / 10: mid / top of the forehead, 205 / 425: the subject's right / left cheek (below the cheekbone).
SKIN_REGIONS: dict[str, tuple[tuple[int, ...], float]] = {
    "forehead": ((151, 10, 151), 0.25),
    "right_cheek": ((205, 50, 187), 0.22),
    "left_cheek": ((425, 280, 411), 0.22),
}
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263


def interocular(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[RIGHT_EYE_OUTER, :2] - points[LEFT_EYE_OUTER, :2]))


@lru_cache(maxsize=256)
def _disk(r: int) -> np.ndarray:
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (xx ** 2 + yy ** 2) <= r * r


def skin_region_means(image: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
    """Mean RGB (float64, 0-255) of each skin region of one face; regions off the frame are left out."""
    h, w = image.shape[:2]
    iod = max(interocular(points), 4.0)
    out: dict[str, np.ndarray] = {}
    for name, (indices, radius) in SKIN_REGIONS.items():
        cx, cy = points[list(indices), :2].mean(axis=0)
        r = max(2, int(round(radius * iod)))
        x0, y0 = int(round(cx)) - r, int(round(cy)) - r
        if x0 < 0 or y0 < 0 or x0 + 2 * r + 1 > w or y0 + 2 * r + 1 > h:
            continue
        patch = image[y0:y0 + 2 * r + 1, x0:x0 + 2 * r + 1]
        out[name] = patch[_disk(r)].mean(axis=0, dtype=np.float64)
    return out
