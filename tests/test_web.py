"""The web app's server side: loopback binding, typed errors, upload limits, the download
allow-list and plugin tabs. Browser-driven checks are in test_web_browser.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from apps.context import WebContext
from apps.downloads import DownloadAllowList, DownloadRefused
from apps.uploads import UploadLimits, check_upload
from toolkit.errors import InputError, MediaTooLargeError, UnsupportedMediaError
from toolkit.hookspecs import hookimpl
from toolkit.paths import data_dir
from toolkit.plugins import PluginHost
from toolkit.webtabs import WebTab
from media_factory import transcode
from web_server import free_port, running_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def app_url():
    with running_app() as (url, _app):
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(addr)
    return found


def test_dftk_web_binds_loopback_and_prints_its_address(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DFTK_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", "from toolkit.cli import main; main()", "web", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "running on" in line or not line and proc.poll() is not None:
                break
        assert f"http://127.0.0.1:{port}/" in line, line
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, no wildcard
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_upload_gives_the_one_line_message_not_a_traceback(client, tmp_path, capfd):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    text = tmp_path / "notes.txt"
    text.write_text("not media\n" * 20)
    capfd.readouterr()
    with pytest.raises(AppError) as err:
        client.predict(handle_file(str(text)), api_name="/verify")
    assert str(err.value) == "notes.txt: .txt is not accepted here; use .mp4, .mov, .m4v, .mkv, .webm, .avi, " \
                             ".jpg, .jpeg, .png, .webp, .wav"
    out, errout = capfd.readouterr()
    assert "Traceback" not in out + errout


def test_verify_reads_a_real_file(client, samples):
    from gradio_client import handle_file

    summary, details = client.predict(handle_file(str(samples["single_face.jpg"])), api_name="/verify")
    assert "no provenance" in summary and "no manifest" in summary and "none found" in summary
    assert details["c2pa"]["has_manifest"] is False and details["agreement"] == "none"
    assert details["watermark"]["found"] is False and details["file"] == "single_face.jpg"


def test_arbitrary_paths_cannot_be_fetched(client, app_url):
    from gradio_client.exceptions import AppError

    secret = data_dir() / "jobs.sqlite3"
    secret.touch()
    for path in ("/etc/passwd", str(secret), str(ROOT / "pyproject.toml"), "../../../../etc/passwd"):
        with pytest.raises(AppError, match="not offered for download"):
            client.predict(path, api_name="/download")
    # Gradio's own file route: the data dir is blocked, and files outside its upload
    # folder were never created by the app.
    for path in (secret, Path("/etc/passwd"), ROOT / "pyproject.toml"):
        assert httpx.get(f"{app_url}gradio_api/file={path}", timeout=10).status_code == 403


def test_allow_list_serves_only_what_was_offered_and_unchanged(tmp_path):
    allow = DownloadAllowList(staging_dir=tmp_path / "staging")
    report = tmp_path / "report.json"
    report.write_text('{"verdict": "real"}')
    other = tmp_path / "other.json"
    other.write_text("{}")
    allow.offer_report(report)
    staged = Path(allow.resolve(str(report)))
    assert staged.read_text() == report.read_text() and staged.parent.parent == tmp_path / "staging"
    assert Path(allow.resolve(str(tmp_path / "." / "report.json"))) == staged  # same file, other spelling
    with pytest.raises(DownloadRefused, match="not offered"):
        allow.resolve(str(other))
    report.write_text('{"verdict": "fake"}')  # changed after it was written
    with pytest.raises(DownloadRefused, match="changed or vanished"):
        allow.resolve(str(report))


def test_upload_limits(samples, tmp_path):
    clip = samples["WolfgangLanger_Pexels.mp4"]
    path, info = check_upload(str(clip), ("video",))
    assert info.video is not None and path == clip
    with pytest.raises(MediaTooLargeError, match=r"20 s is longer than the 5 s limit"):
        check_upload(str(clip), ("video",), UploadLimits(max_seconds=5))
    with pytest.raises(MediaTooLargeError, match="over the 1 MB upload limit"):
        check_upload(str(clip), ("video",), UploadLimits(max_mb=1))
    with pytest.raises(UnsupportedMediaError, match=r"\.jpg is not accepted here; use \.mp4"):
        check_upload(str(samples["single_face.jpg"]), ("video",))
    fake = tmp_path / "fake.mp4"
    fake.write_text("hello" * 100)
    with pytest.raises(UnsupportedMediaError, match="not a media file"):
        check_upload(str(fake), ("video",))
    video_only = transcode(samples["single_face.mp4"], tmp_path / "video_only.mp4", "libx264", max_frames=5)
    as_audio = video_only.rename(tmp_path / "speech.m4a")
    with pytest.raises(InputError, match="speech.m4a: contains no audio stream"):
        check_upload(str(as_audio), ("audio",))
    with pytest.raises(InputError, match="upload a video first"):
        check_upload(None, ("video",), what="video")


def _tab_build(fail: bool):
    def build():
        import gradio as gr

        if fail:
            raise RuntimeError("tab exploded")
        gr.Markdown("hello from a plugin tab", elem_id="plugin-hello")

    return build


class _GoodTabs:
    @hookimpl
    def register_web_tabs(self, register):
        register(WebTab(title="Hello", build=_tab_build(False)))


class _BrokenTabs:
    @hookimpl
    def register_web_tabs(self, register):
        register(WebTab(title="Broken", build=_tab_build(True)))


def test_plugin_tabs_appear_and_a_broken_one_is_contained():
    from apps.web import build_app

    host = PluginHost(load_entry_points=False)
    host.register(_GoodTabs(), name="tabs_good")
    host.register(_BrokenTabs(), name="tabs_bad")
    app = build_app(WebContext(host=host))
    ids = {c.get("props", {}).get("elem_id") for c in app.config["components"]}
    assert {"plugin-tab-tabs_good", "plugin-tab-tabs_bad", "plugin-hello"} <= ids
    assert any(f.plugin == "tabs_bad" and "tab exploded" in f.error for f in host.failures)
    values = [c.get("props", {}).get("value") for c in app.config["components"]]
    assert any(isinstance(v, str) and "tab exploded" in v for v in values)


def test_consent_capture_rejection_shows_every_check(client, samples):
    challenge_id, phrase = client.predict("Ada Test", ["reenact"], 10, api_name="/consent_challenge")
    assert challenge_id.startswith("ch_") and "Challenge phrase" in phrase and "I, Ada Test, agree" in phrase
    from gradio_client import handle_file

    status, checks = client.predict(challenge_id, handle_file(str(samples["single_face.mp4"])),
                                    api_name="/consent_create")
    assert status.startswith("**Rejected.** consent capture rejected: duration: the recording is only 2.4 s")
    rows = [line for line in checks.splitlines()[2:] if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows] == ["duration", "one_face", "blinks", "head_motion", "speech",
                                                       "mouth_sync", "same_person"]
    assert "**FAIL**" in rows[0] and "pass" in rows[1]  # 2.4 s is too short; one face is seen


@pytest.fixture(scope="module")
def cartoon_app():
    """The app with the example third-party generator (examples/cartoon) installed beside the builtins."""
    sys.path.insert(0, str(ROOT / "examples" / "cartoon"))
    import dftk_cartoon

    host = PluginHost()
    host.register(dftk_cartoon, name="cartoon", source="installed")
    ctx = WebContext(host=host)
    with running_app(ctx) as (url, _app):
        yield url, ctx
    sys.path.remove(str(ROOT / "examples" / "cartoon"))


def test_create_with_an_attested_record_gives_a_signed_marked_download(cartoon_app, samples, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from toolkit.verify import verify_file

    url, ctx = cartoon_app
    client = Client(url, verbose=False)
    release = tmp_path / "release.txt"
    release.write_text("Model release signed on paper by the subject of the Pexels clip.\n")
    status = client.predict("Pexels Subject", "Jane Operator", ["reenact"], 30, handle_file(str(release)),
                            handle_file(str(samples["WolfgangLanger_Pexels.mp4"])), api_name="/consent_attest")
    record_id = status.split("**")[1]
    assert record_id.startswith("cr_") and "attested" in status

    clip = transcode(samples["WolfgangLanger_Pexels.mp4"], tmp_path / "short.mp4", "libx264", max_frames=24)
    with pytest.raises(AppError, match="choose a consent record"):
        client.predict(None, handle_file(str(clip)), api_name="/create_cartoon")
    with pytest.raises(AppError, match="consent"):  # the gate refuses an unknown record
        client.predict("cr_0000000000000000", handle_file(str(clip)), api_name="/create_cartoon")
    video, summary, download = client.predict(record_id, handle_file(str(clip)), api_name="/create_cartoon")
    assert "24 frames" in summary and "AI-generated" in summary and "matches" in summary
    assert f"`{record_id}` (attested, attested by Jane Operator)" in summary
    (offer,) = [o for o in ctx.downloads.offers() if o.kind == "generated"]
    fetched = client.predict(str(offer.path), api_name="/download")  # the by-name endpoint serves it
    played = video["video"] if isinstance(video, dict) else video
    for path in (played, download, fetched):
        assert isinstance(path, str), path
        report = verify_file(Path(path))
        assert report.c2pa.state == "Trusted" and report.agreement == "match"
        assert report.c2pa.consent.record_id == record_id and report.watermark.found


def test_detect_gives_a_verdict_and_downloadable_reports(client, samples):
    from gradio_client import handle_file

    verdict, html, report_json, timeline, heatmaps, findings = client.predict(
        handle_file(str(samples["single_face.mp4"])), api_name="/detect")
    assert verdict.startswith("## ") and any(b in verdict for b in ("AUTHENTIC", "SUSPICIOUS", "MANIPULATED"))
    data = json.loads(Path(report_json).read_text())
    assert data["path"] == "single_face.mp4"  # the user's name, not the server's upload path
    assert data["verdict"].upper() in verdict and {d["detector"] for d in data["detectors"]} >= {"provenance", "blend"}
    page = Path(html).read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and data["verdict"] in page.lower()
    assert Path(timeline).stat().st_size > 0
    assert all(Path(item["image"]).is_file() for item in heatmaps)
    assert "| provenance |" in findings and "Caveats" in findings


def test_detect_reports_progress_and_cancels_its_job(client, samples):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from toolkit.jobs import JobStore

    before = {r.id for r in JobStore().list()}
    job = client.submit(handle_file(str(samples["WolfgangLanger_Pexels.mp4"])), api_name="/detect")
    deadline = time.monotonic() + 120
    running = None
    while time.monotonic() < deadline and running is None:
        fresh = [r for r in JobStore().list() if r.id not in before and r.kind == "detect"]
        running = next((r for r in fresh if r.state == "running" and r.done > 0), None)
        time.sleep(0.2)
    assert running is not None, "the detection job never reported progress"
    progress = job.status().progress_data
    assert progress and progress[-1].length and progress[-1].desc  # gr.Progress fed from the job
    client.predict(api_name="/cancel_detect")
    with pytest.raises(AppError, match="cancelled"):
        job.result(timeout=120)
    record = JobStore().get(running.id)
    assert record.state == "cancelled" and record.cancel_requested


# --- live webcam reenactment --------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_subject(client, samples, tmp_path_factory):
    """An attested record for the Pexels subject (reenact, lip-sync, swap) and its personal
    model trained through the Train tab's API with the ``tiny`` preset (seconds: enough to
    render, not a usable likeness). ``outputs``: every (preview, status) the tab streamed."""
    from gradio_client import handle_file

    from toolkit.consent import create_attested

    release = tmp_path_factory.mktemp("subject") / "release.txt"
    release.write_text("Model release signed on paper by the subject of the Pexels clip.\n")
    footage = samples["WolfgangLanger_Pexels.mp4"]
    record = create_attested("Pexels Subject", "Jane Operator", release, footage, ["reenact", "lipsync", "swap"],
                             days=1)
    job = client.submit(record.id, handle_file(str(footage)), "tiny", api_name="/train")
    job.result(timeout=300)
    return {"record": record, "release": release, "footage": footage, "outputs": job.outputs()}


def test_train_tab_streams_previews_and_ends_with_the_model_card(trained_subject, client, samples):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError
    from PIL import Image

    from toolkit.gan import PRESETS, PersonalModel

    record, outputs = trained_subject["record"], trained_subject["outputs"]
    statuses = [status for _, status in outputs]
    assert any(s.startswith("Training: step") for s in statuses[:-1])  # previews while it learns
    previews = [Image.open(image) for image, _ in outputs if image]
    size = PRESETS["tiny"].size
    assert previews and all(p.size == (3 * size, 2 * size) for p in previews)  # real crops over renders
    final = statuses[-1]
    assert final.startswith(f"Model trained for consent record **{record.id}** (tiny preset, {PRESETS['tiny'].steps} "
                            "steps) on the clip the record's face reference was taken from")
    assert "| gan |" in final and "| warp_only |" in final
    model = PersonalModel.for_consent(record.id)
    model.check_record(record)  # bound to this very record
    with pytest.raises(AppError, match="neither the consent recording nor the clip"):  # someone else's footage
        client.predict(record.id, handle_file(str(samples["single_face.mp4"])), "tiny", api_name="/train")


def test_create_has_a_form_for_every_builtin_generator(client, app_url):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/create_reenact", "/create_lipsync", "/create_swap"} <= set(endpoints)
    config = httpx.get(f"{app_url}config", timeout=10).json()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"create-reenact-driver", "create-lipsync-video", "create-lipsync-audio", "create-lipsync-audio-video",
            "create-lipsync-text",
            "create-swap-target", "create-live-camera"} <= ids


def test_lipsync_from_typed_text_gives_a_signed_marked_download(client, trained_subject, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from toolkit.media import probe
    from toolkit.verify import verify_file

    record, footage = trained_subject["record"], trained_subject["footage"]
    tone = tmp_path / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(tone), "synth", "1", "sine", "220"], check=True)
    # Arguments: consent, video, audio, audio from a video's sound track, text.
    with pytest.raises(AppError, match="either as audio or as typed text, not both"):
        client.predict(record.id, handle_file(str(footage)), handle_file(str(tone)), None, "Hello.",
                       api_name="/create_lipsync")
    with pytest.raises(AppError, match="lipsync needs audio"):
        client.predict(record.id, handle_file(str(footage)), None, None, "", api_name="/create_lipsync")
    video, summary, download = client.predict(record.id, handle_file(str(footage)), None, None,
                                              "Hello, I agreed to this.", api_name="/create_lipsync")
    report = verify_file(Path(download))
    assert report.c2pa.state == "Trusted" and report.agreement == "match"
    assert report.c2pa.consent.record_id == record.id and report.watermark.found
    info = probe(Path(download))
    assert info.audio is not None and 1.0 < info.duration < 5.0  # as long as the spoken words
    assert f"`{record.id}`" in summary


def test_lipsync_takes_the_speech_from_a_videos_sound_track(client, trained_subject, samples, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from toolkit.media import probe, read_audio
    from toolkit.verify import verify_file

    record, footage = trained_subject["record"], trained_subject["footage"]
    speech = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "One, two, three, four, five."], check=True)
    # A real clip (the man) with that speech as its sound track: what a user brings along.
    talking = tmp_path / "talking.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(samples["single_face.mp4"]), "-i", str(speech),
                    "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(talking)], check=True)
    silent = tmp_path / "no_sound.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(samples["single_face.mp4"]), "-an", "-c:v", "copy",
                    str(silent)], check=True)
    with pytest.raises(AppError, match="no sound track"):
        client.predict(record.id, handle_file(str(footage)), None, handle_file(str(silent)), "",
                       api_name="/create_lipsync")
    tone = tmp_path / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(tone), "synth", "1", "sine", "220"], check=True)
    with pytest.raises(AppError, match="either as an audio file or as a video"):
        client.predict(record.id, handle_file(str(footage)), handle_file(str(tone)), handle_file(str(talking)), "",
                       api_name="/create_lipsync")
    _, summary, download = client.predict(record.id, handle_file(str(footage)), None, handle_file(str(talking)), "",
                                          api_name="/create_lipsync")
    report = verify_file(Path(download))
    assert report.c2pa.state == "Trusted" and report.agreement == "match"
    # The output speaks the video's speech: its track is as long as the speech and as loud.
    said = read_audio(speech, 16000)
    heard = read_audio(Path(download), 16000)
    assert abs(probe(Path(download)).duration - len(said) / 16000) < 0.5
    rms = lambda x: float((x.astype("float64") ** 2).mean() ** 0.5)  # noqa: E731
    assert rms(heard) > 0.3 * rms(said)
    assert f"`{record.id}`" in summary


@pytest.fixture(scope="module")
def live_app(trained_subject, samples):
    """The built app (not served: the stream handler is called as Gradio calls it), with the
    trained subject's record and one without a model."""
    from apps.web import build_app
    from toolkit.consent import create_attested
    from web_server import builtin_host

    untrained = create_attested("Pexels Subject", "Jane Operator", trained_subject["release"],
                                trained_subject["footage"], ["reenact"], days=1)
    ctx = WebContext(host=builtin_host())
    app = build_app(ctx)
    (fn,) = [f for f in app.fns.values() if getattr(f, "name", "") == "live_frame"]
    return {"ctx": ctx, "handler": fn.fn, "record": trained_subject["record"], "untrained": untrained,
            "release": trained_subject["release"]}


