"""Headless Chromium drives the running web app on 127.0.0.1 (screenshots: artifacts/screenshots/)."""

from __future__ import annotations

import pytest

import json
import subprocess
import time

import consent_media as cm
from browser import RequestLog, launch_chromium, open_tab, screenshot, upload
from web_server import running_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def served():
    with running_app() as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def app_url(served):
    return served[0]


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requests = RequestLog(page)
    page.goto(app_url)
    page.get_by_role("tab", name="Verify", exact=True).wait_for()
    yield page
    assert requests.off_loopback() == []  # no CDN fonts, analytics or share links
    context.close()


def test_verify_tab_reports_an_unsigned_sample(page, samples):
    open_tab(page, "Verify")
    upload(page, "verify-file", samples["single_face.jpg"])
    page.locator("#verify-run").click()
    summary = page.locator("#verify-summary")
    summary.get_by_text("no manifest").wait_for()
    screenshot(page, "verify_unsigned_sample")


def test_plugins_tab_lists_the_builtin_plugins(page):
    open_tab(page, "Plugins")
    table = page.locator("#plugins-table")
    table.get_by_text("builtin").first.wait_for()
    screenshot(page, "plugins")


@pytest.fixture(scope="module")
def consent_recording(samples, tmp_path_factory):
    """Real footage (Pexels frames 180-340) with a voice that follows her mouth: see
    tests/consent_media.py for what is constructed."""
    from toolkit.consent import signals
    from toolkit.consent.capture import observe

    out = tmp_path_factory.mktemp("web_consent")
    silent = out / "silent.mp4"
    fps = 24000 / 1001
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{180 / fps:.4f}", "-i",
                    str(samples["WolfgangLanger_Pexels.mp4"]), "-frames:v", "160", "-c:v", "libx264", "-crf", "18",
                    "-preset", "veryfast", "-an", str(silent)], check=True)
    obs = observe(silent)
    frames = cm.frames_of(silent)
    audio = cm.synced_audio(signals.mouth_aperture(obs.landmarks), obs.fps, len(frames) / obs.fps)
    return cm.write_clip(out / "consent_take.mp4", frames, obs.fps, audio)


def test_consent_capture_shows_the_phrase_and_every_check(page, consent_recording):
    open_tab(page, "Consent")
    page.locator("#capture-subject textarea, #capture-subject input").first.fill("Pexels Subject")
    page.locator("#capture-challenge").click()
    page.locator("#capture-phrase h3").get_by_text("Challenge phrase").wait_for()
    upload(page, "capture-video", consent_recording)
    page.locator("#capture-video video").first.wait_for(state="attached")
    page.locator("#capture-submit").click()
    status = page.locator("#capture-status")
    status.get_by_text("stored for").wait_for()
    checks = page.locator("#capture-checks")
    assert checks.locator("tbody tr").count() == 7
    assert "FAIL" not in checks.inner_text()
    screenshot(page, "consent_capture_passed")


def test_detect_tab_reads_the_verdict_of_a_sample_clip(page, samples, tmp_path):
    open_tab(page, "Detect")
    upload(page, "detect-file", samples["single_face.mp4"])
    page.locator("#detect-run").click()
    heading = page.locator("#detect-verdict h2")
    heading.wait_for()
    verdict = heading.inner_text()
    assert any(band in verdict for band in ("AUTHENTIC", "SUSPICIOUS", "MANIPULATED", "INCONCLUSIVE")), verdict
    page.locator("#detect-timeline img").wait_for()
    screenshot(page, "detect_single_face")
    with page.expect_download() as info:
        page.locator("#detect-json").click()
    saved = tmp_path / "report.json"
    info.value.save_as(saved)
    report = json.loads(saved.read_text())
    assert report["verdict"].upper() in verdict and report["path"] == "single_face.mp4"


