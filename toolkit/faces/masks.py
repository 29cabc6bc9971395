"""Binary region masks drawn from the face mesh, at frame or aligned-crop resolution.

Each region is the convex hull of its mesh points: the face hull, the face oval, the
mouth (outer lips), the inner mouth, each eye, or both eyes. Convex hulls are slightly
generous for the lips and eyes, which is what blending and inpainting want anyway.
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.faces import mesh_topology as topo
from toolkit.faces.geometry import transform_points
from toolkit.faces.records import MeshFace, TrackedFace


def _points_of(face: MeshFace | TrackedFace | np.ndarray) -> np.ndarray:
    if isinstance(face, TrackedFace):
        if face.mesh is None:
            raise ValueError("this face has no mesh; masks need the 478-point mesh")
        return face.mesh.points
    if isinstance(face, MeshFace):
        return face.points
    return np.asarray(face)[:, :2]


def face_mask(face: MeshFace | TrackedFace | np.ndarray, shape: tuple[int, ...], region: str = "hull",
              matrix: np.ndarray | None = None) -> np.ndarray:
    """``uint8`` mask (0 or 255) of ``region`` with the height and width of ``shape``.

    ``face`` is a mesh in frame pixels; pass ``matrix`` (frame -> crop, e.g.
    ``AlignedFace.matrix``) and the crop's shape to draw it at crop resolution.
    """
    points = _points_of(face)
    if matrix is not None:
        points = transform_points(points, matrix)
    h, w = shape[:2]
    mask = np.zeros((h, w), np.uint8)
    groups = ("right_eye", "left_eye") if region == "eyes" else (region,)
    for group in groups:
        pts = points[list(topo.region_indices(group))]
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_8)
    return mask


def face_masks(face: MeshFace | TrackedFace | np.ndarray, shape: tuple[int, ...],
               matrix: np.ndarray | None = None, regions: tuple[str, ...] = ("hull", "mouth", "eyes")) -> dict[str, np.ndarray]:
    """Several region masks at once (``{"hull": ..., "mouth": ..., "eyes": ...}``)."""
    return {r: face_mask(face, shape, r, matrix) for r in regions}
