"""Personal GAN benchmark: self-reenactment on held-out frames, speed, training time.

Trains each preset on the first 75% of WolfgangLanger_Pexels.mp4 (the subject's
"consent recording") and evaluates on the last 25%:

* self-reenactment L1, PSNR, SSIM inside the face oval (and on the whole aligned crop)
  plus AKD (mean distance between MediaPipe meshes found on generated and real crops,
  pixels at 256x256), for the GAN and the warp-only baseline, with two sources: the first
  held-out frame (first-order-model protocol) and the model's stored neutral reference;
* flicker index against the real clip;
* the retrieval ceiling: the best training frame warped to each held-out frame, chosen by
  looking at the answer (what re-rendering any single view of the training part can reach),
  and the previous real frame warped (how well the warp registers a face);
* inference fps at 256x256 (``render``: warp + landmark map + generator) and end to end
  through ``ReenactSession.push`` (mesh tracking, render, paste-back into a 640x360 frame);
* wall and CPU time of each preset's training (the machine's load average is recorded:
  other processes on a shared machine stretch wall time, not CPU time).

* lip-sync: her clip (9.6-18.5 s, where nothing covers her mouth: ``LIPSYNC_SPAN`` of
  ``benchmarks/gan_fakes.py``) made to speak espeak-ng text by the ``lipsync`` generator, the way users
  run it (:func:`toolkit.jobs.generate.run_generation` with an attested consent record and
  her record-bound personal model, trained by :func:`toolkit.jobs.train.run_training` on
  the whole clip, or reused: the same record and model as ``benchmarks/gan_fakes.py``).
  Mouth aperture (MediaPipe on the decoded output) vs the speech envelope of its audio:
  Pearson r at the best lag within 4 frames, and that lag
  (:func:`toolkit.lipsync.measure.measure_video_sync`). Baseline: her real frames, in the
  same order (played back and forth as the generator does when the speech outlasts the
  span), against the same audio.

    PYTHONPATH=. python benchmarks/generation.py --presets quick [standard]
    PYTHONPATH=. python benchmarks/generation.py --lipsync-only   # add the lip-sync rows to the last JSON
    PYTHONPATH=. python benchmarks/generation.py --ceiling-only --models DIR   # add the ceiling of DIR's models

Targets: face SSIM >= 0.85, AKD <= 2 px, quick training <= 10 min on 2 cores, >= 15 fps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit.gan import PersonalModel, ReenactSession, preset_config, train_personal_model  # noqa: E402
from toolkit.gan.data import load_subject_clip  # noqa: E402
from toolkit.gan.evaluate import evaluate_holdout, render_holdout  # noqa: E402
from toolkit.gan.landmark_map import landmark_map  # noqa: E402
from toolkit.gan.reference import Reference  # noqa: E402
from toolkit.media import VideoReader, write_image  # noqa: E402
from toolkit.samples import sample_path  # noqa: E402

SUBJECT = "WolfgangLanger_Pexels.mp4"
DRIVER = "single_face.mp4"
HOLDOUT = 0.25
TARGETS = {"ssim": 0.85, "akd": 2.0, "quick_minutes": 10.0, "fps": 15.0}


def _load() -> float:
    return os.getloadavg()[0]


def train(preset: str, models: Path, steps: int | None) -> tuple[Path, dict]:
    cfg = preset_config(preset, holdout=HOLDOUT)
    if steps:
        cfg.steps = steps
    out = models / f"benchmark-{preset}.pt"
    load_before = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    last = [0.0]

    def progress(done, total=None, message=""):
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            print(f"  [{preset}] {done}/{total} {message}", flush=True)

    card = train_personal_model(sample_path(SUBJECT), out, f"benchmark-{preset}", preset, progress=progress,
                                config=cfg)
    timing = {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "train_wall_s": card.training["train_seconds"],
        "steps": card.training["steps"],
        "threads": torch.get_num_threads(),
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(_load(), 2),
    }
    return out, timing


def speed(model: PersonalModel, clip, frames: int = 60) -> dict:
    targets = clip.landmarks[-frames:]
    model.render(None, targets[0])  # warm-up
    t0 = time.perf_counter()
    for t in targets:
        model.render(None, t)
    render_fps = len(targets) / (time.perf_counter() - t0)
    driver = [f.image for f in VideoReader(sample_path(DRIVER), max_frames=frames)]
    with ReenactSession(model) as session:
        session.push(driver[0])
        t0 = time.perf_counter()
        for f in driver[1:]:
            session.push(f)
        session_fps = (len(driver) - 1) / (time.perf_counter() - t0)
    return {"render_fps": round(render_fps, 1), "session_fps": round(session_fps, 1),
            "session_frame": list(model.reference.frame.shape[:2])}


def retrieval_ceiling(model: PersonalModel, clip, train_idx: np.ndarray, holdout: np.ndarray,
                      stride: int = 3) -> dict:
    """What the training part of the recording can show of each held-out frame.

    For every held-out frame (after the first, as in the ``first`` protocol) every
    ``stride``-th training frame is warped to its landmarks and the best one is kept,
    chosen by its face SSIM against the answer: an oracle no method has, so its score
    bounds what copying any single training view can reach. A held-out stretch that the
    training frames never show (another pose, another light) keeps it low.
    ``ssim_previous_frame``: each held-out frame rendered by warping the real frame before it
    (how well the mesh and warp register a face when the look barely changes).
    """
    from toolkit.gan.evaluate import face_masks, ssim_per_frame

    cands = train_idx[::stride]
    best, best_first, previous = [], [], []
    for t in holdout[1:]:
        # Every candidate view, then the source frame, then the previous real frame.
        views = np.stack([model.warper.warp(clip.crops[a], clip.landmarks[a], clip.landmarks[t])
                          for a in (*cands, holdout[0], t - 1)])
        n = len(views)
        scores = ssim_per_frame(views, np.repeat(clip.crops[[t]], n, 0),
                                np.repeat(face_masks(clip.landmarks[[t]], clip.size), n, 0))
        best.append(float(scores[:-2].max()))
        best_first.append(max(best[-1], float(scores[-2])))
        previous.append(float(scores[-1]))
    return {"frames": len(best), "candidates": int(len(cands)), "stride": stride,
            "ssim_best_training_view": float(np.mean(best)),
            "ssim_best_view_or_source": float(np.mean(best_first)),
            "ssim_previous_frame": float(np.mean(previous))}


def grid(model: PersonalModel, clip, holdout: np.ndarray, path: Path, rows: int = 4) -> None:
    """Rows of held-out frames: reference | driving landmarks | warp-only | GAN | real."""
    ref = Reference(clip.crops[holdout[0]], clip.landmarks[holdout[0]])
    pick = holdout[1:][np.linspace(0, len(holdout) - 2, rows).round().astype(int)]
    gan, warp = render_holdout(model, clip, pick, ref)
    lines = []
    for i, k in enumerate(pick):
        lm = landmark_map(clip.landmarks[k], clip.size)
        drv = (np.stack([lm[0] + lm[2], lm[1], lm[3]], -1).clip(0, 1) * 255).astype(np.uint8)
        lines.append(np.concatenate([ref.crop, drv, warp[i], gan[i], clip.crops[k]], 1))
    write_image(path, np.concatenate(lines, 0))


def cross_grid(model: PersonalModel, path: Path, rows: int = 4) -> None:
    """Cross-reenactment: driver frame (another person) | subject output (full frame, cropped)."""
    frames = [f.image for f in VideoReader(sample_path(DRIVER))]
    pick = np.linspace(0, len(frames) - 1, rows).round().astype(int)
    outs = {}
    with ReenactSession(model) as session:
        for i, f in enumerate(frames):
            out = session.push(f)
            if i in pick:
                outs[i] = out
    h = frames[0].shape[0]
    lines = []
    for i in pick:
        o = outs[i]
        scale = h / o.shape[0]
        import cv2

        o = cv2.resize(o, (int(o.shape[1] * scale), h))
        lines.append(np.concatenate([frames[i], o], 1))
    write_image(path, np.concatenate(lines, 0)[::2, ::2])


def lipsync_sync(preset: str, work: Path) -> dict:
    """Her clip speaking text through the lipsync job; mouth-audio sync of the output and of the real frames."""
    from benchmarks.gan_fakes import LIPSYNC_SPAN as SPANS
    from benchmarks.gan_fakes import benchmark_record, ensure_model
    from toolkit.cli.demo import TEXT
    from toolkit.gan.lipsync import pingpong_index
    from toolkit.generation import GenerationRequest
    from toolkit.jobs.generate import run_generation
    from toolkit.lipsync.measure import measure_video_sync, video_apertures
    from toolkit.lipsync.sync import audio_envelope, av_sync
    from toolkit.media import read_audio
    from toolkit.paths import subdir

    LIPSYNC_SPAN = SPANS["woman"]
    clip = sample_path(SUBJECT)
    record, _ = benchmark_record("woman", preset, subdir("benchmark_fakes"), clip, print)
    model = ensure_model(record, clip, preset, print)
    out = work / "lipsync.mp4"
    t0 = time.perf_counter()
    job = run_generation(GenerationRequest("lipsync", record.id, out, {"video": str(clip)}, {"text": TEXT, **LIPSYNC_SPAN}))
    if job.state != "succeeded":
        raise SystemExit(f"lip-sync failed: {job.error}")
    seconds = time.perf_counter() - t0
    generated = measure_video_sync(out)
    n = len(generated.aperture)
    speech = read_audio(out, 16000)  # the output's own track: what a viewer hears
    real_ap, fps = video_apertures(clip, LIPSYNC_SPAN["start"], LIPSYNC_SPAN["end"])
    real_ap = real_ap[[pingpong_index(k, len(real_ap)) for k in range(n)]]
    real = av_sync(real_ap, audio_envelope(speech, 16000, fps, n), fps, max_lag_frames=4)

    def row(sync, aperture) -> dict:
        a = aperture[np.isfinite(aperture)]
        return {"correlation": round(sync.correlation, 3), "lag_frames": sync.lag_frames,
                "correlation_at_zero": round(sync.correlation_at_zero, 3), "frames_used": sync.frames_used,
                "aperture_spread": round(float(np.percentile(a, 95) - np.percentile(a, 5)), 4) if a.size else 0.0}

    return {"preset": preset, "text": TEXT, "span_s": LIPSYNC_SPAN, "frames": n, "fps": round(fps, 3),
            "seconds_to_generate": round(seconds, 1), "consent": record.id,
            "model": {"path": model["model"], "cached": model["cached"], "trained_on": "the whole clip (run_training)"},
            "generated": row(generated.sync, generated.aperture), "real_same_audio": row(real, real_ap),
            "measure": "Pearson r of MediaPipe mouth aperture vs audio envelope (dB) at the best lag within 4 frames"}


def table(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Personal GAN, self-reenactment on held-out frames (256x256)")
    for col in ("preset", "source", "method", "L1 face", "PSNR face", "SSIM face", "SSIM crop", "AKD px",
                "flicker", "Δt ratio"):
        t.add_column(col)
    for preset, r in results["presets"].items():
        for proto, m in r["metrics"].items():
            for method in ("warp_only", "gan"):
                v = m[method]
                t.add_row(preset, proto, method, f"{v['l1']:.4f}", f"{v['psnr']:.2f}", f"{v['ssim']:.4f}",
                          f"{v['ssim_crop']:.4f}", f"{v['akd']:.2f}", f"{v['flicker_index']:.2f}",
                          f"{v['temporal_diff_ratio']:.2f}")
    Console(width=150).print(t)
    for preset, r in results["presets"].items():
        c = r.get("ceiling")
        if c:
            print(f"{preset}: retrieval ceiling (oracle: best of {c['candidates']} training views warped to each "
                  f"held-out frame, picked by its SSIM): face SSIM {c['ssim_best_training_view']:.4f}; "
                  f"with the source frame as a further candidate {c['ssim_best_view_or_source']:.4f}; "
                  f"warping the previous real frame {c.get('ssim_previous_frame', float('nan')):.4f}")
    s = Table(title="Speed and training time")
    for col in ("preset", "steps", "train wall min", "train CPU min", "load avg", "render fps", "session fps"):
        s.add_column(col)
    for preset, r in results["presets"].items():
        tm, sp = r["training"], r["speed"]
        s.add_row(preset, str(tm["steps"]), f"{tm['wall_s'] / 60:.1f}", f"{tm['cpu_s'] / 60:.1f}",
                  f"{tm['load_avg_before']}->{tm['load_avg_after']}", f"{sp['render_fps']}", f"{sp['session_fps']}")
    Console(width=150).print(s)
    ls = results.get("lipsync")
    if ls:
        t = Table(title=f"Lip-sync: her clip {ls['span_s']['start']}-{ls['span_s']['end']} s speaks espeak text "
                        f"({ls['frames']} frames): mouth aperture vs audio envelope")
        for col in ("preset", "video", "r (best lag)", "lag frames", "r at lag 0", "mouth frames", "aperture spread"):
            t.add_column(col)
        for name, label in (("generated", "lipsync output"), ("real_same_audio", "real frames, same audio")):
            v = ls[name]
            t.add_row(ls["preset"], label, f"{v['correlation']:.3f}", str(v["lag_frames"]),
                      f"{v['correlation_at_zero']:.3f}", str(v["frames_used"]), f"{v['aperture_spread']:.4f}")
        Console(width=150).print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=["quick"])
    ap.add_argument("--steps", type=int, default=None, help="override the presets' step count (smoke runs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: on a shared machine, OpenMP threads spin against other jobs)")
    ap.add_argument("--models", type=Path, default=None, help="keep the trained models here")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/generation.json")
    ap.add_argument("--images", type=Path, default=ROOT / "docs/images")
    ap.add_argument("--lipsync-preset", default="quick",
                    help="preset of her record-bound model for the lip-sync rows (trained once, then reused)")
    ap.add_argument("--lipsync-only", action="store_true",
                    help="only (re)measure lip-sync and add it to the existing --json (no reenactment training)")
    ap.add_argument("--ceiling-only", action="store_true",
                    help="only add the retrieval ceiling of each preset's model kept in --models to the --json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.ceiling_only:
        if not args.models:
            raise SystemExit("--ceiling-only needs --models DIR holding benchmark-<preset>.pt")
        results = json.loads(args.json.read_text())
        for preset in args.presets:
            model = PersonalModel.load(args.models / f"benchmark-{preset}.pt", device="cpu")
            clip = load_subject_clip(sample_path(SUBJECT), model.size, preset_config(preset).max_frames)
            train_idx, holdout = clip.split(HOLDOUT)
            results["presets"][preset]["ceiling"] = retrieval_ceiling(model, clip, train_idx, holdout)
        args.json.write_text(json.dumps(results, indent=2))
        table(results)
        print(f"wrote {args.json}")
        return
    if args.lipsync_only:
        results = json.loads(args.json.read_text())
        results["lipsync"] = lipsync_sync(args.lipsync_preset, Path(tempfile.mkdtemp(prefix="dftk-bench-")))
        args.json.write_text(json.dumps(results, indent=2))
        table(results)
        print(f"wrote {args.json}")
        return
    models = args.models or Path(tempfile.mkdtemp(prefix="dftk-bench-"))
    models.mkdir(parents=True, exist_ok=True)
    results: dict = {"subject": SUBJECT, "holdout": HOLDOUT, "targets": TARGETS, "cpu_count": os.cpu_count(),
                     "torch": torch.__version__, "presets": {}}
    clips: dict[int, object] = {}
    for preset in args.presets:
        print(f"training {preset} ...", flush=True)
        path, timing = train(preset, models, args.steps)
        model = PersonalModel.load(path, device="cpu")
        if model.size not in clips:
            clips[model.size] = load_subject_clip(sample_path(SUBJECT), model.size, preset_config(preset).max_frames)
        clip = clips[model.size]
        _, holdout = clip.split(HOLDOUT)
        metrics = {proto: evaluate_holdout(model, clip, holdout, reference=proto, akd=True)
                   for proto in ("first", "neutral")}
        train_idx, _ = clip.split(HOLDOUT)
        results["presets"][preset] = {"training": timing, "metrics": metrics, "speed": speed(model, clip),
                                      "ceiling": retrieval_ceiling(model, clip, train_idx, holdout),
                                      "card_losses": model.card.losses, "holdout_frames": int(len(holdout))}
        grid(model, clip, holdout, args.images / f"generation_{preset}_selfreenact.png")
        cross_grid(model, args.images / f"generation_{preset}_crossreenact.png")
    results["lipsync"] = lipsync_sync(args.lipsync_preset, models)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    table(results)
    print(f"wrote {args.json} and example grids to {args.images}")


if __name__ == "__main__":
    main()
