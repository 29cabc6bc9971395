"""Which of the 478 MediaPipe face-mesh points are which (eyes, mouth, outline).

Region index sets come from MediaPipe's own ``face_mesh_connections`` (imported lazily:
importing ``mediapipe.python.solutions`` costs about a second); the handful of single
points alignment needs are fixed indices of the canonical mesh.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NUM_LANDMARKS = 478  # 468 face points + 5 per iris (refine_landmarks=True)

# Subject's right eye (image left in an unmirrored photo) and left eye corners.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473
NOSE_TIP = 1
MOUTH_RIGHT = 61
MOUTH_LEFT = 291

REGIONS = ("hull", "face_oval", "mouth", "inner_mouth", "right_eye", "left_eye", "eyes")


def five_points(points: np.ndarray) -> dict[str, tuple[float, float]]:
    """The five alignment keypoints from a ``(478, 2+)`` mesh (eye centres = mid-corners,
    which do not move with the gaze as the iris centres do)."""
    pts = np.asarray(points)[:, :2]

    def mid(a: int, b: int) -> tuple[float, float]:
        x, y = (pts[a] + pts[b]) / 2
        return float(x), float(y)

    return {
        "right_eye": mid(*RIGHT_EYE_CORNERS),
        "left_eye": mid(*LEFT_EYE_CORNERS),
        "nose": (float(pts[NOSE_TIP, 0]), float(pts[NOSE_TIP, 1])),
        "mouth_right": (float(pts[MOUTH_RIGHT, 0]), float(pts[MOUTH_RIGHT, 1])),
        "mouth_left": (float(pts[MOUTH_LEFT, 0]), float(pts[MOUTH_LEFT, 1])),
    }


def _indices(connections: frozenset) -> tuple[int, ...]:
    return tuple(sorted({i for edge in connections for i in edge}))


@lru_cache(maxsize=None)
def region_indices(region: str) -> tuple[int, ...]:
    """Mesh indices of a named region (one of :data:`REGIONS`)."""
    if region not in REGIONS:
        raise ValueError(f"unknown face region {region!r}; one of {', '.join(REGIONS)}")
    if region == "hull":
        return tuple(range(NUM_LANDMARKS))
    if region == "eyes":
        return region_indices("right_eye") + region_indices("left_eye")
    from mediapipe.python.solutions import face_mesh_connections as fmc

    if region == "face_oval":
        return _indices(fmc.FACEMESH_FACE_OVAL)
    if region == "mouth":
        return _indices(fmc.FACEMESH_LIPS)
    if region == "inner_mouth":
        # FACEMESH_LIPS holds the outer and the inner lip contours; the inner one is the
        # ring through the mouth corners' inner neighbours (78 ... 308).
        lips = _indices(fmc.FACEMESH_LIPS)
        return tuple(i for i in lips if i in _INNER_LIP)
    # MediaPipe names eyes from the subject's view, like we do.
    if region == "right_eye":
        return _indices(fmc.FACEMESH_RIGHT_EYE)
    return _indices(fmc.FACEMESH_LEFT_EYE)


# Inner lip contour of the canonical mesh (upper then lower), used for the open-mouth mask.
_INNER_LIP = frozenset({78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308,
                        95, 88, 178, 87, 14, 317, 402, 318, 324})
