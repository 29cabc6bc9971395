"""Piecewise-affine warp of a face crop from one landmark set to another.

Triangles: MediaPipe's face tessellation for the face surface, fans over the eye and
mouth holes (iris points included, so gaze moves the iris), and a Delaunay band from the
face oval through a ring around it (hair and neck move with the head) to fixed points on
the crop border (the background stays). Drawing back to front with back-face culling keeps
the nose in front of the cheek when the head turns, instead of folding triangles.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass

import cv2
import numpy as np
from matplotlib.path import Path as PolyPath
from mediapipe.python.solutions import face_mesh_connections as _mp
from scipy.spatial import Delaunay

from toolkit.gan import topology as topo

_RING_SCALE = 1.4
_BORDER_STEPS = 6  # points per crop side
_NOSE_TIP = 1


def _tessellation() -> np.ndarray:
    adj: dict[int, set[int]] = defaultdict(set)
    for a, b in _mp.FACEMESH_TESSELATION:
        adj[a].add(b)
        adj[b].add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in _mp.FACEMESH_TESSELATION for c in adj[a] & adj[b]}
    uses = Counter(e for t in tris for e in itertools.combinations(t, 2))
    # A 3-cycle whose every edge already borders two faces is not a face of the surface.
    return np.array(sorted(t for t in tris if not all(uses[e] > 2 for e in itertools.combinations(t, 2))),
                    dtype=np.int32)


FACE_TRIANGLES = _tessellation()


def border_points(size: int) -> np.ndarray:
    t = np.linspace(0, size - 1, _BORDER_STEPS + 1)[:-1]
    e = np.full_like(t, size - 1)
    z = np.zeros_like(t)
    return np.concatenate([np.stack([t, z], 1), np.stack([e, t], 1),
                           np.stack([e - t, e], 1), np.stack([z, e - t], 1)]).astype(np.float32)


def control_points(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Mesh points + a ring that follows the face oval + fixed border points."""
    lm = landmarks[:, :2].astype(np.float32)
    oval = lm[topo.FACE_OVAL]
    centre = oval.mean(0)
    ring = centre + (oval - centre) * _RING_SCALE
    return np.concatenate([lm, ring, border_points(size)])


def _inside(points: np.ndarray, tris: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    return PolyPath(polygon).contains_points(points[tris].mean(1))


def _hole_fill(points: np.ndarray, loop: list[int], extra: list[int] = ()) -> np.ndarray:
    ids = np.array(list(loop) + list(extra))
    local = Delaunay(points[ids]).simplices
    keep = _inside(points[ids], local, points[loop])
    return ids[local[keep]]


@dataclass
class Triangulation:
    """Triangles in drawing order; ``cull`` marks those hidden when they flip."""

    triangles: np.ndarray  # (T, 3) int32 indices into control_points
    cull: np.ndarray  # (T,) bool
    orientation: np.ndarray  # (T,) +1/-1 signed-area sign on the mean shape

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"triangles": self.triangles, "cull": self.cull, "orientation": self.orientation}


def triangulate(mean_landmarks: np.ndarray, size: int) -> Triangulation:
    """Build the drawing-ordered triangulation on the subject's mean shape (crop pixels)."""
    pts = control_points(mean_landmarks, size).astype(np.float64)
    n = topo.NUM_POINTS
    oval = list(topo.FACE_OVAL)
    outer_ids = np.array(oval + list(range(n, len(pts))))
    local = Delaunay(pts[outer_ids]).simplices
    outer = outer_ids[local[~_inside(pts[outer_ids], local, pts[oval])]]
    surface = np.concatenate([
        FACE_TRIANGLES,
        _hole_fill(pts, topo.EYE_A, topo.IRIS_A + [topo.IRIS_A_CENTER]),
        _hole_fill(pts, topo.EYE_B, topo.IRIS_B + [topo.IRIS_B_CENTER]),
        _hole_fill(pts, topo.LIPS_INNER),
    ])
    # Back to front: the farther a triangle from the nose tip, the farther from the camera.
    depth = np.linalg.norm(pts[surface].mean(1) - pts[_NOSE_TIP], axis=1)
    surface = surface[np.argsort(-depth, kind="stable")]
    tris = np.concatenate([outer, surface]).astype(np.int32)
    cull = np.concatenate([np.zeros(len(outer), bool), np.ones(len(surface), bool)])
    return Triangulation(tris, cull, np.sign(_signed_area(pts[tris])).astype(np.int8))


def _signed_area(tri: np.ndarray) -> np.ndarray:
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))


class MeshWarper:
    """Warp crops between landmark sets with a fixed triangulation."""

    def __init__(self, triangulation: Triangulation, size: int):
        self.tri = triangulation
        self.size = size
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        self._x, self._y = xs, ys

    def flow(self, src_landmarks: np.ndarray, dst_landmarks: np.ndarray) -> np.ndarray:
        """(S, S, 2) float32 map: for each pixel of the target, where to sample the source."""
        tris = self.tri.triangles
        tri_src = control_points(src_landmarks, self.size).astype(np.float64)[tris]  # (T, 3, 2)
        tri_dst = control_points(dst_landmarks, self.size).astype(np.float64)[tris]
        area = _signed_area(tri_dst)
        visible = (np.abs(area) > 1e-3) & (~self.tri.cull | (np.sign(area) == self.tri.orientation))
        # Per triangle, the affine map dst -> src in closed form: A = Q P^-1 on edge vectors.
        p = (tri_dst[:, 1:] - tri_dst[:, :1]).transpose(0, 2, 1)  # (T, 2, 2) columns p1-p0, p2-p0
        q = (tri_src[:, 1:] - tri_src[:, :1]).transpose(0, 2, 1)
        det = np.where(visible, p[:, 0, 0] * p[:, 1, 1] - p[:, 0, 1] * p[:, 1, 0], 1.0)
        p_inv = np.stack([np.stack([p[:, 1, 1], -p[:, 0, 1]], -1), np.stack([-p[:, 1, 0], p[:, 0, 0]], -1)], 1)
        lin = q @ (p_inv / det[:, None, None])
        affine = np.zeros((len(tris) + 1, 2, 3), np.float32)
        affine[-1] = [[1, 0, 0], [0, 1, 0]]  # index -1: pixels no triangle covers keep their place
        affine[:-1, :, :2] = lin
        affine[:-1, :, 2] = tri_src[:, 0] - (lin @ tri_dst[:, 0, :, None])[..., 0]
        ids = np.full((self.size, self.size), -1, np.int32)
        fixed = np.round(tri_dst * 16).astype(np.int32)  # 4 fractional bits
        for t in np.flatnonzero(visible):
            cv2.fillConvexPoly(ids, fixed[t], int(t), lineType=cv2.LINE_8, shift=4)
        a = affine[ids]  # (S, S, 2, 3)
        mx = a[..., 0, 0] * self._x + a[..., 0, 1] * self._y + a[..., 0, 2]
        my = a[..., 1, 0] * self._x + a[..., 1, 1] * self._y + a[..., 1, 2]
        return np.stack([mx, my], -1)

    def warp(self, image: np.ndarray, src_landmarks: np.ndarray, dst_landmarks: np.ndarray) -> np.ndarray:
        """``image`` (showing ``src_landmarks``) reshaped to ``dst_landmarks``."""
        flow = self.flow(src_landmarks, dst_landmarks)
        return cv2.remap(image, flow[..., 0], flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
