"""The lip-sync and face-swap generators, ``dftk train`` and the generation commands, end to end.

Real footage throughout: the subject is the woman of the Pexels sample. Her consent
recording is frames 180-340 of that clip with a constructed voice whose loudness follows
her measured mouth opening (the sample has no on-camera speech; see tests/consent_media.py
and docs/consent.md), accepted by the real capture checks into a captured record. Her
personal model is trained once for the module with the ``tiny`` preset (cancelled once and
resumed through ``dftk train``); every generation goes through the core job
(``run_generation``: consent gate, identity check, watermark, C2PA).

The builtin generators are registered on a fresh plugin host (the shared environment's
entry-point metadata predates them) and passed as ``host=``; the CLI gets the same host.
"""

from __future__ import annotations

import contextlib
import io
import json
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

import consent_media as cm
from toolkit.consent import create_attested, create_captured, issue_challenge, revoke
from toolkit.errors import ConsentError, InputError, JobCancelled
from toolkit.gan import landmarks as lmk
from toolkit.gan.lipsync import lower_face_mask, pingpong_index
from toolkit.generation import SCOPES, GenerationRequest
from toolkit.lipsync import mouth_aperture
from toolkit.lipsync.measure import measure_video_sync
from toolkit.media import VideoReader, read_audio
from toolkit.plugins import PluginHost, set_host

PEXELS_FPS = 24000 / 1001
SEGMENT = (180, 340)  # her face in view, head turning, real blinks (tests/test_consent.py)
LIPSYNC_FROM = 2.5  # seconds into the recording: her hand has left her face
TEXT = "Hello, I agreed to this. My mouth now says what you typed, and everything is signed."
# A mouth that follows its speech: the bar a live consent recording must clear
# (docs/consent.md, mouth_sync: unrelated audio reached at most 0.28 there).
SYNC_MIN = 0.35
INTERRUPT_AT = 10


@pytest.fixture(scope="module")
def host():
    import plugins.faces_mediapipe as faces_plugin
    import plugins.gen_lipsync as lipsync_plugin
    import plugins.gen_reenact as reenact_plugin
    import plugins.gen_swap as swap_plugin

    h = PluginHost(load_entry_points=False)
    for name, module in (("faces_mediapipe", faces_plugin), ("gen_reenact", reenact_plugin),
                         ("gen_lipsync", lipsync_plugin), ("gen_swap", swap_plugin)):
        h.register(module, name)
    set_host(h)  # the CLI's generation job looks generators up on the process host
    yield h
    set_host(None)


def _cli(*args) -> tuple[int, dict]:
    """``dftk ... --json`` in-process: exit code and the parsed JSON on stdout."""
    from toolkit.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args] + ["--json"])
    text = out.getvalue().strip()
    return code, (json.loads(text) if text else {})


@pytest.fixture(scope="module")
def recording(samples, tmp_path_factory) -> Path:
    """Her consent recording: real frames, a voice whose loudness follows her mouth."""
    a, b = SEGMENT
    frames = cm.frames_of(samples["WolfgangLanger_Pexels.mp4"], a, b)
    reader = VideoReader(samples["WolfgangLanger_Pexels.mp4"], start=a / PEXELS_FPS, max_frames=b - a)
    aperture = [np.nan if p is None else float(mouth_aperture(p)) for _, p in lmk.track_frames(reader)]
    audio = cm.synced_audio(np.asarray(aperture), PEXELS_FPS, len(frames) / PEXELS_FPS)
    return cm.write_clip(tmp_path_factory.mktemp("recording") / "consent.mp4", frames, PEXELS_FPS, audio)


@pytest.fixture(scope="module")
def record(host, recording):
    challenge = issue_challenge("Pexels Subject", list(SCOPES), days=30)
    rec, report = create_captured(challenge.id, recording, host=host)
    assert report.passed
    return rec


