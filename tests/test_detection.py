"""Detection: contract, shared analysis, each detector on real and manipulated clips, fusion,
the report (JSON and self-contained HTML), the CLI on good and bad input, cancellation and a
tiny training run."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from toolkit.detection import ClipAnalysis, DetectorResult
from toolkit.errors import JobCancelled, PluginError
from toolkit.samples import sample_path

ROOT = Path(__file__).resolve().parents[1]
FUSED = ("blend", "spectral", "temporal", "rppg", "avsync")


@pytest.fixture(scope="module", autouse=True)
def detector_plugins():
    """The builtin detectors, registered like the entry points in pyproject.toml declare them
    (the installed metadata of a development venv may predate them)."""
    from toolkit.plugins import get_host

    host = get_host()
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["dftk"]
    for name, module in eps.items():
        if name.startswith("det_") and name not in host.info:
            host.register(importlib.import_module(module), name, "builtin")
    return host


def _encode(frames, fps, path, audio=None, audio_rate=16000):
    # Test fixture only: manipulated frames for the detectors to judge (see toolkit.detection.fakes).
    from toolkit.media import VideoWriter

    with VideoWriter(path, fps=fps, audio=audio, audio_rate=audio_rate) as w:
        for f in frames:
            w.write(f)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory, detector_plugins) -> dict[str, Path]:
    """A 6 s real clip (the woman), its face-swapped and mouth-warped versions, and the same
    frames with a spoken voice track."""
    from toolkit.detection.fakes import manipulate
    from toolkit.faces import FacePipeline
    from tests.media_factory import speech_wav
    from toolkit.media import read_audio

    root = tmp_path_factory.mktemp("detclips")
    src = sample_path("WolfgangLanger_Pexels.mp4")
    frames = list(FacePipeline().run(src, max_frames=144))
    donor = list(FacePipeline().run(sample_path("single_face.mp4")))
    fps = 24000 / 1001
    rng = np.random.default_rng(0)
    # The sample's own audio track (digital silence) goes with the real clip.
    out = {"real": _encode([f.image for f in frames], fps, root / "real.mp4", audio=src)}
    out["swap"] = _encode(manipulate("paste_other_identity", frames, rng, donor), fps, root / "swap.mp4")
    out["mouth"] = _encode(manipulate("mouth_warp", frames, rng), fps, root / "mouth.mp4")
    speech = read_audio(speech_wav(root / "speech.wav", "Hello there. This is a test of the lip sync check, "
                                                        "spoken over a face that does not speak."), 16000)
    out["speech"] = _encode([f.image for f in frames], fps, root / "speech.mp4", audio=speech)
    return out


@pytest.fixture(scope="module")
def analyses(clips) -> dict[str, ClipAnalysis]:
    from toolkit.detection.analysis import analyse_clip

    return {name: analyse_clip(path) for name, path in clips.items()}


def _run(name: str, clip: ClipAnalysis) -> DetectorResult:
    from toolkit.detection.suite import run_detectors, select_detectors

    (result,) = run_detectors(clip, select_detectors([name]))
    assert not result.details.get("failed"), result.reason
    json.dumps(result.to_dict())  # serialisable
    return result


def _check_scores(result: DetectorResult) -> None:
    assert result.applicable, result.reason
    assert 0.0 <= result.clip_score <= 1.0
    assert result.explanation and "\n" not in result.explanation
    for fs in result.frame_scores:
        assert 0.0 <= fs.score <= 1.0


# -- sampling and the shared analysis ----------------------------------------------------------------

def test_sampling_policy():
    from toolkit.detection.sampling import plan_sampling

    short = plan_sampling(472, 23.976, 19.7, 640 * 360 * 3)
    assert short.stride == 1 and short.windows is None
    fast = plan_sampling(600, 60.0, 10.0, 640 * 360 * 3)
    assert fast.stride == 2 and fast.windows is None
    long = plan_sampling(30 * 600, 30.0, 600.0, 640 * 360 * 3, max_frames=480)
    assert long.windows and len(long.windows) == 2  # two 8 s windows of 240 frames
    assert long.windows[0][0] == 0.0 and long.windows[-1][1] <= 600.0
    capped = plan_sampling(1000, 30.0, 33.3, 1280 * 720 * 3, memory_bytes=100 * 1280 * 720 * 3)
    assert capped.max_frames == 100


def test_shared_analysis_of_a_real_clip(analyses):
    clip = analyses["real"]
    assert clip.sampling.analysed_frames == len(clip.frames) == 144
    assert clip.sampling.segments == 1 and clip.fps == pytest.approx(23.976, abs=0.01)
    times = [f.time for f in clip.frames]
    assert times == sorted(times)
    assert clip.track_ids() == [0]
    meshed = [f for _, f in clip.track(0) if f.landmarks is not None]
    assert len(meshed) >= 140 and meshed[0].landmarks.shape == (478, 3)
    assert clip.frames[0].image.shape == (360, 640, 3)
    assert list(clip.runs(0))  # consecutive meshed frames


def test_long_clips_are_covered_by_windows_and_runs_never_cross_them():
    from toolkit.detection.analysis import analyse_clip

    clip = analyse_clip(sample_path("single_face.mp4"), max_frames=30, window_seconds=0.5)
    assert clip.sampling.segments == 2 and len(clip.frames) == 30
    indices = [f.index for f in clip.frames]
    assert indices == sorted(indices) and indices[-1] > 50  # the second window is late in the clip
    for run in clip.runs(0):
        assert len({clip.frames[p].segment for p, _ in run}) == 1


# -- each detector on a real and a manipulated clip -----------------------------------------------------

def test_blend_detector_scores_the_swap_above_the_real_clip(analyses):
    real, swap = _run("blend", analyses["real"]), _run("blend", analyses["swap"])
    _check_scores(real)
    _check_scores(swap)
    assert swap.clip_score > real.clip_score
    heat = [e for e in swap.evidence if e.kind == "heatmap"]
    assert heat and np.asarray(heat[0].data["map"]).shape == (16, 16)


def test_spectral_detector(analyses):
    real, mouth = _run("spectral", analyses["real"]), _run("spectral", analyses["mouth"])
    _check_scores(real)
    _check_scores(mouth)
    from plugins.det_spectral import MAX_PATCHES_PER_TRACK

    # At most the per-track cap; frames whose chin or brow patch leaves the picture are skipped.
    assert 0 < len(real.frame_scores) <= min(MAX_PATCHES_PER_TRACK, len(analyses["real"].frames))
    assert any(e.kind == "trace" for e in real.evidence)


def test_temporal_detector(analyses):
    real, swap = _run("temporal", analyses["real"]), _run("temporal", analyses["swap"])
    _check_scores(real)
    _check_scores(swap)
    assert {e.kind for e in real.evidence} == {"trace"}
    assert set(real.details["z"]) == {"log_median_jitter", "log_p90_jitter", "log_lower_upper_jitter",
                                      "log_flicker_ratio", "flicker_corr"}


def test_rppg_detector(analyses):
    real, swap = _run("rppg", analyses["real"]), _run("rppg", analyses["swap"])
    _check_scores(real)
    _check_scores(swap)
    facts = [e.data for e in real.evidence if e.kind == "fact"]
    assert facts and 40 <= facts[0]["heart_rate_bpm"] <= 240


def test_avsync_needs_speech_and_judges_it_when_present(analyses):
    silent = _run("avsync", analyses["real"])
    assert not silent.applicable and "speech" in silent.reason  # the sample's audio is digital silence
    spoken = _run("avsync", analyses["speech"])
    _check_scores(spoken)
    fact = [e.data for e in spoken.evidence if e.kind == "fact"][0]
    assert abs(fact["lag_s"]) <= 0.5 and fact["speech_seconds"] >= 1.5


def test_provenance_reads_c2pa_ai_labels(analyses, clips, tmp_path):
    from toolkit.detection.analysis import analyse_clip
    from watermark.c2pa_manifest import ProvenanceInfo
    from watermark.c2pa_sign import sign_file

    plain = _run("provenance", analyses["real"])
    assert plain.applicable and plain.clip_score == 0.0 and "absence proves nothing" in plain.explanation
    assert not plain.details["watermark_found"]
    signed = sign_file(clips["swap"], tmp_path / "signed.mp4", ProvenanceInfo(
        plugin="test", plugin_version="0", model="none", watermark_id="00" * 8, consent=None,
        source_type="composite", parent=clips["real"], title="signed swap"))
    flagged = _run("provenance", analyse_clip(signed, max_frames=24))
    assert flagged.clip_score == 1.0 and "AI-generated" in flagged.explanation
    facts = [e.data for e in flagged.evidence if e.label == "C2PA manifest"][0]
    assert facts["ai_generated"] and facts["state"] in ("Trusted", "Valid")


def test_provenance_flags_our_outputs_even_after_reencoding(clips, tmp_path):
    from toolkit.detection.analysis import analyse_clip
    from toolkit.generation import GeneratedVideo, SourceType
    from toolkit.media import VideoReader
    from toolkit.output import write_generated

    reader = VideoReader(clips["swap"], max_frames=48)
    frames = [f.image for f in reader]
    record = write_generated(GeneratedVideo(frames, reader.fps, model="test", source_type=SourceType.COMPOSITE,
                                            ingredients=[clips["real"]]),
                             tmp_path / "ours.mp4", plugin="test", plugin_version="0", consent=None)
    ours = _run("provenance", analyse_clip(record.path))
    assert ours.clip_score == 1.0 and ours.details["watermark_found"]
    assert ours.details["agreement"] == "match" and ours.details["watermark_id"] == record.watermark_id
    stripped = _encode([f.image for f in VideoReader(record.path)], reader.fps, tmp_path / "stripped.mp4")
    again = _run("provenance", analyse_clip(stripped))
    assert again.clip_score == 1.0 and again.details["agreement"] == "watermark_only"
    assert again.details["watermark_id"] == record.watermark_id


def test_detectors_say_why_they_cannot_judge():
    from toolkit.detection.analysis import analyse_clip
    from toolkit.detection.suite import run_detectors, select_detectors

    no_face = {r.detector: r for r in run_detectors(analyse_clip(sample_path("no_face.mp4"), max_frames=48),
                                                    select_detectors(list(FUSED)))}
    for name in FUSED:
        assert not no_face[name].applicable and no_face[name].reason
    photo = {r.detector: r for r in run_detectors(analyse_clip(sample_path("single_face.jpg")),
                                                  select_detectors(list(FUSED)))}
    assert photo["blend"].applicable and photo["spectral"].applicable
    for name in ("temporal", "rppg", "avsync"):
        assert not photo[name].applicable and "still image" in photo[name].reason


# -- fusion ------------------------------------------------------------------------------------------------

def test_fusion_breakdown_is_exact_and_missing_detectors_add_nothing():
    from toolkit.detection.contract import DetectorResult
    from toolkit.detection.fusion import fit_fusion, fuse, score_logit

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-1.5, 1, (40, 2)), rng.normal(1.5, 1, (40, 2))]
    model = fit_fusion(["a", "b"], X, np.r_[np.zeros(40), np.ones(40)])
    results = {"a": DetectorResult("a", "1", True, clip_score=0.9), "b": DetectorResult("b", "1", False, reason="x")}
    v = fuse(results, model)
    logit = v.intercept + sum(c.contribution for c in v.contributions)
    assert v.probability == pytest.approx(1 / (1 + np.exp(-logit)))
    assert v.contributions[1].contribution == 0.0
    assert v.contributions[0].contribution == pytest.approx(model.calibration.coef[0] * score_logit(0.9))
    assert v.band == ("manipulated" if v.probability >= 0.65 else "suspicious" if v.probability >= 0.35 else "authentic")
    assert fuse({"b": results["b"]}, model).band == "inconclusive"
    prov = DetectorResult("provenance", "1", True, clip_score=1.0, explanation="provenance: declared")
    assert fuse({**results, "provenance": prov}, model).band == "manipulated"


def test_shipped_fusion_parameters_say_what_they_were_fitted_on():
    from toolkit.detection.fusion import load_fusion

    model = load_fusion()
    assert list(model.detectors) == list(FUSED)
    assert "benchmarks/detection.py" in model.record["fitted_on"]


# -- the suite, the report and the CLI -----------------------------------------------------------------

def test_run_detection_report_json_and_self_contained_html(clips, tmp_path):
    from toolkit.detection import run_detection

    seen = []
    report = run_detection(clips["swap"], on_progress=lambda d, t, m: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert report.verdict.band in ("authentic", "suspicious", "manipulated")
    assert {r.detector for r in report.results} >= set(FUSED) | {"provenance"}
    data = json.loads(json.dumps(report.to_dict()))
    assert data["verdict"] == report.verdict.band and data["job_id"]
    html = report.write_html(tmp_path / "report.html").read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)
    assert html.count("data:image/png;base64,") >= 3  # timeline, crops, heatmaps
    assert report.verdict.band.upper() in html.upper() and "Caveats" in html and "Provenance" in html


def test_cli_detect_on_real_and_manipulated_clips(run_cli, clips, tmp_path):
    code, out, err = run_cli("detect", clips["real"], "--json")
    assert code == 0, err
    real = json.loads(out)
    code, out, err = run_cli("detect", clips["swap"], "--json", "--html", tmp_path / "r.html")
    assert code == 0, err
    swap = json.loads(out)
    assert (tmp_path / "r.html").is_file() and swap["html"] == str(tmp_path / "r.html")
    assert swap["probability"] > real["probability"]
    assert real["verdict"] != "manipulated"
    code, out, err = run_cli("detect", sample_path("single_face.jpg"))
    assert code == 0 and "single_face.jpg" in out


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "audio_only", "bad_html", "unknown_detector"])
def test_cli_detect_bad_input_is_one_typed_line(run_cli, tmp_path, case):
    from tests.media_factory import audio_only_m4a, speech_wav

    args: list = []
    if case == "missing":
        args, code_expected = [tmp_path / "nope.mp4"], 2
    elif case == "empty":
        (tmp_path / "e.mp4").write_bytes(b"")
        args, code_expected = [tmp_path / "e.mp4"], 2
    elif case == "garbage":
        (tmp_path / "g.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
        args, code_expected = [tmp_path / "g.mp4"], 2
    elif case == "audio_only":
        args, code_expected = [audio_only_m4a(tmp_path / "a.m4a", speech_wav(tmp_path / "s.wav"))], 2
    elif case == "bad_html":
        args, code_expected = [sample_path("single_face.jpg"), "--html", tmp_path / "r.pdf"], 2
    else:
        args, code_expected = [sample_path("single_face.jpg"), "--detectors", "blend,nonesuch"], 3
    code, out, err = run_cli("detect", *args, "--json")
    assert code == code_expected
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert json.loads(out)["message"]
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob(".*part*"))


def test_detection_job_can_be_cancelled(clips):
    from toolkit.detection import run_detection
    from toolkit.jobs import JobStore

    store = JobStore()
    with pytest.raises(JobCancelled):
        run_detection(clips["real"], on_start=lambda job: job.cancel(), store=store)
    assert store.list(1)[0].state == "cancelled"


def test_unknown_detector_is_a_plugin_error():
    from toolkit.detection.suite import select_detectors

    with pytest.raises(PluginError, match="nonesuch"):
        select_detectors(["nonesuch"])


# -- building blocks ---------------------------------------------------------------------------------------

def test_self_blended_pairs_differ_only_where_the_mask_is():
    from toolkit.detection.sbi import RealFace, self_blend
    from toolkit.faces import detect_faces
    from toolkit.media import read_image

    image = read_image(sample_path("single_face.jpg"))
    face = detect_faces(image).faces[0]
    real_face = RealFace.from_frame(image, face.mesh.points, "single_face.jpg")
    rng = np.random.default_rng(3)
    for _ in range(4):
        real, fake, boundary = self_blend(real_face, rng, 128)
        assert real.shape == fake.shape == (128, 128, 3) and boundary.shape == (16, 16)
        diff = np.abs(real.astype(int) - fake.astype(int)).sum(axis=2)
        assert diff.mean() > 0.5  # something was blended in
        corners = np.r_[diff[:10, :10].ravel(), diff[:10, -10:].ravel()]
        assert np.median(corners) <= 2  # the background (outside the face hull) is left alone
        assert boundary.max() > 0.2


def test_spectral_model_ranks_resampled_faces_above_real_ones():
    from plugins.det_spectral import PARAMS
    from toolkit.detection.spectral import apply_artefact, features, load_model
    from toolkit.faces import FacePipeline

    model = load_model(PARAMS)
    rng = np.random.default_rng(0)
    frames = list(FacePipeline().run(sample_path("single_face.mp4"), max_frames=12))
    real, fake = [], []
    for f in frames:
        pts = f.faces[0].mesh.points
        real.append(features(f.image, pts))
        fake.append(features(apply_artefact(f.image, pts, "down_up", "face", rng), pts))
    assert model.score(np.array(fake)).mean() > model.score(np.array(real)).mean() + 0.2


def test_pulse_coherence_on_synthetic_traces():
    from toolkit.detection.rppg import measure_pulse

    fps, n = 30.0, 300
    t = np.arange(n) / fps
    rng = np.random.default_rng(0)
    skin = np.array([180.0, 120.0, 100.0])
    pulse = 0.6 * np.sin(2 * np.pi * 1.2 * t)  # 72 bpm
    shared = {r: skin + np.outer(pulse, [0.3, 1.0, 0.5]) + rng.normal(0, 0.15, (n, 3)) for r in ("a", "b", "c")}
    alone = {r: skin + np.outer(0.6 * np.sin(2 * np.pi * rng.uniform(0.8, 3) * t + rng.uniform(0, 6)), [0.3, 1.0, 0.5])
             + rng.normal(0, 0.15, (n, 3)) for r in ("a", "b", "c")}
    m = measure_pulse(shared, t, fps)
    assert m.coherence > 0.8 and m.heart_rate_bpm == pytest.approx(72, abs=4) and m.snr_db > 3
    assert measure_pulse(alone, t, fps).coherence < m.coherence - 0.4
    assert measure_pulse(shared, t[:60], fps) is None  # 2 s is too short


def test_tiny_training_run_writes_loadable_weights_and_a_card(run_cli, tmp_path):
    from toolkit.detection.blendnet import load_checkpoint, predict

    out = tmp_path / "tiny.pt"
    code, stdout, err = run_cli("train-detector", "blend", sample_path("single_face.jpg"), "--out", out,
                                "--steps", "3", "--batch", "2", "--json")
    assert code == 0, err
    record = json.loads(stdout)["record"]
    assert record["steps"] == 3 and record["data"]["train_faces"] == 1
    ckpt = load_checkpoint(out)
    assert ckpt.record["steps"] == 3 and len(ckpt.sha256) == 64
    p, maps = predict(ckpt.model, [np.zeros((128, 128, 3), np.uint8)])
    assert 0 <= p[0] <= 1 and maps.shape == (1, 16, 16)
    card = json.loads((tmp_path / "tiny.card.json").read_text())
    assert card["training"]["steps"] == 3 and (tmp_path / "tiny.md").read_text().startswith("# Model card")


def test_shipped_blend_weights_come_with_a_model_card():
    from plugins.det_blend import WEIGHTS
    from toolkit.detection.blendnet import load_checkpoint

    assert WEIGHTS.stat().st_size < 20_000_000
    ckpt = load_checkpoint(WEIGHTS)
    card = json.loads(WEIGHTS.with_name("sbi_blend.card.json").read_text())
    assert card["training"]["steps"] == ckpt.record["steps"] > 100
    assert card["training"]["trained_by"] == "dftk train-detector blend"
    assert "identities" in " ".join(card["limitations"])
