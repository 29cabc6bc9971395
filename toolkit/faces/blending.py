"""Paste an edited aligned crop back into its frame: feathered mask + colour matching.

Work is confined to the frame rectangle the crop lands on, so the cost follows the face
size, not the frame size. Colour matching is Reinhard et al. (2001): shift and scale each
channel of the pasted pixels in CIE-LAB so their mean and standard deviation inside the
mask equal the frame's, which hides lighting and white-balance differences of a generator.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.faces.geometry import invert_affine, transform_points


def feather_mask(mask: np.ndarray, feather: float) -> np.ndarray:
    """Float mask in [0, 1], eroded then blurred by ``feather`` x the mask's size so the
    edge fades out inside the region (nothing bleeds beyond it)."""
    m = (np.asarray(mask, np.float32) / (255.0 if mask.dtype == np.uint8 else 1.0)).clip(0, 1)
    if feather <= 0:
        return m
    ys, xs = np.nonzero(m > 0.5)
    if ys.size == 0:
        return m
    extent = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
    radius = max(1, int(round(extent * feather / 2)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    m = cv2.erode(m, kernel)
    return cv2.GaussianBlur(m, (0, 0), sigmaX=radius / 2 + 1e-3)


def match_colors(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard colour transfer: ``source`` (RGB uint8) recoloured so its LAB mean/std
    inside ``mask`` match ``target``'s inside the same mask."""
    inside = np.asarray(mask) > 0.5
    if inside.sum() < 16:
        return source
    src = cv2.cvtColor(source.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    dst = cv2.cvtColor(target.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    s_px, d_px = src[inside], dst[inside]
    s_mean, s_std = s_px.mean(axis=0), s_px.std(axis=0)
    d_mean, d_std = d_px.mean(axis=0), d_px.std(axis=0)
    gain = d_std / np.maximum(s_std, 1e-3)
    gain = np.clip(gain, 0.2, 5.0)  # flat regions must not explode
    out = (src - s_mean) * gain + d_mean
    rgb = cv2.cvtColor(out.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _landing_rect(matrix: np.ndarray, crop_size: tuple[int, int], width: int, height: int) -> tuple[int, int, int, int] | None:
    h, w = crop_size
    corners = transform_points(np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64), invert_affine(matrix))
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def paste_back(frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray | None = None,
               feather: float = 0.08, color_match: bool = True) -> np.ndarray:
    """Blend ``crop`` (aligned with ``matrix``, frame -> crop) back into a copy of ``frame``.

    ``mask`` is at crop resolution (uint8 0..255 or float 0..1), e.g.
    ``face_mask(mesh, crop.shape, "hull", matrix)``; by default the whole crop minus its
    border. ``feather`` is the soft edge as a fraction of the mask size.
    """
    if crop.ndim != 3 or crop.shape[2] != 3 or frame.ndim != 3:
        raise ValueError("frame and crop must be RGB (H, W, 3)")
    ch, cw = crop.shape[:2]
    if mask is None:
        mask = np.ones((ch, cw), np.float32)
    soft = feather_mask(mask, feather)
    soft[[0, -1], :] = 0  # bilinear sampling at the crop edge would pull in the border value
    soft[:, [0, -1]] = 0
    out = frame.copy()
    rect = _landing_rect(matrix, (ch, cw), frame.shape[1], frame.shape[0])
    if rect is None:
        return out
    x0, y0, x1, y1 = rect
    # Shift the matrix so the warp only fills the landing rectangle.
    local = np.asarray(matrix, np.float64) @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    pasted = cv2.warpAffine(crop, local, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(soft, local, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    region = out[y0:y1, x0:x1]
    if color_match:
        pasted = match_colors(pasted, region, alpha)
    a = alpha[..., None]
    out[y0:y1, x0:x1] = np.clip(region * (1 - a) + pasted * a + 0.5, 0, 255).astype(np.uint8)
    return out