@pytest.fixture(scope="module")
def trained(host, record):
    """``run_training`` cancelled at step 10, then ``dftk train`` resumes from its checkpoint."""
    from toolkit.gan import checkpoint_path
    from toolkit.gan.model import model_path
    from toolkit.jobs.train import run_training

    jobs = []

    def cancel_at(done, total=None, message=""):
        if message.startswith("training") and done >= INTERRUPT_AT:
            jobs[-1].cancel()

    with pytest.raises(JobCancelled):
        run_training(record.id, preset="tiny", on_progress=cancel_at, on_start=jobs.append, host=host)
    checkpoint_kept = checkpoint_path(model_path(record.id)).is_file()
    code, result = _cli("train", "--consent", record.id, "--preset", "tiny")
    assert code == 0, result
    return {"result": result, "checkpoint_kept": checkpoint_kept}


def _verify_composite(path: Path, record, parent: Path):
    from toolkit.verify import verify_file

    report = verify_file(path)
    c = report.c2pa
    assert c.state == "Trusted" and c.ai_generated
    assert c.digital_source_type.endswith("compositeWithTrainedAlgorithmicMedia")
    assert c.consent.record_id == record.id and c.consent.record_sha256 == record.sha256
    assert report.agreement == "match" and report.watermark.found
    parents = [i for i in c.ingredients if getattr(i, "relationship", None) == "parentOf"]
    assert parents and parents[0].title == parent.name
    return report


def _generate(host, name, record, out, inputs, options=None):
    from toolkit.jobs.generate import run_generation

    request = GenerationRequest(name, record.id, out, {k: str(v) for k, v in inputs.items()}, options or {})
    return run_generation(request, host=host)


# --- training -------------------------------------------------------------------------------------


def test_train_resumes_binds_the_model_and_reports_lipsync(trained, record):
    from toolkit.consent.evidence import evidence_path
    from toolkit.gan import PersonalModel

    result = trained["result"]
    assert trained["checkpoint_kept"]
    assert result["job_id"] and result["consent_id"] == record.id
    assert result["card"]["training"]["resumed_from"] == INTERRUPT_AT
    # Trained on the consent recording kept with the record (no --video given).
    assert Path(result["video"]) == evidence_path(record)
    model = PersonalModel.load(result["model"])
    assert model.card.data["consent"] == record.model_binding()
    # The recording has speech: a per-person audio-to-mouth model was trained beside it.
    lipsync = result["lipsync"]
    assert lipsync["path"] and Path(lipsync["path"]).is_file()
    assert lipsync["report"]["validation_frames"] > 0 and lipsync["note"] in result["notes"]


# --- lip-sync -------------------------------------------------------------------------------------


def test_lipsync_from_text_is_signed_and_the_mouth_follows_the_speech(host, trained, record, tmp_path):
    from toolkit.consent.evidence import evidence_path

    video = evidence_path(record)
    out = tmp_path / "lipsync_text.mp4"
    job = _generate(host, "lipsync", record, out, {"video": video}, {"text": TEXT, "start": LIPSYNC_FROM})
    assert job.state == "succeeded" and job.result["consent"]["record_id"] == record.id
    _verify_composite(out, record, video)
    speech = read_audio(out)
    frames = job.result["frames"]
    assert speech.size > 0 and frames == pytest.approx(speech.size / 16000 * PEXELS_FPS, abs=2)

    generated = measure_video_sync(out)
    # The same real frames with the same new speech: her mouth did not say it.
    real = measure_video_sync(video, audio=speech, start=LIPSYNC_FROM, end=LIPSYNC_FROM + frames / PEXELS_FPS)
    assert generated.sync.frames_used >= 0.9 * frames  # the mesh finds the generated face
    assert abs(generated.sync.lag_frames) <= 1
    assert generated.sync.correlation > SYNC_MIN
    assert generated.sync.correlation > real.sync.correlation + 0.2


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def test_lipsync_from_audio_ping_pongs_a_short_clip(host, trained, record, tmp_path):
    from toolkit.consent.evidence import evidence_path
    from toolkit.lipsync import synthesize

    speech = synthesize("Any recording of speech can drive the mouth, for as long as it lasts.")
    wav = _write_wav(tmp_path / "speech.wav", speech.samples, speech.rate)
    video = evidence_path(record)
    out = tmp_path / "lipsync_audio.mp4"
    span = 1.5  # seconds of her clip, shorter than the speech
    job = _generate(host, "lipsync", record, out, {"video": video, "audio": wav},
                    {"start": LIPSYNC_FROM, "end": LIPSYNC_FROM + span, "mouth": "envelope"})
    report = _verify_composite(out, record, video)
    assert any(i.title == wav.name for i in report.c2pa.ingredients)  # the new audio is an ingredient
    frames = job.result["frames"]
    assert frames == int(np.ceil(speech.duration * PEXELS_FPS - 1e-6))
    assert frames > 2 * span * PEXELS_FPS
    # Played back and forth: output frame k shows source frame pingpong_index(k); the
    # generated mouths differ, the head (upper face) follows the ping-pong.
    out_frames = [f.image for f in VideoReader(out)]
    n_src = int(round(span * PEXELS_FPS))
    k = n_src + 5
    j = pingpong_index(k, n_src)
    assert j == n_src - 7
    upper = slice(0, 150)
    diff_same = np.abs(out_frames[k][upper].astype(int) - out_frames[j][upper].astype(int)).mean()
    diff_other = np.abs(out_frames[k][upper].astype(int) - out_frames[k - 2 * 5][upper].astype(int)).mean()
    assert diff_same < diff_other
    sync = measure_video_sync(out)
    assert sync.sync.correlation > SYNC_MIN


