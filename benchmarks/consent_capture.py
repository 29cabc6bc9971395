"""Consent-capture checks on recordings built from the real sample clips: what each check
measures, whether it passes, and how long the analysis takes per frame.

The recordings are the ones the tests use (tests/consent_media.py): real footage, with
constructed audio where the samples have no speech (see docs/consent.md). Writes
benchmarks/results/consent_capture.json.

    PYTHONPATH=. python benchmarks/consent_capture.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "consent_capture.json"
PEXELS_FPS = 24000 / 1001
SEGMENT = (180, 340)


def build(out: Path) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    import consent_media as cm

    from toolkit.consent import signals
    from toolkit.consent.capture import observe
    from toolkit.media import read_image
    from toolkit.samples import sample_path

    pexels, man = sample_path("WolfgangLanger_Pexels.mp4"), sample_path("single_face.mp4")
    a, b = SEGMENT
    seg, man_frames = cm.frames_of(pexels, a, b), cm.frames_of(man)
    voice = cm.speech_carrier(8.0)
    clips = {"silent (real silent track)": out / "silent.mp4"}
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{a / PEXELS_FPS:.4f}", "-i",
                    str(pexels), "-frames:v", str(b - a), "-t", f"{(b - a) / PEXELS_FPS:.4f}", "-c:v", "libx264",
                    "-crf", "18", "-preset", "veryfast", "-c:a", "copy", str(clips["silent (real silent track)"])],
                   check=True)
    silent = observe(clips["silent (real silent track)"])
    aperture = signals.mouth_aperture(silent.landmarks)
    seg = cm.frames_of(clips["silent (real silent track)"])  # the frames the aperture was measured on
    seconds = len(seg) / PEXELS_FPS
    clips["valid (voice follows mouth)"] = cm.write_clip(out / "valid.mp4", seg, PEXELS_FPS,
                                                         cm.synced_audio(aperture, PEXELS_FPS, seconds))
    clips["dubbed (voice unrelated)"] = cm.write_clip(out / "dubbed.mp4", seg, PEXELS_FPS,
                                                      cm.synced_audio(aperture[::-1], PEXELS_FPS, seconds))
    clips["frozen photo"] = cm.write_clip(out / "frozen.mp4", cm.still_clip(read_image(sample_path("single_face.jpg")), 6.0),
                                          25.0, 0.3 * voice[: 6 * cm.AUDIO_RATE])
    clips["no face"] = cm.write_clip(out / "no_face.mp4", cm.ping_pong(cm.frames_of(sample_path("no_face.mp4")), 140),
                                     23.67, 0.3 * voice[: int(140 / 23.67 * cm.AUDIO_RATE)])
    clips["two faces"] = cm.write_clip(out / "two.mp4", cm.side_by_side(seg[:130], cm.ping_pong(man_frames, 130)),
                                       PEXELS_FPS, 0.3 * voice[: int(130 / PEXELS_FPS * cm.AUDIO_RATE)])
    spliced = seg[:90] + cm.ping_pong(man_frames, 72)
    clips["spliced second person"] = cm.write_clip(out / "spliced.mp4", spliced, PEXELS_FPS,
                                                   0.3 * voice[: int(len(spliced) / PEXELS_FPS * cm.AUDIO_RATE)])
    return clips


def main() -> None:
    os.environ.setdefault("DFTK_HOME", tempfile.mkdtemp(prefix="dftk-bench-"))
    from toolkit.consent.capture import CHECKS, evaluate, observe

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = build(Path(tmp))
        observe(clips["no face"])  # warm up: model loading is not per-frame cost
        for label, path in clips.items():
            start = time.perf_counter()
            obs = observe(path)
            seconds = time.perf_counter() - start
            report = evaluate(obs)
            rows.append({
                "recording": label,
                "frames": obs.n_frames,
                "ms_per_frame": round(1000 * seconds / obs.n_frames, 1),
                "passed": report.passed,
                "failed": [c.name for c in report.failures],
                "measured": {c.name: c.value for c in report.checks},
                "measures": report.summary()["checks"],
            })
    header = f"{'recording':28s} {'frames':>6s} {'ms/frame':>8s}  " + "  ".join(f"{c:>14s}" for c in CHECKS)
    print(header)
    for r in rows:
        cells = "  ".join(f"{('' if r['measures'][c]['passed'] else '*') + r['measured'][c]:>14.14s}" for c in CHECKS)
        print(f"{r['recording']:28s} {r['frames']:6d} {r['ms_per_frame']:8.1f}  {cells}")
    print("(* = check failed)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.machine(), "cpus": os.cpu_count(),
                                   "python": platform.python_version(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
