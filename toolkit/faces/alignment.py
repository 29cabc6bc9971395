"""Warp a face to a canonical upright crop of any size, and back.

The canonical template is the widely used 5-point ArcFace layout for a 112x112 crop.
``padding`` widens the crop around it (0 = the tight ArcFace crop; 0.25 adds a quarter of
the crop on each side, enough for forehead, chin and cheeks), so every consumer aligns to
the same geometry whatever size it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from toolkit.faces.geometry import affine_scale, invert_affine, similarity_transform, transform_points
from toolkit.faces.records import DetectedFace, Keypoints, MeshFace, TrackedFace

# ArcFace template on a 112x112 crop, subject's view names.
_ARCFACE_112 = {
    "right_eye": (38.2946, 51.6963),
    "left_eye": (73.5318, 51.5014),
    "nose": (56.0252, 71.7366),
    "mouth_right": (41.5493, 92.3655),
    "mouth_left": (70.7299, 92.2041),
}
_ARCFACE_112["mouth"] = tuple(np.mean([_ARCFACE_112["mouth_right"], _ARCFACE_112["mouth_left"]], axis=0))

DEFAULT_PADDING = 0.25


def template(size: int, padding: float = DEFAULT_PADDING) -> dict[str, tuple[float, float]]:
    """Canonical keypoint positions in a ``size`` x ``size`` crop."""
    if size < 8:
        raise ValueError("an aligned crop must be at least 8 px")
    if padding < 0:
        raise ValueError("padding must be >= 0")
    out = {}
    for name, (x, y) in _ARCFACE_112.items():
        out[name] = ((x / 112 + padding) / (1 + 2 * padding) * size, (y / 112 + padding) / (1 + 2 * padding) * size)
    return out


@dataclass
class AlignedFace:
    """An aligned crop and the 2x3 matrix that maps frame pixels to crop pixels."""

    image: np.ndarray
    matrix: np.ndarray
    size: int

    @property
    def inverse(self) -> np.ndarray:
        """2x3 matrix from crop pixels back to frame pixels."""
        return invert_affine(self.matrix)

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        return transform_points(points, self.matrix)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        return transform_points(points, self.inverse)


def _keypoints_of(face: DetectedFace | MeshFace | TrackedFace | Keypoints) -> Keypoints:
    if isinstance(face, dict):
        return face
    if isinstance(face, TrackedFace) and face.mesh is not None:
        return face.mesh.keypoints
    return face.keypoints


def alignment_matrix(face: DetectedFace | MeshFace | TrackedFace | Keypoints, size: int,
                     padding: float = DEFAULT_PADDING) -> np.ndarray:
    """2x3 similarity matrix (frame -> crop) fitting the face's keypoints to the template.

    Uses the five mesh points when a mesh is known, else whichever template points the
    detector gave (MediaPipe's detector has the mouth centre, not its corners).
    """
    keypoints = _keypoints_of(face)
    target = template(size, padding)
    names = [n for n in ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left", "mouth") if n in keypoints]
    if "mouth_right" in keypoints and "mouth_left" in keypoints and "mouth" in names:
        names.remove("mouth")  # the corners already pin the mouth
    if "right_eye" not in names or "left_eye" not in names:
        raise ValueError("alignment needs at least both eye keypoints")
    src = np.array([keypoints[n] for n in names], dtype=np.float64)
    dst = np.array([target[n] for n in names], dtype=np.float64)
    return similarity_transform(src, dst)


def align_face(image: np.ndarray, face: DetectedFace | MeshFace | TrackedFace | Keypoints, size: int = 256,
               padding: float = DEFAULT_PADDING) -> AlignedFace:
    """Cut an upright ``size`` x ``size`` crop of ``face`` out of ``image``."""
    matrix = alignment_matrix(face, size, padding)
    crop = warp_to_crop(image, matrix, size)
    return AlignedFace(crop, matrix, size)


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    matrix = np.asarray(matrix, np.float64)
    scale = affine_scale(matrix)
    if scale < 0.5:
        # warpAffine only samples bilinearly: shrink with area filtering first so large
        # faces in high-resolution frames do not alias.
        f = scale * 2
        h, w = image.shape[:2]
        small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        fx, fy = small.shape[1] / w, small.shape[0] / h
        # cv2.resize samples small pixel x at (x + 0.5) / fx - 0.5 of the original.
        matrix = matrix @ np.array([[1 / fx, 0, 0.5 / fx - 0.5], [0, 1 / fy, 0.5 / fy - 0.5], [0, 0, 1]])
        image = small
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def warp_to_frame(crop: np.ndarray, matrix: np.ndarray, frame_shape: tuple[int, ...],
                  border_value: float = 0) -> np.ndarray:
    """Inverse warp: put ``crop`` back in frame coordinates (``matrix`` maps frame -> crop).
    Pixels outside the crop get ``border_value``."""
    h, w = frame_shape[:2]
    return cv2.warpAffine(crop, np.asarray(matrix, np.float64), (w, h),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
