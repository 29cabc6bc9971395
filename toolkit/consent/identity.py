"""Identity binding: is the face a generator is about to use the consenting subject's?

Two paths, as the issue sets out:

* **Personal models** are trained from one record. The model file stores
  ``record.model_binding()`` (``consent_id`` + ``consent_sha256``);
  :func:`check_model_binding` refuses a model used with any other record, or one that
  records none.
* **Arbitrary source photos/clips** (face swap sources, a photo to animate) are compared
  with the record's face reference through the highest-priority *embedder* face backend
  (``host.face_backends("embedder")``). Below the backend's ``match_threshold`` (cosine
  similarity; :data:`DEFAULT_MATCH_THRESHOLD` when it declares none) the run is refused.

When no embedder backend is installed these paths stay **disabled**: the verifier
raises a ConsentError saying so, it never lets a face through unchecked. (Mesh geometry
is not used for this: it cannot tell two people apart reliably across photos.)
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from toolkit.consent.record import ConsentRecord, FaceReference
from toolkit.errors import ConsentError, DftkError, InputError, NoFaceError

# Cosine similarity an embedder must reach when it declares no threshold of its own. It is
# stricter than the equal-error points published for FaceNet-style models (which sit near
# 0.3-0.4): a false refusal costs a retake, a false acceptance animates a stranger.
DEFAULT_MATCH_THRESHOLD = 0.5
# Reference crops are stored generously padded so any embedder's crop can be cut from them.
REFERENCE_SIZE = 320
REFERENCE_PADDING = 0.5
# A detection smaller than this fraction of the largest face's side is background, not a
# second subject (posters, people far behind).
SECONDARY_FACE_RATIO = 0.35
# Frames of a video input that are checked.
MEDIA_SAMPLES = 3

NO_EMBEDDER = (
    "no face embedder backend is installed, so dftk cannot check that this face belongs to the "
    "consenting subject; generators that take an arbitrary photo or clip stay disabled until one is "
    "(an embedder plugin loads its published weights through the model registry; see docs/consent.md)"
)


# --- finding the one face ------------------------------------------------------------------


def best_backend(host: Any, kind: str) -> Any | None:
    """``host``'s highest-priority face backend of ``kind`` that implements its protocol."""
    from toolkit.faces import EmbedderBackend, FaceDetectorBackend, LandmarkerBackend

    protocol = {"detector": FaceDetectorBackend, "landmarker": LandmarkerBackend, "embedder": EmbedderBackend}[kind]
    backends = [b for b in host.face_backends(kind).values() if isinstance(b, protocol)]
    backends.sort(key=lambda b: (-int(getattr(b, "priority", 0)), getattr(b, "name", "")))
    return backends[0] if backends else None


def usable_embedder(host: Any) -> tuple[Any | None, str]:
    """The best embedder backend that actually works, or ``(None, why not)``.

    A registered embedder may lack its weights (bring-your-own models the user has not
    added, or whose licence is not accepted yet): it is probed with one embedding and
    skipped when that fails, so "registered" never passes for "available".
    """
    from toolkit.faces import EmbedderBackend, embedder_crop

    backends = [b for b in host.face_backends("embedder").values() if isinstance(b, EmbedderBackend)]
    backends.sort(key=lambda b: (-int(getattr(b, "priority", 0)), getattr(b, "name", "")))
    reasons = []
    for backend in backends:
        size, _ = embedder_crop(backend)
        ramp = np.linspace(0, 255, size * size * 3).reshape(size, size, 3).astype(np.uint8)
        try:
            _normalise(backend.embed(ramp))
        except Exception as exc:  # a broken or weightless plugin must not take the check down
            reasons.append(f"{backend.name}: {getattr(exc, 'message', None) or exc}")
            continue
        return backend, ""
    return None, "; ".join(reasons)