def _stream(handler, frames, consent_id, session):
    import gradio as gr

    request = gr.Request(session_hash=session)
    return [handler(frame, consent_id, request=request) for frame in frames]


def _live_error(handler, consent_id, frame, session="errors") -> str:
    import gradio as gr

    with pytest.raises(gr.Error) as err:
        _stream(handler, [frame], consent_id, session)
    message = err.value.message
    assert "\n" not in message and "Traceback" not in message
    return message


def test_live_webcam_frames_come_back_as_the_watermarked_subject(live_app, samples):
    from toolkit.media import VideoReader
    from watermark.attacks import jpeg
    from watermark.detect import detect_frames

    ctx, handler, record = live_app["ctx"], live_app["handler"], live_app["record"]
    driver = [f.image for f in VideoReader(samples["single_face.mp4"])]
    shown = _stream(handler, driver, record.id, "webcam-1")
    live = ctx.live.get("webcam-1")
    assert live is not None and live.consent_id == record.id and live.frames == len(driver)
    assert live.session.faces_seen >= len(driver) - 5  # the driver's face was tracked
    subject = next(iter(VideoReader(samples["WolfgangLanger_Pexels.mp4"], max_frames=1))).image
    for out in shown:
        assert out.shape == subject.shape and out.dtype == np.uint8  # the subject's frame, at most 640 px
    # The subject, not the driver: much closer to her frame than to the man's.
    diff = lambda a, b: np.abs(a.astype(float) - b.astype(float)).mean()  # noqa: E731
    assert diff(shown[-1], subject) < 0.5 * diff(shown[-1], driver[-1])
    # Marked with this live session's own output ID, through the browser's JPEG encoding.
    found = detect_frames(jpeg(frame, 90) for frame in shown)
    assert found.found and found.payload_hex == live.watermark_id
    assert not detect_frames(driver[:24]).found
    # A second browser session gets its own output ID.
    _stream(handler, driver[:3], record.id, "webcam-2")
    assert ctx.live.get("webcam-2").watermark_id != live.watermark_id


