"""Personal GAN core and the reenact generator, on real sample footage.

One tiny model is trained once per module (a few steps on the first seconds of a real
clip, interrupted and resumed); the other tests use it.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from toolkit.errors import InputError, JobCancelled, ModelError
from toolkit.gan import PersonalModel, ReenactSession, checkpoint_path, preset_config, train_personal_model
from toolkit.gan import landmarks as lmk
from toolkit.hashing import sha256_file as file_sha256
from toolkit.gan.model import model_path
from toolkit.generation import GenerationContext, GenerationRequest
from toolkit.media import VideoReader
from toolkit.plugins import PluginHost
from toolkit.samples import sample_path
from toolkit.testing import ConsentStub, check_generator, check_plugin, check_refused_without_consent, pending_ok

CONSENT = ConsentStub().id  # the conformance kit's stand-in record runs the plugin with this ID
INTERRUPT_AT = 10


@pytest.fixture(scope="module")
def clips() -> dict[str, Path]:
    return {"subject": sample_path("WolfgangLanger_Pexels.mp4"), "driver": sample_path("single_face.mp4")}


@pytest.fixture(scope="module")
def trained(clips):
    """Train the tiny preset on the subject's first 5 s, cancelled once and resumed.

    The model goes where generators look for it: ``<DFTK_HOME>/models/<consent>.pt``.
    """
    out = model_path(CONSENT)
    models = out.parent
    cfg = preset_config("tiny")
    seen: list[tuple[int, int | None, str]] = []

    def progress(done, total=None, message=""):
        seen.append((done, total, message))

    def cancel_once() -> bool:
        return any(m.startswith("training") and d >= INTERRUPT_AT for d, _, m in seen)

    with pytest.raises(JobCancelled):
        train_personal_model(clips["subject"], out, CONSENT, "tiny", progress=progress, is_cancelled=cancel_once)
    ckpt_after_cancel = checkpoint_path(out).is_file()
    model_after_cancel = out.exists()
    card = train_personal_model(clips["subject"], out, CONSENT, "tiny", progress=progress)
    return {"out": out, "models": models, "card": card, "cfg": cfg, "progress": seen,
            "ckpt_after_cancel": ckpt_after_cancel, "model_after_cancel": model_after_cancel}


@pytest.fixture(scope="module")
def model(trained) -> PersonalModel:
    return PersonalModel.load(trained["out"], device="cpu")


@pytest.fixture(scope="module")
def subject_frames(clips) -> list[np.ndarray]:
    return [f.image for f in VideoReader(clips["subject"], start=12.0, max_frames=24)]


def test_losses_fall(trained):
    losses = trained["card"].losses
    assert losses["steps"] == trained["cfg"].steps
    assert losses["final"]["l1"] < losses["initial"]["l1"]
    assert losses["final"]["g_total"] < losses["initial"]["g_total"]


def test_cancelled_training_keeps_a_checkpoint_and_resumes(trained):
    assert trained["ckpt_after_cancel"] and not trained["model_after_cancel"]
    training = trained["card"].training
    assert training["resumed_from"] == INTERRUPT_AT
    assert training["steps"] == trained["cfg"].steps
    assert not checkpoint_path(trained["out"]).exists()  # removed once the model is written
    steps_reported = [d for d, _, m in trained["progress"] if m.startswith("training")]
    assert steps_reported[-1] == trained["cfg"].steps


def test_model_file_records_consent_config_data_and_metrics(trained, model, clips):
    card = model.card
    assert card.consent_id == CONSENT
    assert card.config == trained["cfg"].to_dict()
    assert card.data["sha256"] == file_sha256(clips["subject"])
    assert card.data["train_frames"] + card.data["holdout_frames"] == card.data["frames_with_face"]
    assert card.data["holdout_frames"] > 0
    for name in ("gan", "warp_only"):
        assert 0.0 < card.metrics[name]["ssim"] <= 1.0
        assert card.metrics[name]["psnr"] > 5.0
    # The saved generator is the EMA copy; it must load into a working network.
    assert sum(p.numel() for p in model.generator.parameters()) > 0


def test_render_follows_the_target_landmarks(model, subject_frames):
    size = model.size
    refs = [model.reference_from_frame(f) for f in (subject_frames[0], subject_frames[-1])]
    assert all(r is not None for r in refs)
    faces_out = [model.render(None, r.landmarks) for r in refs]
    for face in faces_out:
        assert face.shape == (size, size, 3) and face.dtype == np.uint8
    # Each rendering is closer to the real crop whose landmarks it was given than to the other.
    mask = lmk.region_mask(refs[0].landmarks, size) > 0.5
    d = lambda a, b: np.abs(a.astype(float) - b.astype(float))[mask].mean()  # noqa: E731
    assert d(faces_out[0], refs[0].crop) < d(faces_out[0], refs[1].crop)
    assert d(faces_out[1], refs[1].crop) < d(faces_out[1], refs[0].crop)
    # Rendering is deterministic.
    assert np.array_equal(model.render(None, refs[0].landmarks), faces_out[0])


def test_paste_back_changes_only_the_face(model):
    ref = model.reference
    target = ref.landmarks.copy()
    target[[13, 14]] += [0.0, 3.0]  # lower the inner lip: a different face crop
    out = model.paste(model.render(None, target), target)
    assert out.shape == ref.frame.shape and out.dtype == np.uint8
    # Far from the face (frame corners) the reference frame is untouched.
    assert np.array_equal(out[:20, :20], ref.frame[:20, :20])
    assert np.array_equal(out[-20:, -20:], ref.frame[-20:, -20:])
    assert not np.array_equal(out, ref.frame)


def test_reenact_plugin_generates_full_frames_from_a_driver(trained, clips):
    from plugins.gen_reenact import ReenactGenerator

    calls: list[tuple[int, int | None]] = []
    request = GenerationRequest("reenact", CONSENT, Path("unused.mp4"), inputs={"driver": str(clips["driver"])})
    context = GenerationContext(consent=object(), progress=lambda d, t=None: calls.append((d, t)),
                                model_dir=trained["models"])
    video = ReenactGenerator().generate(request, context)
    assert video.frame_count == 72 and video.fps == pytest.approx(30.0, rel=0.01)
    frames = list(itertools.islice(video.frames, 24))  # lazily rendered: take the first 24
    model = PersonalModel.load(trained["out"], device="cpu")
    assert len(frames) == 24
    assert all(f.shape == model.reference.frame.shape and f.dtype == np.uint8 for f in frames)
    assert calls[-1] == (24, 72)
    # The driver moves, so the subject's face moves; the background of the reference stays.
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, frames[1:])]
    assert max(diffs) > 0
    assert np.array_equal(frames[10][:20, :20], model.reference.frame[:20, :20])
    assert CONSENT in video.model and video.ingredients == [clips["driver"]]


def test_reenact_session_streams_frames(model, clips):
    driver = [f.image for f in VideoReader(clips["driver"], max_frames=6)]
    with ReenactSession(model) as session:
        out = [session.push(f) for f in driver]
        assert session.faces_seen == 6 and session.driver_neutral is not None
        session.reset()
        assert session.driver_neutral is None
    assert all(o.shape == model.reference.frame.shape for o in out)


def test_missing_model_says_train_it_first(tmp_path, clips):
    from plugins.gen_reenact import ReenactGenerator

    with pytest.raises(ModelError, match="train it first with dftk train --consent nobody"):
        PersonalModel.for_consent("nobody", tmp_path)
    request = GenerationRequest("reenact", "nobody", Path("x.mp4"), inputs={"driver": str(clips["driver"])})
    with pytest.raises(ModelError, match="dftk train --consent nobody"):
        ReenactGenerator().generate(request, GenerationContext(consent=object(), model_dir=tmp_path))


def test_bad_inputs_give_one_line_errors(tmp_path, trained, clips):
    from plugins.gen_reenact import ReenactGenerator

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a readable dftk personal model"):
        PersonalModel.load(bad)
    with pytest.raises(InputError):
        PersonalModel.for_consent("../etc/passwd", tmp_path)
    ctx = GenerationContext(consent=object(), model_dir=trained["models"])
    with pytest.raises(InputError, match="driver"):
        ReenactGenerator().generate(GenerationRequest("reenact", CONSENT, Path("x.mp4")), ctx)
    no_face = GenerationRequest("reenact", CONSENT, Path("x.mp4"), inputs={"driver": str(sample_path("no_face.mp4"))})
    with pytest.raises(InputError, match="no face"):
        ReenactGenerator().generate(no_face, ctx)


def test_model_of_another_consent_is_refused(trained, tmp_path):
    (tmp_path / "someone-else.pt").write_bytes(trained["out"].read_bytes())
    with pytest.raises(ModelError, match=f"trained for consent {CONSENT}"):
        PersonalModel.for_consent("someone-else", tmp_path)


def test_plugin_registers_through_the_hook():
    import plugins.gen_reenact as plugin

    host = PluginHost(load_entry_points=False)
    host.register(plugin, "gen_reenact")
    gens = host.generators()
    assert gens["reenact"] is plugin.ReenactGenerator
    assert gens["reenact"].scope == "reenact" and "driver" in gens["reenact"].inputs


def test_one_euro_filter_smooths_jitter_and_follows_motion():
    from toolkit.gan.smoothing import OneEuroFilter

    rng = np.random.default_rng(0)
    still = np.full((60, 478, 2), 100.0) + rng.normal(0, 1.0, (60, 478, 2))
    f = OneEuroFilter(fps=30)
    out = np.stack([f(x) for x in still])
    assert np.diff(out[10:], axis=0).std() < 0.5 * np.diff(still[10:], axis=0).std()
    moved = [f(np.full((478, 2), 130.0)) for _ in range(30)]  # a jump of 30 px is followed within a second
    assert np.abs(moved[-1] - 130.0).max() < 1.0


@pytest.mark.parametrize("width", [120, 80])
def test_console_progress_draws_stages(width):
    import io

    from rich.console import Console

    from toolkit.gan import console_progress

    buf = io.StringIO()
    with console_progress(console=Console(file=buf, force_terminal=False, width=width)) as progress:
        progress(12, 467, "finding the face in each frame")
        progress(50, 800, "training: L1 0.123  SSIM 0.812 and a long tail that may be cut")
    text = buf.getvalue()
    # On an 80-column terminal too, stage names and full counts survive; only the loss
    # message may be shortened.
    assert "finding the face in each frame" in text and "training" in text
    assert "12/467" in text and "50/800" in text


def test_reenact_plugin_conforms(trained, clips):
    import plugins.gen_reenact as plugin

    check_plugin(plugin)
    run = check_generator(plugin.ReenactGenerator, inputs={"driver": clips["driver"]}, max_frames=6)
    assert len(run.frames) == 6 and run.identity_checks == 0  # the driver may be anyone
    pending_ok(check_refused_without_consent, plugin.ReenactGenerator, {"driver": clips["driver"]})


def test_lipsync_landmarks_drive_the_mouth(model):
    """The shared contract: toolkit.lipsync moves mesh points, the personal model renders them."""
    from toolkit.lipsync import apply_mouth

    neutral = model.reference.landmarks
    wide = apply_mouth(neutral, np.array([0.9, 0.0, 0.0]), neutral=neutral)
    closed, opened = model.render(None, neutral), model.render(None, wide)
    diff = np.abs(opened.astype(float) - closed.astype(float)).mean(axis=2)
    mouth = lmk.region_mask(wide, model.size, grow=0.0) > 0.5
    lips = np.zeros_like(mouth)
    lo, hi = wide[list(lmk.topo.MOUTH)].min(0).astype(int), wide[list(lmk.topo.MOUTH)].max(0).astype(int)
    lips[lo[1] - 2:hi[1] + 3, lo[0] - 2:hi[0] + 3] = True
    upper = mouth.copy()
    upper[int(neutral[1, 1]):] = False  # above the nose tip: eyes, brows, forehead do not move
    # The rendering changes around the mouth (and the jaw follows), not on the upper face.
    assert diff[lips].mean() > 5.0
    assert diff[lips].mean() > 4 * diff[upper].mean()


def test_training_previews_show_the_generator_learning(clips):
    """The optional ``preview`` callback (the web app's Train tab shows it) gets real crops
    over renders of the model being trained, a few times during training."""
    shots: list[tuple[int, np.ndarray]] = []
    cfg = preset_config("tiny")
    out = model_path("cr_preview0000000000")
    train_personal_model(clips["subject"], out, "cr_preview0000000000", "tiny", end=5.0,
                         preview=lambda step, image: shots.append((step, image)), previews=4)
    steps = [s for s, _ in shots]
    assert steps == sorted(steps) and steps[-1] == cfg.steps and len(steps) == 4
    first, last = shots[0][1], shots[-1][1]
    assert first.shape == (2 * cfg.size, 3 * cfg.size, 3) and first.dtype == np.uint8
    real, fake_first, fake_last = first[: cfg.size], first[cfg.size:], last[cfg.size:]
    assert np.array_equal(real, last[: cfg.size])  # the same real crops each time
    err = lambda fake: np.abs(fake.astype(float) - real.astype(float)).mean()  # noqa: E731
    assert err(fake_last) < err(fake_first)  # the renders got closer to the real faces
