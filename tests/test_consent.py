"""Consent: live-capture checks on real footage, signed records, the gate, identity binding,
and enforcement in the core generation job.

Recordings are built from the real sample clips (tests/consent_media.py). Their audio is
constructed: none of the samples has on-camera speech (see docs/consent.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import consent_media as cm  # noqa: E402

from toolkit.consent import ConsentRegistry, authorize, check_model_binding, signals  # noqa: E402
from toolkit.consent.capture import evaluate, observe  # noqa: E402
from toolkit.consent.create import CaptureRejected, create_attested, create_captured, issue_challenge, revoke  # noqa: E402
from toolkit.errors import ConsentError, InputError, PluginError  # noqa: E402
from toolkit.generation import GeneratedVideo, GenerationRequest, Generator  # noqa: E402
from toolkit.hookspecs import hookimpl  # noqa: E402
from toolkit.jobs import JobStore  # noqa: E402
from toolkit.media import read_image  # noqa: E402
from toolkit.plugins import PluginHost  # noqa: E402

PEXELS_FPS = 24000 / 1001
# Frames 180-340 of the Pexels clip: the face fully visible, real blinks (frames 202, 248,
# 288), the head turning ~20 degrees. (Before ~180 a hand covers her mouth.)
VALID_SEGMENT = (180, 340)


# --- recordings -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(samples, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("consent_clips")
    pexels, man = samples["WolfgangLanger_Pexels.mp4"], samples["single_face.mp4"]
    a, b = VALID_SEGMENT
    seg = cm.frames_of(pexels, a, b)
    man_frames = cm.frames_of(man)
    clips = {}
    # The real clip cut to the segment, keeping its own (digitally silent) AAC track.
    clips["silent"] = out / "silent.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{a / PEXELS_FPS:.4f}",
                    "-i", str(pexels), "-frames:v", str(b - a), "-t", f"{(b - a) / PEXELS_FPS:.4f}",
                    "-c:v", "libx264", "-crf", "18", "-preset", "veryfast", "-c:a", "copy", str(clips["silent"])],
                   check=True)
    voice = cm.speech_carrier(8.0)
    clips["frozen"] = cm.write_clip(out / "frozen.mp4", cm.still_clip(read_image(samples["single_face.jpg"]), 6.0),
                                    25.0, 0.3 * voice[: 6 * cm.AUDIO_RATE])
    no_face = cm.ping_pong(cm.frames_of(samples["no_face.mp4"]), 140)
    clips["no_face"] = cm.write_clip(out / "no_face.mp4", no_face, 23.67, 0.3 * voice[: int(140 / 23.67 * cm.AUDIO_RATE)])
    two = cm.side_by_side(seg[:130], cm.ping_pong(man_frames, 130))
    clips["two_faces"] = cm.write_clip(out / "two_faces.mp4", two, PEXELS_FPS, 0.3 * voice[: int(130 / PEXELS_FPS * cm.AUDIO_RATE)])
    spliced = seg[:90] + cm.ping_pong(man_frames, 72)
    clips["wrong_person"] = cm.write_clip(out / "wrong_person.mp4", spliced, PEXELS_FPS,
                                          0.3 * voice[: int(len(spliced) / PEXELS_FPS * cm.AUDIO_RATE)])
    clips["_segment_dir"] = out
    return clips


@pytest.fixture(scope="module")
def silent_obs(clips):
    return observe(clips["silent"])


@pytest.fixture(scope="module")
def valid_clip(clips, silent_obs) -> Path:
    """The same real footage with a voice whose loudness follows her measured mouth opening."""
    aperture = signals.mouth_aperture(silent_obs.landmarks)
    frames = cm.frames_of(clips["silent"])
    audio = cm.synced_audio(aperture, silent_obs.fps, len(frames) / silent_obs.fps)
    return cm.write_clip(clips["_segment_dir"] / "valid.mp4", frames, silent_obs.fps, audio)


@pytest.fixture
def registry(tmp_path) -> ConsentRegistry:
    return ConsentRegistry(tmp_path / "consent.sqlite3")


@pytest.fixture(scope="module")
def attested_pexels(samples, tmp_path_factory):
    """The demo path: an operator-attested record for the Pexels woman (no on-camera speech)."""
    home = tmp_path_factory.mktemp("attested")
    release = home / "release.pdf"
    release.write_bytes(b"%PDF-1.4 model release signed by the subject on paper\n")
    reg = ConsentRegistry(home / "consent.sqlite3")
    record = create_attested("Pexels Subject", "Jane Operator", release, samples["WolfgangLanger_Pexels.mp4"],
                             ["reenact", "lipsync"], days=30, registry=reg)
    return record, reg


# --- live capture: real footage -----------------------------------------------------------------


def test_valid_capture_passes_and_makes_a_signed_record(valid_clip, registry):
    challenge = issue_challenge("Test Subject", ["reenact", "lipsync"], days=90, registry=registry)
    assert challenge.phrase in challenge.statement and len(challenge.phrase.split()) == 4
    record, report = create_captured(challenge.id, valid_clip, registry=registry)
    assert report.passed, [c.to_dict() for c in report.failures]
    assert report.check("blinks").measures["blinks"] >= 1  # real blinks on real footage
    assert report.check("head_motion").measures["yaw_range_deg"] >= 10
    assert report.check("mouth_sync").measures["correlation"] >= 0.3
    assert record.kind == "captured" and record.challenge == challenge.phrase
    assert record.statement == challenge.statement and record.scopes == ("reenact", "lipsync")
    assert record.capture["checks"]["one_face"]["passed"]
    assert authorize(record.id, "lipsync", registry=registry) == record
    with pytest.raises(ConsentError, match="does not grant 'swap'"):
        authorize(record.id, "swap", registry=registry)
    ref = record.reference()
    assert (ref.kind, ref.record_id, ref.operator) == ("captured", record.id, None)
    with pytest.raises(ConsentError, match="already used"):  # a challenge is single-use
        create_captured(challenge.id, valid_clip, registry=registry)


def test_silent_capture_fails_on_speech(silent_obs):
    """The Pexels clip's own audio track is digital silence."""
    report = evaluate(silent_obs)
    assert silent_obs.has_audio
    assert {c.name for c in report.failures} == {"speech", "mouth_sync"}
    assert "no speech" in report.check("speech").message