def test_lipsync_of_other_footage_needs_the_identity_check(host, trained, record, samples, tmp_path):
    out = tmp_path / "other.mp4"
    with pytest.raises(ConsentError, match="no face embedder backend is installed"):
        _generate(host, "lipsync", record, out, {"video": samples["single_face.mp4"]}, {"text": "hello"})
    assert not out.exists()


# --- swap -----------------------------------------------------------------------------------------


def test_swap_replaces_the_face_and_keeps_the_background(host, trained, record, samples, tmp_path):
    target = samples["single_face.mp4"]
    out = tmp_path / "swap.mp4"
    code, result = _cli("swap", "--consent", record.id, "--target", target, "-o", out)
    assert code == 0 and result["job_id"] and result["path"] == str(out) and result["frames"] == 72
    _verify_composite(out, record, target)
    assert read_audio(out).size > 0  # the destination's audio is kept
    generated = [f.image for f in VideoReader(out)]
    original = [f.image for f in VideoReader(target)]
    face_d, back_d = [], []
    for i, (frame, points) in enumerate(lmk.track_frames(VideoReader(target))):
        if i % 12 or points is None:
            continue
        hull = np.zeros(frame.image.shape[:2], np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.round(points).astype(np.int32)), 1)
        inner = cv2.erode(hull, np.ones((15, 15), np.uint8)) > 0  # well inside his face
        outer = cv2.dilate(hull, np.ones((61, 61), np.uint8)) == 0  # well outside it
        d = np.abs(generated[i].astype(int) - original[i].astype(int)).mean(axis=2)
        face_d.append(d[inner].mean())
        back_d.append(d[outer].mean())
    assert len(face_d) >= 5
    assert min(face_d) > 8.0  # her face, not his
    assert max(back_d) < 3.0  # the rest of the frame is his video (watermark and re-encoding aside)


def test_reenact_through_the_cli(trained, record, samples, tmp_path):
    out = tmp_path / "reenact.mp4"
    code, result = _cli("reenact", "--consent", record.id, "--driver", samples["single_face.mp4"], "-o", out)
    assert code == 0 and result["frames"] == 72 and result["consent"]["record_id"] == record.id


# --- refusals and errors --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reenact_only(host, samples, tmp_path_factory):
    release = tmp_path_factory.mktemp("release") / "release.txt"
    release.write_text("signed release")
    return create_attested("Pexels Subject", "Op", release, samples["WolfgangLanger_Pexels.mp4"], ["reenact"],
                           days=5, host=host)


