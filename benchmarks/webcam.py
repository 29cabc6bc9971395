"""Live webcam reenactment speed: frames per second through the app's streaming handler.

Replays a real clip (the driver, single_face.mp4 by default) as webcam frames through the
very handler the app registers for ``gr.Image(sources=["webcam"], streaming=True).stream``
(found in the built app by name), with Gradio's own input decoding and output encoding of
the two Image components around it, as a browser stream would go. One driver frame is sent
when the previous one came back, so fps = 1 / per-frame time: the most the handler can serve
(a browser posts a frame every ``stream_every`` and Gradio keeps the newest one while the
handler is busy).

Setup (not timed): a throw-away DFTK_HOME, an attested consent record for the Pexels
clip and a personal model with the *quick* preset's architecture trained for only
``--steps`` steps: inference cost does not depend on how long it trained; the output
quality does, and is not what this measures. ``--consent ID`` with ``DFTK_HOME`` set reuses
an existing record and its model instead.

``--browser`` also measures end to end: headless Chromium with a fake webcam replaying the
clip streams to the running app on loopback, and the frames the handler served to that
page are counted (the browser, its fake camera and the server share the same CPU cores).

    PYTHONPATH=. python benchmarks/webcam.py [--frames 150] [--steps 40] [--browser]

Writes benchmarks/results/webcam.json. Target: >= 10 fps end to end on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "webcam.json"
sys.path.insert(0, str(ROOT))


def _setup(steps: int) -> str:
    from toolkit.consent import create_attested
    from toolkit.gan import preset_config, train_for_consent
    from toolkit.samples import sample_path

    home = Path(os.environ["DFTK_HOME"])
    release = home / "release.txt"
    release.write_text("Model release signed by the subject of the Pexels clip (benchmark fixture).\n")
    footage = sample_path("WolfgangLanger_Pexels.mp4")
    record = create_attested("Pexels Subject", "Benchmark Operator", release, footage, ["reenact"], days=1)
    cfg = preset_config("quick", steps=steps, checkpoint_every=max(steps, 1))
    print(f"training the quick architecture for {steps} steps (speed only) ...", flush=True)
    train_for_consent(footage, record.id, "quick", config=cfg, binding=record.model_binding())
    return record.id


def _driver_frames(name: str, count: int):
    from toolkit.media import VideoReader
    from toolkit.samples import sample_path

    frames = [f.image for f in VideoReader(sample_path(name))]
    cycle = frames + frames[-2:0:-1]  # ping-pong: no jump at the seam
    return [cycle[i % len(cycle)] for i in range(count)]


def _live_handler(app):
    for fn in app.fns.values():
        if getattr(fn, "name", "") == "live_frame":
            return fn.fn, fn.inputs[0], fn.outputs[0]
    raise SystemExit("the app has no live webcam handler (is the reenact generator installed?)")


def measure_handler(consent_id: str, frames: list) -> dict:
    import gradio as gr
    from gradio.data_classes import ImageData

    from apps.web import build_app

    app = build_app()
    handler, camera, shown = _live_handler(app)
    request = gr.Request(session_hash="benchmark")
    import cv2

    payloads = []
    for frame in frames:  # what the browser sends: a JPEG data URL per frame (encoded client-side)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        payloads.append(ImageData(url="data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()))
    times, stages = [], {"decode": [], "handler": [], "encode": []}
    for i, payload in enumerate(payloads):
        t0 = time.perf_counter()
        image = camera.preprocess(payload)
        t1 = time.perf_counter()
        out = handler(image, consent_id, request=request)
        t2 = time.perf_counter()
        shown.postprocess(out)
        t3 = time.perf_counter()
        if i >= 5:  # the first frames open the session (model load, tracker warm-up)
            times.append(t3 - t0)
            stages["decode"].append(t1 - t0)
            stages["handler"].append(t2 - t1)
            stages["encode"].append(t3 - t2)
    live = app.dftk_context.live.get("benchmark")
    median = statistics.median(times)
    return {
        "frames_timed": len(times),
        "fps": round(len(times) / sum(times), 2),
        "median_ms": round(median * 1000, 1),
        "p90_ms": round(sorted(times)[int(0.9 * (len(times) - 1))] * 1000, 1),
        "stage_median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in stages.items()},
        "input_size": list(frames[0].shape[:2]),
        "output_size": list(out.shape[:2]),
        "faces_seen": live.session.faces_seen if live else None,
    }


def measure_browser(consent_id: str, driver: str, seconds: float) -> dict:
    """Chromium's fake webcam replays the driver clip into the running app."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))
    from browser import CHROMIUM, CHROMIUM_ARGS
    from web_server import running_app

    from toolkit.samples import sample_path

    y4m = Path(os.environ["DFTK_HOME"]) / "driver.y4m"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "20", "-i",
                    str(sample_path(driver)), "-t", str(seconds + 20), "-pix_fmt", "yuv420p", str(y4m)], check=True)
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-video-capture={y4m}"]
    with running_app() as (url, app), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.get_by_role("tab", name="Create", exact=True).click()
        dropdown = page.locator("#create-reenact-consent input")
        dropdown.fill(consent_id)
        dropdown.press("Enter")
        page.locator("#create-live").get_by_text("Live: drive the subject").click()
        page.locator("#create-live-camera").get_by_text("Click to Access Webcam").click()
        page.locator("#create-live-camera button").filter(has_text="Record").first.click()
        page.locator("#create-live-output img").wait_for()
        time.sleep(3)  # warm-up: session open, model load
        # Frames the handler returned to this browser (the page may reuse one <img> src
        # while Gradio streams into it, so the server's count is the reliable one).
        live = app.dftk_context.live
        served = lambda: sum(s.frames for s in list(live._sessions.values()))  # noqa: E731
        start, t0 = served(), time.perf_counter()
        page.wait_for_timeout(seconds * 1000)
        elapsed, frames = time.perf_counter() - t0, served() - start
        page.screenshot(path=str(RESULTS.parent / "webcam_browser.png"))
        browser.close()
    return {"seconds": round(elapsed, 1), "new_frames": frames, "fps": round(frames / elapsed, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--steps", type=int, default=40, help="training steps of the throw-away model")
    parser.add_argument("--driver", default="single_face.mp4")
    parser.add_argument("--consent", help="reuse this record (and its trained model) in DFTK_HOME")
    parser.add_argument("--browser", action="store_true", help="also measure through headless Chromium")
    parser.add_argument("--browser-seconds", type=float, default=20.0)
    args = parser.parse_args()
    tmp = None
    if not args.consent:
        tmp = tempfile.TemporaryDirectory()
        from toolkit.paths import samples_dir

        os.environ.setdefault("DFTK_SAMPLES_DIR", str(samples_dir()))
        os.environ["DFTK_HOME"] = tmp.name
    consent_id = args.consent or _setup(args.steps)
    load_before = [round(x, 2) for x in os.getloadavg()]
    result = {"driver": args.driver, "handler": measure_handler(consent_id, _driver_frames(args.driver, args.frames))}
    if args.browser:
        result["browser"] = measure_browser(consent_id, args.driver, args.browser_seconds)
    result.update({"cpus": os.cpu_count(), "machine": platform.machine(), "load_average_before": load_before,
                   "load_average_after": [round(x, 2) for x in os.getloadavg()], "model": "quick architecture",
                   "train_steps": None if args.consent else args.steps})
    h = result["handler"]
    print(f"{'path':<10} {'fps':>6} {'median ms':>10} {'decode':>7} {'handler':>8} {'encode':>7}")
    print(f"{'handler':<10} {h['fps']:>6} {h['median_ms']:>10} {h['stage_median_ms']['decode']:>7} "
          f"{h['stage_median_ms']['handler']:>8} {h['stage_median_ms']['encode']:>7}")
    if "browser" in result:
        print(f"{'browser':<10} {result['browser']['fps']:>6}  ({result['browser']['new_frames']} new frames in "
              f"{result['browser']['seconds']} s)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
