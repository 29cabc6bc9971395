"""The BYO-model adapter on real clips, with tiny ONNX graphs shaped like the published files."""

import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import platformdirs
import pytest

import tiny_onnx
from toolkit.errors import ModelError
from toolkit.media import VideoReader
from toolkit.models import get_registry
from toolkit.plugins import PluginHost, set_host
from toolkit.testing import check_embedder, check_plugin, run_generator


@pytest.fixture(scope="module")
def samples():
    os.environ.setdefault("DFTK_SAMPLES_DIR", str(Path(platformdirs.user_data_dir("dftk", appauthor=False)) / "samples"))
    from toolkit.samples import sample_path

    return {n: sample_path(n) for n in ("single_face.mp4", "single_face.jpg", "multi_face.jpg")}


@pytest.fixture
def registry(tmp_path, monkeypatch):
    import plugins.onnx_models as onnx_models

    monkeypatch.setenv("DFTK_HOME", str(tmp_path / "home"))
    host = PluginHost(load_entry_points=False)
    host.register(onnx_models, "onnx_models")
    set_host(host)
    reg = get_registry()
    models = tmp_path / "models"
    models.mkdir()
    for name, make in {
        "tiny_arcface": lambda p: tiny_onnx.arcface(p),
        "tiny_swap_identity": lambda p: tiny_onnx.inswapper(p, keep=1.0),
        "tiny_swap_mix": lambda p: tiny_onnx.inswapper(p, keep=0.3),
        "tiny_wav2lip": lambda p: tiny_onnx.wav2lip(p),
        "tiny_wav2lip_renamed": lambda p: tiny_onnx.wav2lip(p, names=("mel_spectrogram", "video_frames")),
    }.items():
        reg.add(name, make(models / f"{name}.onnx"), licence="test graph")
        reg.accept(name)
    yield reg
    set_host(None)


def face_box(frames_in, frames_out):
    """Bounding box of the pixels that changed anywhere in the run."""
    changed = np.any(np.stack([np.any(a != b, axis=2) for a, b in zip(frames_in, frames_out)]), axis=0)
    ys, xs = np.nonzero(changed)
    return changed, (xs.min(), ys.min(), xs.max(), ys.max())


def input_frames(path, n):
    return [f.image for _, f in zip(range(n), VideoReader(path))]


def test_plugin_conforms_and_pins_published_hashes(registry):
    report = check_plugin(__import__("plugins.onnx_models", fromlist=["x"]))
    assert sorted(report.registered["generators"]) == ["inswapper_onnx", "wav2lip_onnx"]
    assert report.registered["face_backends"] == ["arcface_onnx"]
    specs = registry.specs()
    assert specs["inswapper_128"].sha256.startswith("e4a3f08c") and not specs["inswapper_128"].commercial_use
    assert specs["inswapper_128"].origin == "onnx_models"


def test_entry_point_declared_in_pyproject():
    import tomllib

    data = tomllib.loads(Path("pyproject.toml").read_text())
    assert data["project"]["entry-points"]["dftk"]["onnx_models"] == "plugins.onnx_models"
    assert any(d.startswith("onnxruntime") for d in data["project"]["dependencies"])


def test_a_file_with_the_wrong_hash_is_refused_for_a_pinned_name(registry, tmp_path):
    fake = tiny_onnx.inswapper(tmp_path / "inswapper_128.onnx", keep=1.0)
    with pytest.raises(ModelError, match="refused"):
        registry.add("inswapper_128", fake)


def test_swap_identity_model_round_trips_the_face(registry, samples):
    n = 8
    run = run_generator(__import__("plugins.onnx_models.swapper", fromlist=["x"]).InswapperGenerator,
                        {"source": samples["single_face.jpg"], "target": samples["single_face.mp4"]},
                        {"model": "tiny_swap_identity", "embedder": "tiny_arcface"}, max_frames=n)
    originals = input_frames(samples["single_face.mp4"], n)
    changed, (x0, y0, x1, y1) = face_box(originals, run.frames)
    assert run.identity_checks == 1  # the source photo went through the consent identity check
    assert 40 < x1 - x0 < 300 and 40 < y1 - y0 < 300  # a face-sized region changed, not the whole frame
    assert not changed[:, : max(0, x0 - 1)].any()
    for a, b in zip(originals, run.frames):
        diff = np.abs(a.astype(int) - b.astype(int))[y0:y1, x0:x1]
        assert diff.mean() < 3.0  # align -> identity -> paste back reproduces the face


def test_swap_depends_on_the_source_face(registry, samples):
    from plugins.onnx_models.swapper import InswapperGenerator

    runs = [run_generator(InswapperGenerator, {"source": samples[src], "target": samples["single_face.mp4"]},
                          {"model": "tiny_swap_mix", "embedder": "tiny_arcface"}, max_frames=3)
            for src in ("single_face.jpg", "multi_face.jpg")]
    originals = input_frames(samples["single_face.mp4"], 3)
    changed, (x0, y0, x1, y1) = face_box(originals, runs[0].frames)
    a, b = runs[0].frames[0].astype(int), runs[1].frames[0].astype(int)
    assert np.abs(a - b)[y0:y1, x0:x1].mean() > 2.0  # another identity, another face
    assert np.array_equal(a[~changed], originals[0].astype(int)[~changed])
    assert run_generator  # both runs yielded RGB frames of the clip's size
    assert runs[0].frames[0].shape == originals[0].shape