def test_refused_without_consent_or_scope(host, trained, record, reenact_only, samples, tmp_path):
    out = tmp_path / "x.mp4"
    pexels = samples["WolfgangLanger_Pexels.mp4"]
    with pytest.raises(ConsentError, match="does not grant 'lipsync'"):
        _generate(host, "lipsync", reenact_only, out, {"video": pexels}, {"text": "hi"})
    with pytest.raises(ConsentError, match="does not grant 'swap'"):
        _generate(host, "swap", reenact_only, out, {"target": samples["single_face.mp4"]})
    assert not out.exists()
    code, err = _cli("lipsync", "--consent", "cr_missing", "--video", pexels, "--text", "hi", "-o", out)
    assert code == 4 and err["error"] == "consent_refused" and "unknown consent record" in err["message"]
    code, err = _cli("swap", "--consent", reenact_only.id, "--target", samples["single_face.mp4"], "-o", out)
    assert code == 4 and "does not grant 'swap'" in err["message"]
    assert not out.exists()


def test_conformance_kit_refusal(host):
    import plugins.gen_lipsync as lipsync_plugin
    import plugins.gen_swap as swap_plugin
    from toolkit.testing import check_plugin, check_refused_without_consent, pending_ok

    for plugin, cls, inputs in ((lipsync_plugin, lipsync_plugin.LipsyncGenerator, {"video": "v.mp4"}),
                                (swap_plugin, swap_plugin.SwapGenerator, {"target": "t.mp4"})):
        check_plugin(plugin)
        pending_ok(check_refused_without_consent, cls, inputs)


def test_cli_errors_are_typed_one_liners(host, trained, record, reenact_only, samples, tmp_path):
    out = tmp_path / "x.mp4"
    pexels = samples["WolfgangLanger_Pexels.mp4"]
    # No model yet for a valid record that grants reenact.
    code, err = _cli("reenact", "--consent", reenact_only.id, "--driver", samples["single_face.mp4"], "-o", out)
    assert code == 6 and err["error"] == "model_error" and f"dftk train --consent {reenact_only.id}" in err["message"]
    # Bad input: no face in the destination; both kinds of speech; missing audio file.
    code, err = _cli("swap", "--consent", record.id, "--target", samples["no_face.mp4"], "-o", out)
    assert code == 2 and err["error"] == "no_face"
    code, err = _cli("lipsync", "--consent", record.id, "--video", pexels, "--text", "a", "--audio", pexels, "-o", out)
    assert code == 2 and "exactly one of --audio" in err["message"]
    code, err = _cli("lipsync", "--consent", record.id, "--video", tmp_path / "none.mp4", "--text", "a", "-o", out)
    assert code == 2 and err["error"] == "bad_input"
    assert not out.exists()
    # Training: an attested record keeps no recording; footage of someone else cannot be checked.
    code, err = _cli("train", "--consent", reenact_only.id, "--preset", "tiny")
    assert code == 2 and "pass --video" in err["message"]
    code, err = _cli("train", "--consent", reenact_only.id, "--video", samples["single_face.mp4"], "--preset", "tiny")
    assert code == 4 and "no face embedder backend is installed" in err["message"]
    code, err = _cli("train", "--consent", record.id, "--preset", "huge")
    assert code == 2 and "unknown training preset" in err["message"]


# --- pieces -----------------------------------------------------------------------------------


def test_pingpong_never_jumps():
    seq = [pingpong_index(k, 4) for k in range(10)]
    assert seq == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert [pingpong_index(k, 1) for k in range(3)] == [0, 0, 0]


def test_lower_face_mask_spares_the_upper_face(trained):
    from toolkit.gan import PersonalModel

    model = PersonalModel.load(trained["result"]["model"])
    lm = model.reference.landmarks
    mask = lower_face_mask(model.size, lm)
    assert mask[: int(lm[2, 1])].max() == 0.0  # nothing above the bottom of the nose
    mouth = np.round(lm[13]).astype(int)
    assert mask[mouth[1], mouth[0]] == pytest.approx(1.0)


def test_revoking_deletes_the_recording_and_the_models(trained, record):
    """Last: the module's record is revoked here."""
    from toolkit.consent.evidence import evidence_path
    from toolkit.gan.model import model_path
    from toolkit.lipsync.personal import audio_model_path

    assert evidence_path(record) is not None and model_path(record.id).is_file()
    revoke(record.id, "test")
    assert evidence_path(record) is None
    assert not model_path(record.id).exists() and not audio_model_path(record.id).exists()
    with pytest.raises(ConsentError, match="was revoked"):
        from toolkit.jobs.train import run_training

        run_training(record.id, preset="tiny")