def subject_faces(faces: list[Any]) -> list[Any]:
    """Faces that count as subjects (small background faces dropped), largest first."""
    faces = sorted(faces, key=lambda f: -max(f.width, f.height))
    if not faces:
        return []
    largest = max(faces[0].width, faces[0].height)
    return [f for f in faces if max(f.width, f.height) >= SECONDARY_FACE_RATIO * largest]


def face_pipeline(host: Any, **options: Any) -> Any:
    """The shared face pass built on ``host``'s best detector and landmarker."""
    from toolkit.errors import PluginError
    from toolkit.faces import FacePipeline

    detector, landmarker = best_backend(host, "detector"), best_backend(host, "landmarker")
    if detector is None or landmarker is None:
        raise PluginError("a face detector and a face-mesh landmarker backend are needed; see `dftk plugins`")
    return FacePipeline(detector=detector, landmarker=landmarker, **options)


def single_face_keypoints(image: np.ndarray, host: Any, what: str) -> dict[str, tuple[float, float]]:
    """The five (mesh) alignment points of the one subject face in ``image``."""
    faces = subject_faces([f for f in face_pipeline(host, keep_images=False).process_image(image).faces
                           if f.mesh is not None])
    if not faces:
        raise NoFaceError(f"{what}: no face found")
    if len(faces) > 1:
        raise InputError(f"{what}: {len(faces)} faces found; use an image or clip that shows only the subject")
    return faces[0].mesh.keypoints


