"""BYO published models: run ONNX face-swap, embedder and lip-sync models you already own.

FaceFusion users have ``inswapper_128.onnx``, ``arcface_w600k_r50.onnx`` and
``wav2lip_gan_96.onnx`` on disk. dftk never downloads them: add your copy once with
``dftk models add NAME --file PATH`` (checked against the pinned sha256, or pinned to
your file for names we cannot pin), accept its licence with ``dftk models accept NAME``,
then use the generators ``inswapper_onnx`` and ``wav2lip_onnx``. Like every generator
they only yield frames; the core checks consent first and watermarks and signs the output.
"""

from __future__ import annotations

from toolkit.hookspecs import hookimpl
from toolkit.models import ModelSpec

INSIGHTFACE_LICENCE = "InsightFace model licence"  # non-commercial research use only
INSIGHTFACE_LICENCE_URL = "https://github.com/deepinsight/insightface#license"

# sha256 values: InsightFace's original files as widely pinned by downstream projects, and
# the re-exported inswapper FaceFusion shipped later. FaceFusion itself publishes CRC32
# sidecars only, so files we cannot pin here are added by users (pinned to their copy).
MODELS = [
    ModelSpec(name="inswapper_128", sha256="e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
              file_name="inswapper_128.onnx", size=554253681, licence=INSIGHTFACE_LICENCE,
              licence_url=INSIGHTFACE_LICENCE_URL,
              description="InsightFace inswapper_128 face swapper (original release)"),
    ModelSpec(name="inswapper_128_facefusion", sha256="0fa95f167682b4f61edf24f8d66c46b4ab130e8be058f00c8150e6d0170ca72f",
              file_name="inswapper_128.onnx", licence=INSIGHTFACE_LICENCE, licence_url=INSIGHTFACE_LICENCE_URL,
              description="inswapper_128 as re-exported in FaceFusion's model assets"),
    ModelSpec(name="arcface_w600k_r50", sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
              file_name="w600k_r50.onnx", licence=INSIGHTFACE_LICENCE, licence_url=INSIGHTFACE_LICENCE_URL,
              description="InsightFace buffalo_l ArcFace R50 (WebFace600K) embedder, 112x112 -> 512"),
]


@hookimpl
def register_models(register):
    for spec in MODELS:
        register(spec)


@hookimpl
def register_generators(register):
    from plugins.onnx_models.lipsync import Wav2LipGenerator
    from plugins.onnx_models.swapper import InswapperGenerator

    register(InswapperGenerator)
    register(Wav2LipGenerator)


@hookimpl
def register_face_backends(register):
    from plugins.onnx_models.swapper import ArcFaceEmbedder

    register(ArcFaceEmbedder())
