"""Lip-sync with a Wav2Lip-style ONNX model (``wav2lip_96`` / ``wav2lip_gan_96``).

Inputs as FaceFusion feeds them: ``source`` (1, 1, 80, 16) mel window and ``target``
(1, 6, 96, 96): the BGR face crop with its lower half blacked out, then the full crop,
scaled to [0, 1]. Output (1, 3, 96, 96) BGR in [0, 1]. Other exports name these
``mel_spectrogram`` / ``video_frames``; roles are also matched by shape.
The face box comes from the face mesh (padded down to the chin, like Wav2Lip's
detector box); only the lower part of the box is blended back, through a soft mask.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from plugins.onnx_models import mel as melspec
from plugins.onnx_models.faces import Landmarker
from plugins.onnx_models.runtime import OnnxModel, Role
from toolkit.errors import InputError, JobCancelled
from toolkit.generation import GeneratedVideo, GenerationContext, GenerationRequest, Generator, SourceType

DEFAULT_MODEL = "wav2lip_gan_96"
SIZE = 96


def face_box(mesh: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0 = mesh.min(axis=0)
    x1, y1 = mesh.max(axis=0)
    pad = 0.1 * (y1 - y0)
    box = (int(x0 - pad / 2), int(y0), int(math.ceil(x1 + pad / 2)), int(math.ceil(y1 + pad)))
    return max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])


def mouth_mask(h: int, w: int) -> np.ndarray:
    """1 over the half of the box the model repaints (mouth and jaw), fading out at the edges."""
    mask = np.zeros((h, w), np.float32)
    mask[int(h * 0.55):h - max(1, h // 20), max(1, w // 10):w - max(1, w // 10)] = 1
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, min(h, w) / 40))


class Wav2LipGenerator(Generator):
    name = "wav2lip_onnx"
    scope = "lipsync"
    description = "Lip-sync a clip of the consenting subject to speech with your own Wav2Lip ONNX model."
    inputs = {
        "video": "a clip of the consenting subject, face visible",
        "audio": "the speech to lip-sync to (any audio file)",
    }
    version = "1"

    def generate(self, request: GenerationRequest, context: GenerationContext) -> GeneratedVideo:
        from toolkit.media import VideoReader, read_audio

        model = OnnxModel(request.options.get("model", DEFAULT_MODEL), "Wav2Lip",
                          {"mel": Role(("source", "mel_spectrogram"), (None, 1, 80, 16)),
                           "faces": Role(("target", "video_frames"), (None, 6, SIZE, SIZE))}, context.device)
        reader = VideoReader(request.inputs["video"])
        if reader.info.is_image or not reader.fps:
            raise InputError("the lip-sync input must be a video")
        samples = read_audio(request.inputs["audio"], sample_rate=melspec.SAMPLE_RATE)
        if samples.size == 0:
            raise InputError("the audio input has no samples")
        mel = melspec.melspectrogram(samples)
        total = min(reader.frame_count, max(1, int(len(samples) / melspec.SAMPLE_RATE * reader.fps)))
        reader.max_frames = total

        def frames():
            landmarker = Landmarker(video=True)
            checked = context.verify_identity is None
            try:
                for frame in reader:
                    if context.is_cancelled():
                        raise JobCancelled("the job was cancelled")
                    mesh = landmarker.mesh(frame.image)
                    if mesh is not None and not checked:  # the animated face must be the consenting one
                        context.verify_identity(frame.image)
                        checked = True
                    chunk = melspec.chunk_for_frame(mel, frame.index, reader.fps)
                    yield frame.image if mesh is None else self._sync(frame.image, mesh, chunk, model)
                    context.progress(frame.index + 1, total)
            finally:
                landmarker.close()

        return GeneratedVideo(frames(), fps=reader.fps, model=f"{self.name}:{model.name}",
                              source_type=SourceType.COMPOSITE, frame_count=total,
                              audio=Path(request.inputs["audio"]), ingredients=[reader.path, Path(request.inputs["audio"])])

    @staticmethod
    def _sync(rgb: np.ndarray, mesh: np.ndarray, chunk: np.ndarray, model: OnnxModel) -> np.ndarray:
        x0, y0, x1, y1 = face_box(mesh, rgb.shape[1], rgb.shape[0])
        if x1 - x0 < 8 or y1 - y0 < 8:
            return rgb
        crop = cv2.resize(rgb[y0:y1, x0:x1, ::-1], (SIZE, SIZE), interpolation=cv2.INTER_AREA)  # BGR, as trained
        masked = crop.copy()
        masked[SIZE // 2:] = 0
        faces = np.concatenate([masked, crop], axis=2).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
        out = model.run(mel=chunk[None, None].astype(np.float32), faces=faces)[0].transpose(1, 2, 0)
        mouth = (np.clip(out, 0, 1) * 255).astype(np.uint8)[:, :, ::-1]
        mouth = cv2.resize(mouth, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
        weight = mouth_mask(y1 - y0, x1 - x0)[..., None]
        region = rgb[y0:y1, x0:x1].astype(np.float32)
        result = rgb.copy()
        result[y0:y1, x0:x1] = np.clip(np.rint(region * (1 - weight) + mouth * weight), 0, 255).astype(np.uint8)
        return result
