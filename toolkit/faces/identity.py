"""Identity embeddings of faces found by the pipeline, through an embedder backend."""

from __future__ import annotations

import numpy as np

from toolkit.faces.alignment import align_face
from toolkit.faces.backends import EmbedderBackend, get_embedder
from toolkit.faces.records import DetectedFace, Keypoints, MeshFace, TrackedFace

# The ArcFace convention most face-recognition models follow.
DEFAULT_INPUT_SIZE = 112
DEFAULT_CROP_PADDING = 0.0


def embedder_crop(embedder: EmbedderBackend) -> tuple[int, float]:
    """``(size, padding)`` of the aligned crop ``embedder`` expects."""
    size = int(getattr(embedder, "input_size", DEFAULT_INPUT_SIZE))
    padding = float(getattr(embedder, "crop_padding", DEFAULT_CROP_PADDING))
    return size, padding


def embed_face(image: np.ndarray, face: DetectedFace | MeshFace | TrackedFace | Keypoints,
               embedder: EmbedderBackend | str | None = None) -> np.ndarray:
    """Align ``face`` the way the embedder wants and return its L2-normalised embedding."""
    backend = embedder if embedder is not None and not isinstance(embedder, str) else get_embedder(embedder)
    size, padding = embedder_crop(backend)
    vector = np.asarray(backend.embed(align_face(image, face, size=size, padding=padding).image), np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