@pytest.fixture(scope="module")
def reenact_subject(samples, tmp_path_factory):
    """An attested record for the Pexels subject (the sample consent record) and a tiny
    personal model trained for it: a few steps, enough for the real reenact generator to run."""
    from toolkit.consent import create_attested
    from toolkit.gan import preset_config, train_for_consent

    out = tmp_path_factory.mktemp("web_reenact")
    release = out / "release.txt"
    release.write_text("Model release signed on paper by the subject of the Pexels clip.\n")
    footage = samples["WolfgangLanger_Pexels.mp4"]
    record = create_attested("Pexels Subject", "Jane Operator", release, footage, ["reenact"], days=1)
    train_for_consent(footage, record.id, "tiny", config=preset_config("tiny", steps=8, checkpoint_every=8),
                      end=4.0, binding=record.model_binding())
    driver = out / "driver.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(samples["single_face.mp4"]),
                    "-frames:v", "30", "-c:v", "libx264", "-preset", "veryfast", "-an", str(driver)], check=True)
    return record, driver


def test_reenact_with_the_sample_record_downloads_a_signed_marked_file(page, reenact_subject, tmp_path):
    from toolkit.verify import verify_file

    record, driver = reenact_subject
    open_tab(page, "Create")
    page.get_by_role("tab", name="Reenact", exact=True).click()
    chooser = page.locator("#create-reenact-consent input")
    chooser.fill(record.id)
    chooser.press("Enter")
    upload(page, "create-reenact-driver", driver)
    page.locator("#create-reenact-driver video").first.wait_for(state="attached")
    page.locator("#create-reenact-run").click()
    provenance = page.locator("#create-reenact-provenance")
    provenance.get_by_text("30 frames,").first.wait_for()
    assert record.id in provenance.inner_text()
    screenshot(page, "create_reenact_signed")
    with page.expect_download() as info:
        page.locator("#create-reenact-download").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    report = verify_file(saved)
    assert report.c2pa.state == "Trusted" and report.c2pa.consent.record_id == record.id
    assert report.watermark.found and report.agreement == "match"


LIVE_FRAMES = 15  # output frames the live view must receive ...
LIVE_WITHIN_S = 45  # ... within this long after the first one (a loaded 2-core machine: a few fps suffices)


def test_live_webcam_keeps_streaming_reenacted_frames(playwright, served, reenact_subject, tmp_path):
    """Chromium's fake camera replays the driver clip; frames must keep flowing, not stop
    after the first (what Gradio's "always_last" trigger mode did to a stream)."""
    url, app = served
    record, driver = reenact_subject
    y4m = tmp_path / "driver.y4m"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(driver), "-vf", "scale=320:-2",
                    "-pix_fmt", "yuv420p", str(y4m)], check=True)
    chromium = launch_chromium(playwright, ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                            f"--use-file-for-fake-video-capture={y4m}"])
    live = app.dftk_context.live
    served_frames = lambda: sum(s.frames for s in list(live._sessions.values()))  # noqa: E731
    try:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        open_tab(page, "Create")
        page.get_by_role("tab", name="Reenact", exact=True).click()
        chooser = page.locator("#create-reenact-consent input")
        chooser.fill(record.id)
        chooser.press("Enter")
        page.locator("#create-live").get_by_text("Live: drive the subject").click()
        camera = page.locator("#create-live-camera")
        camera.get_by_text("Click to Access Webcam").click()
        camera.locator("button").filter(has_text="Record").first.click()
        page.locator("#create-live-output img").wait_for()  # the first frame: session open, model loaded
        first, deadline = served_frames(), time.monotonic() + LIVE_WITHIN_S
        while served_frames() - first < LIVE_FRAMES and time.monotonic() < deadline:
            page.wait_for_timeout(500)
        got = served_frames() - first
        screenshot(page, "create_live_webcam")
        assert got >= LIVE_FRAMES, f"only {got} new live frames in {LIVE_WITHIN_S} s: the stream stalled"
        session = next(iter(live._sessions.values()))
        assert session.consent_id == record.id and session.session.faces_seen > 0
    finally:
        chromium.close()
