"""Thin stand-in for the shared face pipeline (``toolkit.faces``, written in parallel).

Only what the GAN core needs: 478-point landmarks (video tracking mode), the canonical
aligned crop, a face mask and paste-back. Replaced by ``toolkit.faces`` once it lands.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.gan import topology as topo

# Canonical crop: where the eye centres and the nose ridge land, as fractions of the side.
# The face fills about the middle 60% so hair, jaw and chin stay inside when the mouth opens.
_TEMPLATE = np.array([[0.385, 0.43], [0.615, 0.43], [0.5, 0.53]], dtype=np.float64)


class LandmarkTracker:
    """MediaPipe face mesh with iris refinement; ``video=True`` tracks between calls."""

    def __init__(self, video: bool = True):
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not video, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=0.5, min_tracking_confidence=0.5,
        )

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """(478, 2) float32 pixel coordinates of the most prominent face, or None."""
        result = self._mesh.process(np.ascontiguousarray(image))
        if not result.multi_face_landmarks:
            return None
        h, w = image.shape[:2]
        lm = result.multi_face_landmarks[0].landmark
        return np.array([(p.x * w, p.y * h) for p in lm], dtype=np.float32)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> "LandmarkTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _anchors(landmarks: np.ndarray) -> np.ndarray:
    lm = landmarks.astype(np.float64)
    return np.stack([
        lm[list(topo.EYE_CORNERS_A)].mean(0),
        lm[list(topo.EYE_CORNERS_B)].mean(0),
        lm[list(topo.NOSE_RIDGE)].mean(0),
    ])


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping ``src`` points onto ``dst``: a 2x3 matrix."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / (s**2).sum(1).mean()
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def alignment_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """2x3 similarity mapping frame pixels to the canonical ``size`` x ``size`` crop."""
    return _similarity(_anchors(landmarks), _TEMPLATE * size)


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA if matrix[0, 0] ** 2 + matrix[0, 1] ** 2 < 0.5
                          else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return (points.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def face_mask(landmarks: np.ndarray, size: int | tuple[int, int], grow: float = 0.0) -> np.ndarray:
    """Filled face-oval hull (float32 0..1), optionally grown about its centre."""
    h, w = (size, size) if isinstance(size, int) else size
    pts = landmarks[topo.FACE_OVAL].astype(np.float64)
    if grow:
        c = pts.mean(0)
        pts = c + (pts - c) * (1.0 + grow)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(pts).astype(np.int32), 255, lineType=cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def _colour_matched(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift ``src``'s Lab mean/std inside ``mask`` onto ``dst``'s, so seams do not show."""
    sel = mask > 0.5
    if sel.sum() < 16:
        return src
    s = cv2.cvtColor(src, cv2.COLOR_RGB2LAB).astype(np.float32)
    d = cv2.cvtColor(dst, cv2.COLOR_RGB2LAB).astype(np.float32)
    ms, ss = s[sel].mean(0), s[sel].std(0) + 1e-3
    md, sd = d[sel].mean(0), d[sel].std(0) + 1e-3
    out = (s - ms) * np.clip(sd / ss, 0.7, 1.4) + md
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def paste_back(frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray,
               feather: float = 0.04, colour_match: bool = True) -> np.ndarray:
    """Blend ``crop`` (canonical space) into ``frame`` through a feathered ``mask``.

    Only the frame region under the mask is touched (and computed).
    """
    size = crop.shape[0]
    h, w = frame.shape[:2]
    k = max(3, int(size * feather) | 1)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (k, k), 0)
    inv = cv2.invertAffineTransform(matrix)
    ys, xs = np.nonzero(soft > 1e-3)
    if len(xs) == 0:
        return frame.copy()
    corners = np.array([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.min(), ys.max()], [xs.max(), ys.max()]],
                       np.float64) 
    box = corners @ inv[:, :2].T + inv[:, 2]
    x0, y0 = np.floor(box.min(0)).astype(int) - 1
    x1, y1 = np.ceil(box.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return frame.copy()
    if colour_match:
        under = warp_to_crop(frame, matrix, size)
        crop = _colour_matched(crop, under, mask)
    roi_inv = inv.copy()
    roi_inv[:, 2] -= (x0, y0)  # crop -> ROI pixels
    rw, rh = x1 - x0, y1 - y0
    face = cv2.warpAffine(crop, roi_inv, (rw, rh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(soft, roi_inv, (rw, rh), flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    out = frame.copy()
    roi = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(roi + (face.astype(np.float32) - roi) * alpha + 0.5, 0, 255).astype(np.uint8)
    return out
