"""What the ONNX adapters add to the shared face pass (:mod:`toolkit.faces`).

Faces, their 478-point meshes, tracking over a clip, the five alignment points, warping and
paste-back all come from ``toolkit.faces``. What stays here is specific to the published
models: which face a single-face model works on, and inswapper's 128 px crop, which is the
ArcFace 112 template shifted 8 px to the right (InsightFace's ``estimate_norm`` for sizes
that are not a multiple of 112), not a uniformly padded one as ``align_face`` makes.
"""

from __future__ import annotations

import numpy as np

from toolkit.errors import NoFaceError
from toolkit.faces import AlignedFace, FrameFaces, TrackedFace, detect_faces, template, warp_to_crop
from toolkit.faces.geometry import similarity_transform
from toolkit.faces.records import FIVE_POINTS

INSWAPPER_SIZE = 128
INSWAPPER_TEMPLATE = {name: (x + 8.0, y) for name, (x, y) in template(112, padding=0.0).items()}


def main_face(faces: FrameFaces | list[TrackedFace]) -> TrackedFace | None:
    """The largest face with a mesh: the one a single-face model works on."""
    faces = faces.faces if isinstance(faces, FrameFaces) else faces
    meshed = [f for f in faces if f.mesh is not None]
    return max(meshed, key=lambda f: max(f.width, f.height), default=None)


def photo_face(rgb: np.ndarray, what: str) -> TrackedFace:
    """The main face of a photo (static face pass), or a one-line NoFaceError."""
    face = main_face(detect_faces(rgb))
    if face is None:
        raise NoFaceError(f"no face found in {what}")
    return face


def align_inswapper(rgb: np.ndarray, face: TrackedFace) -> AlignedFace:
    """The 128 px crop inswapper was trained on: the face's five mesh points on its template."""
    keypoints = face.mesh.keypoints
    matrix = similarity_transform(np.array([keypoints[n] for n in FIVE_POINTS]),
                                  np.array([INSWAPPER_TEMPLATE[n] for n in FIVE_POINTS]))
    return AlignedFace(warp_to_crop(rgb, matrix, INSWAPPER_SIZE), matrix, INSWAPPER_SIZE)