def test_voice_that_does_not_follow_the_mouth_fails(silent_obs):
    """Constructed audio envelope, real mouth: a voice unrelated to the lips is refused."""
    aperture = signals.mouth_aperture(silent_obs.landmarks)
    n = silent_obs.n_frames
    synced = signals.frame_rms_db(cm.synced_audio(aperture, silent_obs.fps, n / silent_obs.fps),
                                  cm.AUDIO_RATE, silent_obs.fps, n)
    dubbed = signals.frame_rms_db(cm.synced_audio(aperture[::-1], silent_obs.fps, n / silent_obs.fps),
                                  cm.AUDIO_RATE, silent_obs.fps, n)
    good = evaluate(dataclasses.replace(silent_obs, audio_db=synced))
    bad = evaluate(dataclasses.replace(silent_obs, audio_db=dubbed))
    assert good.passed
    assert [c.name for c in bad.failures] == ["mouth_sync"]
    assert "does not move with the speech" in bad.check("mouth_sync").message


def test_frozen_image_fails_liveness(clips, registry):
    challenge = issue_challenge("Test Subject", ["reenact"], registry=registry)
    with pytest.raises(CaptureRejected) as err:
        create_captured(challenge.id, clips["frozen"], registry=registry)
    failed = {c.name for c in err.value.report.failures}
    assert {"blinks", "head_motion", "mouth_sync"} <= failed
    assert "speech" not in failed and "one_face" not in failed
    assert "no blink" in str(err.value) and "barely moves" in str(err.value)
    assert registry.list() == [] and registry.get_challenge(challenge.id).used_by is None


