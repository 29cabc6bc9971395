"""The conformance kit catches real contract violations and passes a conforming plugin."""

import types
from pathlib import Path

import numpy as np
import platformdirs
import pytest

from toolkit.generation import GeneratedVideo, Generator, SourceType
from toolkit.hookspecs import hookimpl
from toolkit.media import VideoReader
from toolkit.testing import (ConformanceError, check_embedder, check_generator, check_plugin,
                             check_refused_without_consent)


@pytest.fixture(scope="module")
def clip():
    import os

    os.environ.setdefault("DFTK_SAMPLES_DIR", str(Path(platformdirs.user_data_dir("dftk", appauthor=False)) / "samples"))
    from toolkit.samples import sample_path

    return sample_path("single_face.mp4")


class Mirror(Generator):
    name = "mirror"
    scope = "reenact"
    inputs = {"video": "a clip of the consenting subject"}
    description = "flips the clip left to right"

    def generate(self, request, context):
        reader = VideoReader(request.inputs["video"])

        def frames():
            for frame in reader:
                yield np.ascontiguousarray(frame.image[:, ::-1])

        return GeneratedVideo(frames(), fps=reader.fps, model="mirror-0", frame_count=reader.frame_count,
                              source_type=SourceType.COMPOSITE)


def _writer_variant(write):
    class Bad(Mirror):
        name = "bad"

        def generate(self, request, context):
            video = super().generate(request, context)
            original = video.frames

            def frames():
                for i, f in enumerate(original):
                    if i == 3:
                        write(request, f)
                    yield f

            video.frames = frames()
            return video

    return Bad


def _video_writer(request, frame):
    from toolkit.media import VideoWriter

    VideoWriter(request.output, fps=25)


def _pil(request, frame):
    from PIL import Image

    Image.fromarray(frame).save("frame.png")


def _av(request, frame):
    import av

    av.open("sneaky.mp4", mode="w")


def _plain_open(request, frame):
    Path(request.inputs["video"]).with_name("copy-of-input.mp4").write_bytes(b"\0" * 10)


def _swallowed(request, frame):
    try:
        _pil(request, frame)
    except Exception:
        pass


def test_conforming_generator_runs_and_frames_are_real(clip):
    run = check_generator(Mirror, {"video": clip})
    reader = VideoReader(clip)
    assert len(run.frames) == reader.frame_count == 72
    first = next(iter(reader)).image
    assert np.array_equal(run.frames[0], first[:, ::-1])


@pytest.mark.parametrize("write, what", [
    (_video_writer, "toolkit.media.VideoWriter"),
    (_pil, "PIL Image.save"),
    (_av, "av.open"),
    (_plain_open, "wrote a media file itself"),
    (_swallowed, "PIL Image.save"),
])
def test_media_writes_are_caught(clip, write, what, tmp_path):
    with pytest.raises(ConformanceError, match=what.replace(".", r"\.")):
        check_generator(_writer_variant(write), {"video": clip})
    assert not Path(clip).with_name("copy-of-input.mp4").exists() or write is _plain_open
    Path(clip).with_name("copy-of-input.mp4").unlink(missing_ok=True)


def test_class_shape_problems_are_listed():
    class Shapeless(Generator):
        name = "Bad Name"
        scope = "everything"
        inputs = ["video"]

        def generate(self, request):
            return None

    with pytest.raises(ConformanceError) as err:
        check_generator(Shapeless, {})
    text = str(err.value)
    for bit in ("name 'Bad Name'", "scope 'everything'", "inputs must be a dict", "generate must take"):
        assert bit in text


def test_wrong_frames_are_caught(clip):
    class Grey(Mirror):
        name = "grey"

        def generate(self, request, context):
            video = super().generate(request, context)
            video.frames = (f.mean(axis=2) for f in video.frames)  # float, 2-D
            return video

    with pytest.raises(ConformanceError, match="not RGB uint8"):
        check_generator(Grey, {"video": clip})


def _plugin(**hooks):
    module = types.ModuleType("fake_plugin")
    for name, fn in hooks.items():
        setattr(module, name, fn)
    return module


def test_check_plugin_accepts_a_good_plugin():
    @hookimpl
    def register_generators(register):
        register(Mirror)

    report = check_plugin(_plugin(register_generators=register_generators))
    assert report.registered["generators"] == ["mirror"]
    assert report.hooks == ["register_generators"]


def test_check_plugin_lists_hook_mistakes():
    @hookimpl
    def register_generatorz(register):  # typo: no such hook
        pass

    def register_models(register):  # forgot @hookimpl
        pass

    @hookimpl
    def register_face_backends(register):
        register(types.SimpleNamespace(name="e", kind="embedder", priority="high"))

    @hookimpl
    def register_web_tabs(register):
        raise RuntimeError("boom")

    with pytest.raises(ConformanceError) as err:
        check_plugin(_plugin(register_generatorz=register_generatorz, register_models=register_models,
                             register_face_backends=register_face_backends, register_web_tabs=register_web_tabs))
    text = str(err.value)
    for bit in ("unknown hook 'register_generatorz'", "register_models looks like a hook",
                "priority must be a number", "needs embed", "register_web_tabs: RuntimeError: boom"):
        assert bit in text


def test_bad_hook_arguments_are_reported_not_crashing():
    @hookimpl
    def register_generators(register, extra):
        pass

    with pytest.raises(ConformanceError, match="extra"):
        check_plugin(_plugin(register_generators=register_generators))


def test_check_embedder():
    class Embedder:
        name, kind, priority = "mean-colour", "embedder", 0

        def embed(self, face):
            v = face.reshape(-1, 3).mean(axis=0).astype(np.float32) + 1
            return v / np.linalg.norm(v)

    faces = [np.full((112, 112, 3), c, np.uint8) for c in (10, 200)]
    assert check_embedder(Embedder(), faces).shape == (2, 3)

    class Broken(Embedder):
        def embed(self, face):
            return np.zeros((1, 3), np.float32)

    with pytest.raises(ConformanceError, match="1-D float"):
        check_embedder(Broken(), faces)


def test_consent_check_runs_against_the_core_gate(clip, monkeypatch):
    check_refused_without_consent(Mirror, {"video": clip})
    # A core that ran generators without checking consent would fail the check.
    import toolkit.jobs.generate
    from toolkit.generation import GenerationContext

    def gateless(request, host=None, **kwargs):
        video = host.generators()[request.generator]().generate(request, GenerationContext(consent=None))
        return list(video.frames)

    monkeypatch.setattr(toolkit.jobs.generate, "run_generation", gateless)
    with pytest.raises(ConformanceError, match="without a consent record"):
        check_refused_without_consent(Mirror, {"video": clip})
