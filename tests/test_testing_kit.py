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


# -- detectors ------------------------------------------------------------------------------

from toolkit.detection import ClipAnalysis, Detector, Evidence, FrameScore  # noqa: E402
from toolkit.errors import InputError  # noqa: E402
from toolkit.testing import check_detector  # noqa: E402


class FaceContrast(Detector):
    """A conforming toy: per face, the grey-level spread inside its box (not a real detector)."""

    name = "face_contrast"
    description = "grey-level spread inside each face box"
    version = "1"

    def analyze(self, clip):
        if not clip.has_faces:
            return self.not_applicable("no face found")
        scores = []
        for pos, frame in enumerate(clip.frames):
            for face in frame.faces:
                x0, y0, x1, y1 = (max(0, int(v)) for v in face.box)
                spread = float(frame.image[y0:y1, x0:x1].std()) / 128
                scores.append(FrameScore(pos, frame.time, face.track_id, min(1.0, spread)))
        clip_score = float(np.mean([s.score for s in scores]))
        trace = {"times": [s.time for s in scores], "values": [s.score for s in scores], "unit": "std / 128"}
        return self.result(clip_score=clip_score, frame_scores=scores, evidence=[Evidence("trace", "spread", trace)],
                           explanation=f"grey-level spread {clip_score:.2f}")


class WholeFrame(Detector):
    """Judges whole frames (track -1), so it applies without faces too; refuses still images typed."""

    name = "whole_frame"
    description = "mean brightness of each frame"
    version = "1"

    def analyze(self, clip):
        if clip.is_image:
            raise InputError("a still image is not supported")
        scores = [FrameScore(pos, f.time, -1, float(f.image.mean()) / 255) for pos, f in enumerate(clip.frames)]
        return self.result(clip_score=scores[0].score, frame_scores=scores, explanation="brightness")


def test_a_conforming_detector_passes_on_the_real_clip_and_bad_input():
    run = check_detector(FaceContrast, expect_applicable=True)
    clip = run.analysis
    assert isinstance(clip, ClipAnalysis) and len(clip.frames) == 24 and clip.track_ids() == [0]
    assert len(run.result.frame_scores) == 24 and 0 < run.result.clip_score < 1
    assert {k: r.applicable for k, r in run.bad_input.items()} == {
        "no faces": False, "no audio": True, "no faces and no audio": False, "a one-frame still image": True}
    # whole-frame scores (track -1) are fine without faces; a typed DftkError is a clean refusal
    run = check_detector(WholeFrame)
    assert run.bad_input["no faces"].applicable and isinstance(run.bad_input["a one-frame still image"], InputError)
    with pytest.raises(ConformanceError, match="expected a not-applicable result"):
        check_detector(FaceContrast, clip, expect_applicable=False)


def _variant(**methods):
    return type("Broken", (FaceContrast,), {"name": "broken", **methods})


def _out_of_range(self, clip):
    result = FaceContrast.analyze(self, clip)
    if result.applicable:
        result.frame_scores.append(FrameScore(0, clip.frames[0].time, clip.track_ids()[0], 1.4))  # after validation
    return result


def _nan_clip_score(self, clip):
    result = FaceContrast.analyze(self, clip)
    if result.applicable:
        result.clip_score = float("nan")  # np.clip keeps NaN: the dataclass cannot catch it
    return result


def _raises_without_faces(self, clip):
    first = clip.frames[0].faces[0]  # IndexError on a clip with no faces
    return FaceContrast.analyze(self, clip) if first else None


def _unserialisable_evidence(self, clip):
    result = FaceContrast.analyze(self, clip)
    result.evidence.append(Evidence("fact", "tracks", {"ids": set(clip.track_ids())}))
    return result


def _stale_tracks(self, clip):
    # remembers the faces of the first clip it saw and scores them on every later one
    if not hasattr(self, "seen"):
        self.seen = FaceContrast.analyze(self, clip).frame_scores
    return self.result(clip_score=0.5, frame_scores=list(self.seen), explanation="stale")


def _edits_the_shared_clip(self, clip):
    clip.frames[0].image[:8] = 0  # other detectors share these frames
    return FaceContrast.analyze(self, clip)


def _wrong_type(self, clip):
    return {"score": 0.5}


@pytest.mark.parametrize("analyze, message", [
    (_out_of_range, "on the sample clip: frame score 1.4 .* is not a number in [0, 1]"),
    (_nan_clip_score, "clip_score nan is not a number in [0, 1]"),
    (_raises_without_faces, "on 'no faces': analyze raised IndexError: list index out of range"),
    (_unserialisable_evidence, r"to_dict\(\) is not JSON-serialisable \(TypeError: Object of type set"),
    (_stale_tracks, "on 'no faces': frame score: track_id 0 is not a face in analysed frame 0"),
    (_edits_the_shared_clip, "changed the ClipAnalysis it was handed"),
    (_wrong_type, "analyze returned dict, not a toolkit.detection.DetectorResult"),
])
def test_broken_detectors_fail_with_a_clear_message(analyze, message):
    with pytest.raises(ConformanceError, match=message.replace("[0, 1]", r"\[0, 1\]")) as err:
        check_detector(_variant(analyze=analyze))
    assert str(err.value).startswith("detector 'broken' does not conform:")


def test_detector_class_shape_problems_are_listed():
    class Shapeless(Detector):
        name = "Bad Name"
        version = 2

        def analyze(self, clip, extra):
            return None

    with pytest.raises(ConformanceError) as err:
        check_detector(Shapeless)
    text = str(err.value)
    for bit in ("name 'Bad Name'", "description must be a non-empty str", "version must be a non-empty str",
                "analyze must take exactly (self, clip)"):
        assert bit in text
    with pytest.raises(ConformanceError, match="not a subclass of toolkit.detection.Detector"):
        check_detector(Mirror)


def test_check_plugin_checks_registered_detectors():
    @hookimpl
    def register_detectors(register):
        register(FaceContrast)
        register(type("Undescribed", (FaceContrast,), {"name": "undescribed", "description": ""}))

    with pytest.raises(ConformanceError) as err:
        check_plugin(_plugin(register_detectors=register_detectors))
    assert str(err.value).splitlines()[1:] == ["  - detector 'undescribed': description must be a non-empty str"]


BUILTIN_DETECTORS = ["det_provenance", "det_blend", "det_spectral", "det_temporal", "det_avsync", "det_rppg"]


@pytest.mark.parametrize("module", BUILTIN_DETECTORS)
def test_builtin_detectors_conform(module):
    import importlib

    plugin = importlib.import_module(f"plugins.{module}")
    detectors = check_plugin(plugin).registered["detectors"]
    assert len(detectors) == 1
    cls = next(v for v in vars(plugin).values() if isinstance(v, type) and issubclass(v, Detector)
               and getattr(v, "name", None) == detectors[0])
    check_detector(cls)
