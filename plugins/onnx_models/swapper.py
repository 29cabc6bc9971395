"""Face swap with an inswapper-style ONNX model and its ArcFace embedder.

Pre/post-processing follows FaceFusion's face_swapper / face_recognizer for the
``inswapper_128`` and ``arcface_w600k_r50`` files users already own:

* embedder: input ``input`` (1, 3, 112, 112) RGB scaled to [-1, 1], crop aligned to the
  ArcFace 112 template; output (1, 512).
* swapper: ``target`` (1, 3, 128, 128) RGB in [0, 1], aligned to the ArcFace template
  shifted for 128 px; ``source`` (1, 512) = unit embedding x emap (the graph's last
  initializer), re-normalised as in InsightFace's reference code; output (1, 3, 128, 128) RGB in
  [0, 1], pasted back through the whole crop with a soft edge (FaceFusion's default box mask, blur 0.3).

Faces come from the shared face pass (:class:`toolkit.faces.FacePipeline`, tracked over the clip);
the largest face of each frame is swapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from plugins.onnx_models.faces import align_inswapper, main_face, photo_face
from plugins.onnx_models.runtime import OnnxModel, Role, last_initializer
from toolkit.errors import JobCancelled, ModelError
from toolkit.faces import FacePipeline, embed_face, paste_back
from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType

DEFAULT_EMBEDDER = "arcface_w600k_r50"
DEFAULT_SWAPPER = "inswapper_128"
PASTE_FEATHER = 0.3  # FaceFusion's default face_mask_blur for the box mask


class ArcFaceEmbedder:
    """Face backend (kind ``embedder``): ``embed(aligned_rgb_112) -> (512,)`` unit vector."""

    kind = "embedder"
    priority = 10  # below the builtin backends: used when chosen by name
    input_size = 112  # the tight ArcFace crop: toolkit.faces.align_face(..., size=112, padding=0)
    crop_padding = 0.0
    # The consent gate's identity check (toolkit.consent.identity) accepts a face at this cosine
    # similarity to the record's reference. ArcFace's angular margin keeps strangers low: among five
    # people in one photo, py-feat measured at most 0.35 with this very w600k_r50 model, and
    # deepface's tuned ArcFace cut-off (cosine distance 0.68) is similarity 0.32, a balanced-error
    # point. A false accept would animate a stranger while a false refusal costs a retake, so we sit
    # well above that impostor tail; photos of one person typically score 0.6-0.9, so 0.45 still
    # accepts the same person across a consent video and a later photo.
    match_threshold = 0.45

    def __init__(self, model: str = DEFAULT_EMBEDDER, name: str = "arcface_onnx", device: str = "cpu"):
        self.name = name
        self.model_name = model
        self.device = device
        self._model: OnnxModel | None = None

    def _load(self) -> OnnxModel:  # lazily: the file may not be installed yet
        if self._model is None:
            self._model = OnnxModel(self.model_name, "ArcFace embedder", {"face": Role(("input", "input.1"), (None, 3, 112, 112))},
                                    self.device)
        return self._model

    def embed(self, aligned_rgb_112: np.ndarray) -> np.ndarray:
        face = np.asarray(aligned_rgb_112)
        if face.shape != (112, 112, 3):
            raise ValueError(f"embed needs an aligned 112x112 RGB face, got {face.shape}")
        blob = (face.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        vec = self._load().run(face=blob).reshape(-1).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        if not np.isfinite(norm) or norm == 0:
            raise ModelError(f"{self.model_name} returned an empty embedding")
        return vec / norm

    def embed_image(self, rgb: np.ndarray, what: str = "the source photo") -> np.ndarray:
        """Embedding of the largest face of a photo (shared face pass, ArcFace alignment)."""
        return embed_face(rgb, photo_face(rgb, what), self)


class InswapperGenerator(Generator):
    name = "inswapper_onnx"
    scope = "swap"
    description = "Face swap with your own inswapper_128 ONNX model (as used by FaceFusion)."
    inputs = {
        "source": "photo of the consenting subject whose face goes into the video",
        "target": "the video to put that face into",
    }
    version = "1"

    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        from toolkit.media import VideoReader, read_image

        options: dict[str, Any] = request.options
        source = read_image(request.inputs["source"])
        if context.verify_identity is not None:
            context.verify_identity(source)
        embedder = ArcFaceEmbedder(options.get("embedder", DEFAULT_EMBEDDER), device=context.device)
        embedding = embedder.embed_image(source)
        swapper = OnnxModel(options.get("model", DEFAULT_SWAPPER), "inswapper",
                            {"target": Role(("target",), (None, 3, 128, 128)), "source": Role(("source",), (None, 512))},
                            context.device)
        emap = last_initializer(str(swapper.path))
        if emap.shape != (512, 512):
            raise ModelError(f"{swapper.name}: last initializer is {emap.shape}, not the 512x512 inswapper emap")
        latent = (embedding[None] @ emap).astype(np.float32)
        latent /= np.linalg.norm(latent)
        reader = VideoReader(request.inputs["target"])
        total = reader.frame_count

        def frames():
            for n, found in enumerate(FacePipeline(keep_images=True).run(reader), start=1):
                if context.is_cancelled():
                    raise JobCancelled("the job was cancelled")
                yield self._swap(found.image, main_face(found), swapper, latent)
                context.progress(n, total)

        return GeneratedVideo(frames(), fps=reader.fps or 25.0, model=f"{self.name}:{swapper.name}",
                              source_type=SourceType.COMPOSITE, frame_count=total,
                              audio=None if reader.info.is_image else reader.path,
                              ingredients=[reader.path, Path(request.inputs["source"])])

    @staticmethod
    def _swap(rgb: np.ndarray, face, swapper: OnnxModel, latent: np.ndarray) -> np.ndarray:
        if face is None:
            return rgb  # no face in this frame: it stays as it was
        aligned = align_inswapper(rgb, face)
        blob = (aligned.image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        out = swapper.run(target=blob, source=latent)[0].transpose(1, 2, 0)
        swapped = (np.clip(out, 0, 1) * 255).astype(np.uint8)
        # the model already matched the target's lighting: no colour transfer on top
        return paste_back(rgb, swapped, aligned.matrix, feather=PASTE_FEATHER, color_match=False)