def test_no_face_capture_fails(clips):
    report = evaluate(observe(clips["no_face"]))
    assert not report.check("one_face").passed
    assert "no face in 100% of the frames" in report.check("one_face").message
    assert report.check("speech").passed


def test_two_faces_capture_fails(clips):
    report = evaluate(observe(clips["two_faces"]))
    one_face = report.check("one_face")
    assert not one_face.passed and one_face.measures["several_faces"] > 0.9
    assert "2 faces" in one_face.message


def test_spliced_second_person_fails(clips):
    """Pexels woman for 3.8 s, then the man of single_face.mp4: continuity catches the splice,
    and with an embedder installed (a test-only one here) so does identity."""
    report = evaluate(observe(clips["wrong_person"], host=_host(_EmbedderPlugin())))
    same = report.check("same_person")
    assert not same.passed and "changes abruptly at 3.8 s" in same.message
    assert "does not match itself" in same.message and same.measures["embedder"] == "test-appearance"
    assert report.check("one_face").passed and report.check("blinks").passed


def test_blink_detector_finds_the_real_blink(samples):
    """single_face.mp4: the man blinks once, around frame 27 (eyes shut for ~3 frames)."""
    obs = observe(samples["single_face.mp4"])
    blinks = signals.detect_blinks(signals.eye_aspect_ratio(obs.landmarks), obs.fps)
    assert len(blinks) == 1 and 24 <= blinks[0].start <= 30


def test_av_sync_recovers_a_constructed_lag():
    rng = np.random.default_rng(0)
    fps = 25.0
    mouth = np.convolve(rng.random(250), np.ones(5) / 5, mode="same")
    envelope = np.roll(mouth, 3) + 0.05 * rng.standard_normal(250)  # the sound trails the mouth by 3 frames
    r, lag = signals.av_sync(mouth, envelope, fps)
    assert r > 0.9 and lag == pytest.approx(-3 / fps)  # lipsync's sign: > 0 when the mouth trails
    r_noise, _ = signals.av_sync(mouth, rng.random(250), fps)
    assert r_noise < 0.3


# --- records and the gate -------------------------------------------------------------------


@pytest.fixture
def photo_record(samples, registry, tmp_path):
    release = tmp_path / "release.txt"
    release.write_text("signed release")
    return create_attested("Photo Subject", "Op", release, samples["single_face.jpg"], ["swap"], days=10,
                           registry=registry)


def _edit_document(registry: ConsentRegistry, record_id: str, **changes) -> None:
    with sqlite3.connect(registry.path) as db:
        doc = json.loads(db.execute("SELECT document FROM records WHERE id = ?", (record_id,)).fetchone()[0])
        doc.update(changes)
        db.execute("UPDATE records SET document = ? WHERE id = ?", (json.dumps(doc), record_id))


def test_attested_record_is_marked_attested(attested_pexels):
    record, reg = attested_pexels
    ref = record.reference()
    assert (ref.kind, ref.operator) == ("attested", "Jane Operator")
    assert ref.record_sha256 == record.sha256 and record.challenge is None and record.capture is None
    assert "Jane Operator attests" in record.statement
    assert authorize(record.id, "reenact", registry=reg).sha256 == record.sha256


def test_gate_refuses_with_the_reason(photo_record, registry, monkeypatch):
    assert authorize(photo_record.id, "swap", registry=registry).id == photo_record.id
    with pytest.raises(ConsentError, match="unknown consent record"):
        authorize("cr_nope", "swap", registry=registry)
    with pytest.raises(ConsentError, match="does not grant 'reenact'"):
        authorize(photo_record.id, "reenact", registry=registry)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=11)
    with pytest.raises(ConsentError, match="expired on"):
        authorize(photo_record.id, "swap", registry=registry, now=later)
    # Another installation's key (or a replaced key) cannot vouch for this record.
    from toolkit.consent import keys

    monkeypatch.setattr(keys, "key_path", lambda: registry.path.parent / "other.key")
    keys.load_key(create=True)
    with pytest.raises(ConsentError, match="another installation key"):
        authorize(photo_record.id, "swap", registry=registry)


