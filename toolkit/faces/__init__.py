"""Faces: detection, 478-point mesh, tracking, alignment, masks and paste-back.

Backends (detectors, landmarkers, embedders) come from plugins through the
``register_face_backends`` hook; :class:`FacePipeline` is the one face pass every
detector and generator shares.
"""

from toolkit.faces.alignment import AlignedFace, align_face, alignment_matrix, template, warp_to_crop, warp_to_frame
from toolkit.faces.backends import (
    EmbedderBackend,
    FaceDetectorBackend,
    LandmarkerBackend,
    LandmarkTracker,
    LazyModel,
    available_backends,
    get_backend,
    get_detector,
    get_embedder,
    get_landmarker,
)
from toolkit.faces.blending import feather_mask, match_colors, paste_back
from toolkit.faces.identity import embed_face, embedder_crop
from toolkit.faces.masks import face_mask, face_masks
from toolkit.faces.pipeline import FacePipeline, detect_faces
from toolkit.faces.records import FIVE_POINTS, DetectedFace, FrameFaces, MeshFace, TrackedFace
from toolkit.faces.summary import FaceSummary, TrackSummary
from toolkit.faces.tracking import FaceTracker, Track

__all__ = [
    "AlignedFace",
    "DetectedFace",
    "EmbedderBackend",
    "FIVE_POINTS",
    "FaceDetectorBackend",
    "FacePipeline",
    "FaceSummary",
    "FaceTracker",
    "FrameFaces",
    "LandmarkTracker",
    "LandmarkerBackend",
    "LazyModel",
    "MeshFace",
    "Track",
    "TrackSummary",
    "TrackedFace",
    "align_face",
    "alignment_matrix",
    "available_backends",
    "detect_faces",
    "embed_face",
    "embedder_crop",
    "face_mask",
    "face_masks",
    "feather_mask",
    "get_backend",
    "get_detector",
    "get_embedder",
    "get_landmarker",
    "match_colors",
    "paste_back",
    "template",
    "warp_to_crop",
    "warp_to_frame",
]