def test_wrong_kind_of_model_is_refused(registry, samples):
    from plugins.onnx_models.swapper import InswapperGenerator

    with pytest.raises(ModelError, match="does not look like a inswapper model"):
        run_generator(InswapperGenerator, {"source": samples["single_face.jpg"], "target": samples["single_face.mp4"]},
                      {"model": "tiny_wav2lip", "embedder": "tiny_arcface"}, max_frames=1)


def test_unaccepted_licence_blocks_the_generator(registry, samples, tmp_path):
    from plugins.onnx_models.swapper import InswapperGenerator

    registry.add("tiny_unaccepted", tiny_onnx.inswapper(tmp_path / "u.onnx", keep=1.0), licence="NC test")
    with pytest.raises(ModelError, match="dftk models accept tiny_unaccepted"):
        run_generator(InswapperGenerator, {"source": samples["single_face.jpg"], "target": samples["single_face.mp4"]},
                      {"model": "tiny_unaccepted", "embedder": "tiny_arcface"}, max_frames=1)


def test_embedder_backend(registry, samples):
    from plugins.onnx_models.faces import ARCFACE_112, Landmarker, align, five_points
    from plugins.onnx_models.swapper import ArcFaceEmbedder
    from toolkit.media import read_image

    crops = []
    landmarker = Landmarker(video=False)
    for name in ("single_face.jpg", "multi_face.jpg"):
        image = read_image(samples[name])
        crops.append(align(image, five_points(landmarker.mesh(image)), ARCFACE_112, 112)[0])
    landmarker.close()
    vectors = check_embedder(ArcFaceEmbedder(model="tiny_arcface"), crops)
    assert vectors.shape == (2, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])


def _speech(path: Path) -> Path:
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(path), "Hello, this is a consented lip sync test."], check=True)
    else:  # a vowel-like tone so the test still runs without espeak-ng
        t = np.arange(32000) / 16000
        _write_wav(path, 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)))
    return path


def _write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


@pytest.mark.parametrize("model", ["tiny_wav2lip", "tiny_wav2lip_renamed"])
def test_lipsync_moves_only_the_lower_face_with_the_audio(registry, samples, tmp_path, model):
    from plugins.onnx_models.lipsync import Wav2LipGenerator

    speech = _speech(tmp_path / "speech.wav")
    silence = _write_wav(tmp_path / "silence.wav", np.zeros(16000))  # 1 s
    clip = samples["single_face.mp4"]
    spoken = run_generator(Wav2LipGenerator, {"video": clip, "audio": speech}, {"model": model})
    quiet = run_generator(Wav2LipGenerator, {"video": clip, "audio": silence}, {"model": model})
    fps = VideoReader(clip).fps
    assert len(quiet.frames) == int(1.0 * fps)  # cut to the audio
    assert len(spoken.frames) == min(72, int(_duration(speech) * fps))
    from plugins.onnx_models.faces import Landmarker

    landmarker = Landmarker(video=False)
    for i, original in enumerate(input_frames(clip, 6)):
        mesh = landmarker.mesh(original)
        eyes_y, mouth_y = int(mesh[[468, 473], 1].max()), int(mesh[[13, 14], 1].mean())
        x0, x1 = int(mesh[:, 0].min()), int(mesh[:, 0].max())
        changed = np.any(quiet.frames[i] != original, axis=2)
        assert not changed[: eyes_y + 1].any()  # eyes and everything above stay as they were
        assert changed[mouth_y - 3: mouth_y + 4, x0:x1].any()  # the mouth was repainted
        diff = np.abs(spoken.frames[i].astype(int) - quiet.frames[i].astype(int))
        assert diff[mouth_y - 5: mouth_y + 6, x0:x1].mean() > 1.0  # speech and silence give different mouths
    landmarker.close()
    assert spoken.identity_checks == 1


def _duration(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_mel_puts_a_tone_in_its_band_and_silence_at_the_floor():
    from plugins.onnx_models import mel

    t = np.arange(16000) / 16000
    tone = mel.melspectrogram(0.5 * np.sin(2 * np.pi * 1000 * t))
    assert tone.shape == (80, 81)
    centres = mel._mel_to_hz(np.linspace(mel._hz_to_mel(55), mel._hz_to_mel(7600), 82))[1:-1]
    assert abs(centres[int(np.median(tone.argmax(axis=0)))] - 1000) < 80
    assert np.all(mel.melspectrogram(np.zeros(16000)) == -4.0)
    assert mel.chunk_for_frame(tone, 1000, 25.0).shape == (80, 16)