def test_tampered_records_are_refused(photo_record, registry):
    _edit_document(registry, photo_record.id, scopes=["swap", "reenact"])  # widen the scopes
    with pytest.raises(ConsentError, match="altered"):
        authorize(photo_record.id, "reenact", registry=registry)
    _edit_document(registry, photo_record.id, scopes=["swap"])  # put it back: valid again
    assert authorize(photo_record.id, "swap", registry=registry)
    with sqlite3.connect(registry.path) as db:  # swap the face reference for another face
        db.execute("UPDATE records SET face_png = ? WHERE id = ?", (b"\x89PNG other face", photo_record.id))
    with pytest.raises(ConsentError, match="face reference image does not match"):
        authorize(photo_record.id, "swap", registry=registry)


def test_revocation(photo_record, registry):
    rev = revoke(photo_record.id, "subject asked", registry=registry)
    assert rev.signature_ok and rev.record_sha256 == photo_record.sha256
    with pytest.raises(ConsentError, match=r"was revoked on .* \(subject asked\)"):
        authorize(photo_record.id, "swap", registry=registry)


def test_bad_record_input(samples, registry, tmp_path):
    release = tmp_path / "r.txt"
    release.write_text("x")
    with pytest.raises(InputError, match="unknown scope"):
        create_attested("A", "Op", release, samples["single_face.jpg"], ["clone"], registry=registry)
    with pytest.raises(InputError, match="not in the future"):
        create_attested("A", "Op", release, samples["single_face.jpg"], ["swap"], expires="2001-01-01",
                        registry=registry)
    with pytest.raises(InputError, match=r"\d faces found"):
        create_attested("A", "Op", release, samples["multi_face.jpg"], ["swap"], registry=registry)
    with pytest.raises(InputError, match="operator"):
        create_attested("A", " ", release, samples["single_face.jpg"], ["swap"], registry=registry)
    with pytest.raises(ConsentError, match="unknown challenge"):
        create_captured("ch_nope", samples["single_face.mp4"], registry=registry)
    assert registry.list() == []


def test_model_binding(photo_record, attested_pexels):
    other, _ = attested_pexels
    check_model_binding(photo_record.model_binding(), photo_record)
    with pytest.raises(ConsentError, match=f"trained from consent record {photo_record.id}"):
        check_model_binding(photo_record.model_binding(), other)
    with pytest.raises(ConsentError, match="records no consent record"):
        check_model_binding({}, photo_record)


# --- enforcement in the generation job ------------------------------------------------------------


class _Calls:
    instantiated = 0
    generated = 0


def _generator_plugin(identity_inputs: tuple[str, ...] = (), check_photo: bool = False):
    """A third-party-style generator plugin; it yields a few frames of the source photo."""

    class Echo(Generator):
        name = "echo-test"
        scope = "reenact"
        version = "1.0"
        inputs = {"source": "a photo of the subject"}

        def __init__(self):
            _Calls.instantiated += 1

        def generate(self, request, context):
            _Calls.generated += 1
            from toolkit.media import read_image

            image = read_image(request.inputs["source"])
            if check_photo:
                context.verify_identity(image)
            frame = image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2]
            return GeneratedVideo(frames=[frame] * 4, fps=10, model="echo-1", frame_count=4)

    Echo.identity_inputs = identity_inputs

    class Plugin:
        @hookimpl
        def register_generators(self, register):
            register(Echo)

    return Plugin()


def _host(*extra, faces: bool = True) -> PluginHost:
    host = PluginHost(load_entry_points=False)
    if faces:
        import plugins.faces_mediapipe as mediapipe_backends

        host.register(mediapipe_backends, "faces_mediapipe")
    for i, plugin in enumerate(extra):
        host.register(plugin, f"extra{i}")
    return host


@pytest.fixture
def calls():
    _Calls.instantiated = _Calls.generated = 0
    return _Calls


def _request(tmp_path, consent_id, samples, source="single_face.jpg"):
    return GenerationRequest(generator="echo-test", consent_id=consent_id, output=tmp_path / "out.mp4",
                             inputs={"source": str(samples[source])})


