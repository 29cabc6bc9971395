"""Lip-sync mouth motion: quality of the audio paths and speed of every stage.

No sample clip shows anyone speaking, so quality is measured on CONSTRUCTED data: each
"subject" is an espeak-ng voice; its "recording" is espeak speech of 24 sentences and
its "measured mouth" is the opening/width curve the text path derives from espeak's
phoneme timings. The learned per-person model trains on that recording; every path is
then scored on 10 held-out sentences by the Pearson r of its mouth opening (and width)
with the phonetic curve. This checks that the model learns an audio -> mouth mapping
that generalises to unseen speech; it says nothing about real faces.

Also: the natural audio-visual lag of text-path tracks put on real face-mesh landmarks
(should be 0), and how often av_sync finds injected lags of -8..8 frames.

    PYTHONPATH=. python benchmarks/lipsync.py [--steps 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "lipsync.json"
FPS = 25
VOICES = ("en-us", "en-us+f3")

SENTENCES = [
    "Our neighbour painted the garden gate a cheerful green.",
    "The train to the coast leaves at half past nine.",
    "She folded the map and put it back in her pocket.",
    "A cold wind blew across the empty parking lot.",
    "Thomas bought fresh bread and a jar of honey.",
    "We watched the boats drift slowly past the harbour.",
    "The teacher asked everyone to open their books.",
    "Please remember to water the plants on Friday.",
    "His old bicycle squeaks whenever it rains.",
    "The museum was quiet except for our footsteps.",
    "Mix the flour with butter until it looks like sand.",
    "Only a few stars were visible above the city.",
    "They moved the piano up three flights of stairs.",
    "My brother forgot his umbrella at the office.",
    "The soup needs more pepper and a little lemon.",
    "Owls hunt at night and sleep through the day.",
    "Could you pass me the blue cup on the shelf?",
    "Five puppies chased a ball around the yard.",
    "The judge listened carefully to both sides.",
    "Maybe we should leave before the traffic starts.",
    "A thin layer of frost covered the windows.",
    "Paul wrote a long letter to his aunt in Boston.",
    "Warm milk helps some people fall asleep.",
    "The choir sang softly as the lights dimmed.",
    "My grandmother keeps a small boat by the lake.",
    "We often walk to the market on Sunday mornings.",
    "Who would have thought the movie could be so good?",
    "Please open the window, it is warm in here.",
    "Bright yellow paint covered the old wooden fence.",
    "The plumber promised to arrive before noon.",
    "Everybody cheered when the band walked on stage.",
    "Should we bake a peach pie or a cherry tart?",
    "The zoo keeper fed the hungry seals at four.",
    "Remember to switch off the oven when you leave.",
]
N_TRAIN = 24


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _per_second(fn, audio_seconds: float, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / audio_seconds


def _landmarks() -> np.ndarray:
    import mediapipe as mp

    from toolkit.media import read_image
    from toolkit.samples import sample_path

    image = read_image(sample_path("single_face.jpg"))
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        found = mesh.process(image).multi_face_landmarks[0]
    h, w = image.shape[:2]
    return np.array([[p.x * w, p.y * h, p.z * w] for p in found.landmark])


def quality(steps: int) -> tuple[list[dict], dict]:
    from toolkit.lipsync import mouth_track_from_audio, mouth_track_from_text, train_audio_to_mouth

    train_text = " ".join(SENTENCES[:N_TRAIN])
    test_text = " ".join(SENTENCES[N_TRAIN:])
    data = {v: (mouth_track_from_text(train_text, FPS, voice=v), mouth_track_from_text(test_text, FPS, voice=v)) for v in VOICES}
    models = {}
    rows = []
    for voice, (train, test) in data.items():
        start = time.perf_counter()
        models[voice] = train_audio_to_mouth(train.audio, train.audio_rate, FPS, train.params, steps=steps, seed=0)
        train_s = time.perf_counter() - start
        env = mouth_track_from_audio(test.audio, test.audio_rate, FPS, n_frames=test.n_frames)
        learned = mouth_track_from_audio(test.audio, test.audio_rate, FPS, model=models[voice], n_frames=test.n_frames)
        for name, track in (("envelope (training-free)", env), ("learned, same voice", learned)):
            rows.append({
                "voice": voice, "path": name,
                "open_r": round(_corr(track.open, test.open), 3),
                "width_r": round(_corr(track.width, test.width), 3),
                "open_mae": round(float(np.abs(track.open - test.open).mean()), 3),
                "train_s": round(train_s, 1) if name.startswith("learned") else None,
                "train_audio_s": round(train.n_frames / FPS, 1), "test_audio_s": round(test.n_frames / FPS, 1),
            })
    # a per-person model is for its own voice: how much worse on another one?
    a, b = VOICES
    test_b = data[b][1]
    cross = mouth_track_from_audio(test_b.audio, test_b.audio_rate, FPS, model=models[a], n_frames=test_b.n_frames)
    rows.append({
        "voice": b, "path": f"learned on {a} (other voice)",
        "open_r": round(_corr(cross.open, test_b.open), 3), "width_r": round(_corr(cross.width, test_b.width), 3),
        "open_mae": round(float(np.abs(cross.open - test_b.open).mean()), 3), "train_s": None,
        "train_audio_s": None, "test_audio_s": round(test_b.n_frames / FPS, 1),
    })
    return rows, {"train": data[a][0], "model": models[a]}


def speed_and_sync(context: dict) -> tuple[dict, dict]:
    from toolkit.lipsync import (
        apply_mouth, apply_mouth_track, audio_envelope, av_sync, mouth_aperture, mouth_track_from_audio,
        mouth_track_from_text,
    )

    train = context["train"]
    audio_s = len(train.audio) / train.audio_rate
    text = " ".join(SENTENCES[:N_TRAIN])
    lm = _landmarks()
    speed = {
        "text_path_s_per_audio_s": _per_second(lambda: mouth_track_from_text(text, FPS), audio_s),
        "envelope_path_s_per_audio_s": _per_second(lambda: mouth_track_from_audio(train.audio, train.audio_rate, FPS), audio_s),
        "learned_predict_s_per_audio_s": _per_second(
            lambda: mouth_track_from_audio(train.audio, train.audio_rate, FPS, model=context["model"]), audio_s),
    }
    start = time.perf_counter()
    for p in train.params[:200]:
        apply_mouth(lm, p, neutral=lm)
    speed["apply_mouth_ms_per_frame"] = (time.perf_counter() - start) / 200 * 1000
    speed = {k: round(v, 4) for k, v in speed.items()}

    aperture = mouth_aperture(apply_mouth_track(lm, train.params, neutral=lm))
    envelope = audio_envelope(train.audio, train.audio_rate, FPS, train.n_frames)
    start = time.perf_counter()
    natural = av_sync(aperture, envelope, FPS, max_lag_frames=8)
    sync_ms = (time.perf_counter() - start) * 1000
    found = 0
    lags = range(-8, 9)
    for lag in lags:
        shifted = np.roll(aperture, lag)
        found += av_sync(shifted, envelope, FPS, max_lag_frames=10).lag_frames == natural.lag_frames + lag
    sync = {
        "natural_lag_frames": natural.lag_frames, "natural_r": round(natural.correlation, 3),
        "injected_lags_found": f"{found}/{len(lags)}", "av_sync_ms": round(sync_ms, 2),
        "frames": int(train.n_frames),
    }
    return speed, sync


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500, help="training steps of the learned model")
    args = parser.parse_args()

    rows, context = quality(args.steps)
    speed, sync = speed_and_sync(context)
    print(f"held-out mouth curves at {FPS} fps (constructed data: espeak voice + phonetic curve), {args.steps} steps")
    print(f"{'voice':<10} {'path':<32} {'open r':>7} {'width r':>8} {'open MAE':>9} {'train s':>8}")
    for r in rows:
        train_s = f"{r['train_s']:.1f}" if r["train_s"] is not None else "-"
        print(f"{r['voice']:<10} {r['path']:<32} {r['open_r']:>7.3f} {r['width_r']:>8.3f} {r['open_mae']:>9.3f} {train_s:>8}")
    print("speed:", ", ".join(f"{k}={v}" for k, v in speed.items()))
    print("sync:", ", ".join(f"{k}={v}" for k, v in sync.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
        "load_average": os.getloadavg()[0],
        "fps": FPS, "steps": args.steps, "quality": rows, "speed": speed, "sync": sync,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