def test_live_webcam_refuses_without_consent_or_model(live_app, samples):
    from toolkit.consent import create_attested
    from toolkit.media import VideoReader

    handler = live_app["handler"]
    frame = next(iter(VideoReader(samples["single_face.mp4"], max_frames=1))).image
    assert handler(None, None, request=None) is None  # the stream's first tick before the camera is on
    assert _live_error(handler, None, frame) == ("choose a consent record that grants reenact before starting "
                                                 "the webcam")
    assert "cr_0000000000000000" in _live_error(handler, "cr_0000000000000000", frame)
    missing = _live_error(handler, live_app["untrained"].id, frame)
    assert live_app["untrained"].id in missing and "model" in missing
    lipsync_only = create_attested("Pexels Subject", "Jane Operator", live_app["release"],
                                   samples["WolfgangLanger_Pexels.mp4"], ["lipsync"], days=1)
    assert "reenact" in _live_error(handler, lipsync_only.id, frame)


def test_live_webcam_stops_when_the_record_is_revoked(live_app, samples):
    from toolkit.consent import revoke
    from toolkit.media import VideoReader

    ctx, handler, record = live_app["ctx"], live_app["handler"], live_app["record"]
    frames = [f.image for f in VideoReader(samples["single_face.mp4"], max_frames=4)]
    assert all(out is not None for out in _stream(handler, frames[:2], record.id, "webcam-revoke"))
    ctx.live.recheck_s = 0.0  # re-authorise on every frame (the app does so every few seconds)
    revoke(record.id, "the subject withdrew consent")
    assert "revoked" in _live_error(handler, record.id, frames[2], session="webcam-revoke")
    assert ctx.live.get("webcam-revoke") is None  # the session was closed, its model released
    assert "revoked" in _live_error(handler, record.id, frames[3], session="webcam-new")