@pytest.mark.parametrize("consent_id, reason", [("", "every generation needs --consent"),
                                                ("cr_missing", "unknown consent record")])
def test_generator_cannot_run_without_a_record(consent_id, reason, tmp_path, samples, calls, registry):
    from toolkit.jobs.generate import run_generation

    store = JobStore(tmp_path / "jobs.db")
    host = _host(_generator_plugin(), faces=False)
    with pytest.raises(ConsentError, match=reason):
        run_generation(_request(tmp_path, consent_id, samples), store=store, host=host, registry=registry)
    assert (calls.instantiated, calls.generated) == (0, 0)
    assert not (tmp_path / "out.mp4").exists()
    (job,) = store.list()
    assert job.state == "failed" and job.error["error"] == "consent_refused"


def test_revoked_expired_tampered_records_block_generation(tmp_path, samples, calls, registry, monkeypatch):
    from toolkit.consent import gate
    from toolkit.jobs.generate import run_generation

    release = tmp_path / "r.txt"
    release.write_text("release")
    host = _host(_generator_plugin())
    store = JobStore(tmp_path / "jobs.db")

    def refused(record_id, match):
        with pytest.raises(ConsentError, match=match):
            run_generation(_request(tmp_path, record_id, samples), store=store, host=host, registry=registry)

    revoked = create_attested("S", "Op", release, samples["single_face.jpg"], ["reenact"], days=5, registry=registry)
    revoke(revoked.id, registry=registry)
    refused(revoked.id, "was revoked")
    tampered = create_attested("S", "Op", release, samples["single_face.jpg"], ["swap"], days=5, registry=registry)
    _edit_document(registry, tampered.id, scopes=["swap", "reenact"])
    refused(tampered.id, "altered")
    expiring = create_attested("S", "Op", release, samples["single_face.jpg"], ["reenact"], days=1, registry=registry)
    real_now = gate.utc_now
    monkeypatch.setattr(gate, "utc_now", lambda: real_now() + dt.timedelta(days=2))
    refused(expiring.id, "expired")
    assert (calls.instantiated, calls.generated) == (0, 0)
    assert [j.state for j in store.list()] == ["failed"] * 3


def test_generation_with_an_attested_record_references_it(attested_pexels, tmp_path, samples, calls):
    from toolkit.jobs.generate import run_generation

    record, reg = attested_pexels
    host = _host(_generator_plugin(), faces=False)
    job = run_generation(_request(tmp_path, record.id, samples), store=JobStore(tmp_path / "jobs.db"), host=host,
                         registry=reg)
    assert job.state == "succeeded" and calls.generated == 1
    assert job.result["consent"] == {"record_id": record.id, "record_sha256": record.sha256, "kind": "attested",
                                     "operator": "Jane Operator"}
    from watermark.c2pa_read import read_provenance
    from watermark.detect import detect_file

    report = read_provenance(tmp_path / "out.mp4")  # the signed manifest carries the reference
    assert report.state == "Trusted" and report.consent == record.reference()
    mark = detect_file(tmp_path / "out.mp4")
    assert mark.found and mark.payload_hex == report.watermark_id == job.result["watermark_id"]


class _AppearanceEmbedder:
    """TEST ONLY, not an identity model: the normalised grey pixels of the aligned crop.

    It lets the embedder path run end to end on real photos; in this tiny sample set it
    separates the Pexels woman (0.6-0.8 with herself) from the other faces (< 0.45).
    """

    name = "test-appearance"
    kind = "embedder"
    priority = 1
    input_size = 32
    crop_padding = 0.0
    match_threshold = 0.55

    def embed(self, aligned_face):
        grey = aligned_face.astype(np.float64).mean(axis=2)
        grey -= grey.mean()
        return (grey / np.linalg.norm(grey)).ravel().astype(np.float32)


class _EmbedderPlugin:
    @hookimpl
    def register_face_backends(self, register):
        register(_AppearanceEmbedder())