def reference_crop(image: np.ndarray, keypoints: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """The aligned crop stored as a record's face reference."""
    from toolkit.faces.alignment import align_face

    return align_face(image, dict(keypoints), size=REFERENCE_SIZE, padding=REFERENCE_PADDING).image


def encode_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def make_face_reference(image: np.ndarray, keypoints: Mapping[str, tuple[float, float]], source_sha256: str,
                        frame_index: int = 0) -> tuple[FaceReference, bytes]:
    png = encode_png(reference_crop(image, keypoints))
    ref = FaceReference(image_sha256=hashlib.sha256(png).hexdigest(), size=REFERENCE_SIZE,
                        padding=REFERENCE_PADDING, source_sha256=source_sha256, frame_index=frame_index)
    return ref, png


def recrop(reference: np.ndarray, ref: FaceReference, size: int, padding: float) -> np.ndarray:
    """Cut an embedder's crop (``size``, ``padding``) out of a stored reference crop."""
    from toolkit.faces.alignment import template, warp_to_crop
    from toolkit.faces.geometry import similarity_transform

    names = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
    src_t, dst_t = template(ref.size, ref.padding), template(size, padding)
    matrix = similarity_transform(np.array([src_t[n] for n in names]), np.array([dst_t[n] for n in names]))
    return warp_to_crop(reference, matrix, size)


# --- the embedder check ---------------------------------------------------------------------


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    n = np.linalg.norm(v)
    if not np.isfinite(n) or n == 0:
        raise ConsentError("the face embedder returned an empty embedding; identity cannot be checked")
    return v / n


class IdentityVerifier:
    """Callable ``verify(face_image)``: returns the similarity, or raises ConsentError.

    ``face_image`` is an RGB frame or photo showing exactly one subject face.
    """

    def __init__(self, record: ConsentRecord, reference_png: bytes, host: Any):
        self.record = record
        self.host = host
        self._embedder: Any = None
        self._why_not = ""
        self._probed = False
        self._reference_png = reference_png
        self._reference: np.ndarray | None = None

    @property
    def embedder(self) -> Any:
        """The working embedder backend (probed on first use), or None."""
        if not self._probed:
            self._embedder, self._why_not = usable_embedder(self.host)
            self._probed = True
        return self._embedder

    @property
    def available(self) -> bool:
        return self.embedder is not None

    def require(self) -> Any:
        if self.embedder is None:
            raise ConsentError(NO_EMBEDDER + (f" ({self._why_not})" if self._why_not else ""))
        return self.embedder

    @property
    def threshold(self) -> float:
        return float(getattr(self.embedder, "match_threshold", DEFAULT_MATCH_THRESHOLD))

    def _embed_crop(self, crop: np.ndarray) -> np.ndarray:
        try:
            return _normalise(self.embedder.embed(crop))
        except DftkError:
            raise
        except Exception as exc:
            raise ConsentError(f"face embedder {self.embedder.name!r} failed ({type(exc).__name__}: {exc}); "
                               "identity cannot be checked") from None

    def reference_embedding(self) -> np.ndarray:
        if self._reference is None:
            from toolkit.faces import embedder_crop

            crop = recrop(decode_png(self._reference_png), self.record.face, *embedder_crop(self.embedder))
            self._reference = self._embed_crop(crop)
        return self._reference

    def similarity(self, face_image: np.ndarray, what: str = "the face image") -> float:
        from toolkit.faces import align_face, embedder_crop

        self.require()
        keypoints = single_face_keypoints(face_image, self.host, what)
        size, padding = embedder_crop(self.embedder)
        crop = align_face(face_image, keypoints, size=size, padding=padding).image
        return float(self._embed_crop(crop) @ self.reference_embedding())

    def __call__(self, face_image: np.ndarray, what: str = "the face image") -> float:
        sim = self.similarity(face_image, what)
        if sim < self.threshold:
            raise ConsentError(
                f"{what} does not show the subject of consent record {self.record.id} "
                f"(similarity {sim:.2f} < {self.threshold:.2f} with {self.embedder.name})"
            )
        return sim


def identity_verifier(record: ConsentRecord, registry: Any = None, host: Any = None) -> IdentityVerifier:
    """The verifier for ``record``'s face, using ``host``'s embedder (may be unavailable)."""
    from toolkit.consent.registry import ConsentRegistry
    from toolkit.plugins import get_host

    stored = (registry or ConsentRegistry()).get(record.id)
    if stored is None:
        raise ConsentError(f"unknown consent record {record.id!r}")
    return IdentityVerifier(record, stored.face_png, host or get_host())


def verify_media_identity(path: Path, verifier: IdentityVerifier, samples: int = MEDIA_SAMPLES) -> float:
    """Check the face in an image, or in ``samples`` frames spread over a clip; the lowest similarity."""
    from toolkit.media import VideoReader, is_image_path, read_image

    verifier.require()
    path = Path(path)
    if is_image_path(path):
        return verifier(read_image(path), path.name)
    reader = VideoReader(path, max_side=1280)
    total = max(reader.frame_count, 1)
    wanted = {int(round(i)) for i in np.linspace(0, total - 1, min(samples, total))}
    scores = [verifier(frame.image, f"{path.name} frame {frame.index}") for frame in reader if frame.index in wanted]
    if not scores:
        raise InputError(f"{path.name}: no frames could be checked")
    return min(scores)


# --- personal models -------------------------------------------------------------------------


def check_model_binding(model_metadata: Mapping[str, Any], record: ConsentRecord, model_name: str = "the model") -> None:
    """Refuse a personal model unless it was trained from ``record``.

    ``model_metadata`` is what the model file stores; a trainer writes
    ``record.model_binding()`` into it (``consent_id``, ``consent_sha256``).
    """
    consent_id = model_metadata.get("consent_id") if model_metadata else None
    if not consent_id:
        raise ConsentError(f"{model_name} records no consent record; a personal model can only be used "
                           "with the record it was trained from")
    if consent_id != record.id:
        raise ConsentError(f"{model_name} was trained from consent record {consent_id}, "
                           f"not {record.id}; use it with its own record")
    digest = model_metadata.get("consent_sha256")
    if digest and digest != record.sha256:
        raise ConsentError(f"{model_name} names consent record {consent_id} but a different version of it "
                           f"(hash {str(digest)[:12]}…); it cannot be used")
