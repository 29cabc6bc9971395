"""Face swap with an inswapper-style ONNX model and its ArcFace embedder.

Pre/post-processing follows FaceFusion's face_swapper / face_recognizer for the
``inswapper_128`` and ``arcface_w600k_r50`` files users already own:

* embedder: input ``input`` (1, 3, 112, 112) RGB scaled to [-1, 1], crop aligned to the
  ArcFace 112 template; output (1, 512).
* swapper: ``target`` (1, 3, 128, 128) RGB in [0, 1], aligned to the ArcFace template
  shifted for 128 px; ``source`` (1, 512) = unit embedding x emap (the graph's last
  initializer), re-normalised as in InsightFace's reference code; output (1, 3, 128, 128) RGB in [0, 1], pasted back through a soft box mask.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from plugins.onnx_models.faces import ARCFACE_112, ARCFACE_128, Landmarker, align, box_mask, five_points, paste_back
from plugins.onnx_models.runtime import OnnxModel, Role, last_initializer
from toolkit.errors import JobCancelled, ModelError, NoFaceError
from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType

DEFAULT_EMBEDDER = "arcface_w600k_r50"
DEFAULT_SWAPPER = "inswapper_128"


class ArcFaceEmbedder:
    """Face backend (kind ``embedder``): ``embed(aligned_rgb_112) -> (512,)`` unit vector."""

    kind = "embedder"
    priority = 10  # below the builtin backends: used when chosen by name
    input_size = 112  # the tight ArcFace crop: toolkit.faces.align_face(..., size=112, padding=0)
    crop_padding = 0.0

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

    def embed_image(self, rgb: np.ndarray, landmarker: Landmarker | None = None) -> np.ndarray:
        own = landmarker is None
        landmarker = landmarker or Landmarker(video=False)
        try:
            mesh = landmarker.mesh(rgb)
        finally:
            if own:
                landmarker.close()
        if mesh is None:
            raise NoFaceError("no face found in the source photo")
        crop, _ = align(rgb, five_points(mesh), ARCFACE_112, 112)
        return self.embed(crop)


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
        mask = box_mask(128)

        def frames():
            landmarker = Landmarker(video=True)
            try:
                for frame in reader:
                    if context.is_cancelled():
                        raise JobCancelled("the job was cancelled")
                    yield self._swap(frame.image, landmarker, swapper, latent, mask)
                    context.progress(frame.index + 1, total)
            finally:
                landmarker.close()

        return GeneratedVideo(frames(), fps=reader.fps or 25.0, model=f"{self.name}:{swapper.name}",
                              source_type=SourceType.COMPOSITE, frame_count=total,
                              audio=None if reader.info.is_image else reader.path,
                              ingredients=[reader.path, Path(request.inputs["source"])])

    @staticmethod
    def _swap(rgb: np.ndarray, landmarker: Landmarker, swapper: OnnxModel, latent: np.ndarray,
              mask: np.ndarray) -> np.ndarray:
        mesh = landmarker.mesh(rgb)
        if mesh is None:
            return rgb  # no face in this frame: it stays as it was
        crop, matrix = align(rgb, five_points(mesh), ARCFACE_128, 128)
        blob = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        out = swapper.run(target=blob, source=latent)[0].transpose(1, 2, 0)
        swapped = (np.clip(out, 0, 1) * 255).astype(np.uint8)
        return paste_back(rgb, swapped, mask, matrix)