def test_photo_paths_are_disabled_without_an_embedder(attested_pexels, tmp_path, samples, calls):
    from toolkit.jobs.generate import run_generation

    record, reg = attested_pexels
    host = _host(_generator_plugin(identity_inputs=("source",)))
    with pytest.raises(ConsentError, match="no face embedder backend is installed"):
        run_generation(_request(tmp_path, record.id, samples), store=JobStore(tmp_path / "j.db"), host=host,
                       registry=reg)
    assert calls.generated == 0
    host = _host(_generator_plugin(check_photo=True))  # a generator that checks a photo itself
    with pytest.raises(ConsentError, match="no face embedder backend is installed"):
        run_generation(_request(tmp_path, record.id, samples), store=JobStore(tmp_path / "j.db"), host=host,
                       registry=reg)


def test_photo_must_match_the_record_face(attested_pexels, tmp_path, samples, calls):
    from toolkit.jobs.generate import run_generation
    from toolkit.media import VideoReader, write_image

    record, reg = attested_pexels
    her = tmp_path / "her.png"
    write_image(her, next(f.image for f in VideoReader(samples["WolfgangLanger_Pexels.mp4"]) if f.index == 300))
    host = _host(_generator_plugin(identity_inputs=("source",)), _EmbedderPlugin())
    store = JobStore(tmp_path / "j.db")
    with pytest.raises(ConsentError, match=f"does not show the subject of consent record {record.id}"):
        run_generation(_request(tmp_path, record.id, samples), store=store, host=host, registry=reg)
    with pytest.raises(InputError, match="faces found"):
        run_generation(_request(tmp_path, record.id, samples, "multi_face.jpg"), store=store, host=host,
                       registry=reg)
    assert calls.generated == 0
    request = GenerationRequest("echo-test", record.id, tmp_path / "out.mp4", inputs={"source": str(her)})
    assert run_generation(request, store=store, host=host, registry=reg).state == "succeeded"
    assert calls.generated == 1


# --- the command line ---------------------------------------------------------------------------


def test_cli_attest_list_show_revoke(run_cli, samples, tmp_path):
    release = tmp_path / "release.txt"
    release.write_text("signed release")
    code, out, err = run_cli("consent", "attest", "--subject", "Cli Subject", "--operator", "Jane Operator",
                             "--release", release, "--face", samples["single_face.jpg"], "--scopes", "swap,lipsync",
                             "--days", "7", "--json")
    assert code == 0, err
    created = json.loads(out)
    rid = created["record"]["id"]
    code, out, _ = run_cli("consent", "list", "--json")
    row = next(r for r in json.loads(out) if r["id"] == rid)
    assert (row["status"], row["kind"], row["scopes"]) == ("valid", "attested", ["lipsync", "swap"])
    code, out, _ = run_cli("consent", "show", rid)
    assert code == 0 and "ATTESTED" in out and "Jane Operator" in out and "challenge phrase" not in out
    code, out, _ = run_cli("consent", "show", rid, "--json")
    shown = json.loads(out)
    assert (shown["kind"], shown["operator"], shown["sha256"]) == ("attested", "Jane Operator", created["sha256"])
    code, out, _ = run_cli("consent", "revoke", rid, "--reason", "test", "--json")
    assert code == 0 and json.loads(out)["record_id"] == rid
    code, out, _ = run_cli("consent", "show", rid, "--json")
    assert json.loads(out)["status"] == "revoked"
    code, out, err = run_cli("consent", "show", "cr_nope")
    assert code == 4 and "unknown consent record" in err and "Traceback" not in err


def test_cli_challenge(run_cli):
    code, out, _ = run_cli("consent", "challenge", "--subject", "Ada", "--scopes", "reenact", "--json")
    data = json.loads(out)
    assert code == 0 and data["phrase"] in data["statement"] and data["scopes"] == ["reenact"]
    code, _, err = run_cli("consent", "challenge", "--subject", "Ada", "--scopes", "clone")
    assert code == 2 and "unknown scope 'clone'" in err
