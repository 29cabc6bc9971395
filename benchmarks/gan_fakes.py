"""Generator-made fakes for the detection benchmark: our three GAN generators on both sample people.

For each identity (``woman``: WolfgangLanger_Pexels.mp4; ``man``: single_face.mp4, the same
names as the identity split of ``benchmarks/detection.py``) this script

1. makes or reuses an **attested** consent record (operator "dftk benchmark", a release text
   in ``<data dir>/benchmark_fakes/release.txt`` that says these are benchmark fakes of stock
   footage; nobody signed anything for dftk);
2. trains or reuses that identity's personal model (``--preset``, ``quick`` by default) on the
   clip the record's face reference came from, through :func:`toolkit.jobs.train.run_training`
   (the models stay in the data dir's models folder, so a rerun reuses them);
3. runs each GAN generator through :func:`toolkit.jobs.generate.run_generation`, the path users
   take (consent gate, invisible watermark, C2PA manifest):

   * ``gan_reenact``: the identity's face driven by each clip of the other identity;
   * ``gan_lipsync``: the identity's own clip speaking espeak-ng text;
   * ``gan_swap``: the identity's face put on the person in each clip of the other identity.

Files are written as ``OUT/<manipulation>/<identity>__<what>.mp4`` where ``identity`` is the
person whose **footage** the fake is made of: the real units it must be told apart from in
the detection benchmark's leave-one-identity-out split. For reenact and lip-sync that is the
animated person (the output is their frame); for swap it is the *destination* clip's person
(frame, background, body and motion are theirs, only the face region is generated from the
other person's model). So ``gan_swap/man__face_of_woman_single_face.mp4`` is the man's
footage with the woman's face, tested against the man's real units.

The man's footage is short (single_face.mp4: 72 frames, 2.4 s). ``quick`` trains on its
first 80 % (57 frames, the last 15 held out for the model card) for the same 800 steps: it
trains, but it is a model of 57 frames; the model card's held-out metrics are printed so
that the reader can judge it. face_noface.mov (the man again, 6.4 s, a face only part of
the time) serves as a second clip of him for the other identity's reenact driver and swap
destination; his model is not trained on it (it is not the record's face source, and no
face embedder is installed to bind it to his record).

Writes ``benchmarks/results/gan_fakes.json`` and prints a table. Then:

    python benchmarks/detection.py --fakes-dir OUT
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "gan_fakes.json"
OPERATOR = "dftk benchmark"
# identity -> its clips; the first one is the record's face source and training clip.
CLIPS = {"woman": ["WolfgangLanger_Pexels.mp4"], "man": ["single_face.mp4", "face_noface.mov"]}
SUBJECTS = {"woman": "the woman in WolfgangLanger_Pexels.mp4 (Pexels sample, benchmark fakes)",
            "man": "the man in single_face.mp4 (sample clip, benchmark fakes)"}
# Where nothing covers the mouth; None: the whole clip. Her hand is over her mouth from
# about 3.5 s to 9.3 s (checked frame by frame; dftk demo's LIPSYNC_SPAN, 7.5-14.2 s, starts
# inside that stretch), and she looks down at the very end.
LIPSYNC_SPAN = {"woman": {"start": 9.6, "end": 18.5}, "man": None}
TEXTS = ["These clips are benchmark fakes. They test whether the detectors can find them.",
         "Every file made by this toolkit carries a watermark and a signed manifest."]
RELEASE = """dftk benchmark release (not a legal document)

This file stands in for the signed release an operator keeps when they attest consent with
`dftk consent attest`. benchmarks/gan_fakes.py animates the people filmed in dftk's sample
clips (WolfgangLanger_Pexels.mp4, Pexels licence; single_face.mp4 and face_noface.mov) to
make BENCHMARK FAKES for evaluating dftk's own deepfake detectors. Nobody in these clips
signed anything for dftk: the records made from this file are ATTESTED by the operator
"dftk benchmark", and every output says so in its C2PA manifest. The outputs are test data
and must not be published as real.
"""


def other(identity: str) -> str:
    return "man" if identity == "woman" else "woman"


def benchmark_record(identity: str, preset: str, root: Path, clip: Path, say):
    """The identity's benchmark record for ``preset`` if still valid, else a new attested one."""
    from toolkit.consent import ConsentRegistry, check, create_attested
    from toolkit.generation import SCOPES

    state_file = root / "state.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    key = f"{identity}:{preset}"
    record_id = state.get(key)
    if record_id:
        stored = ConsentRegistry().get(record_id)
        if stored is not None and check(stored).valid and set(stored.record.scopes) == set(SCOPES):
            return stored.record, False
    release = root / "release.txt"
    release.write_text(RELEASE)
    record = create_attested(SUBJECTS[identity], OPERATOR, release, clip, list(SCOPES), days=30)
    state[key] = record.id
    state_file.write_text(json.dumps(state, indent=2))
    say(f"attested consent record {record.id} for {SUBJECTS[identity]} (operator {OPERATOR!r})")
    return record, True


def ensure_model(record, clip: Path, preset: str, say) -> dict:
    """Reuse the record's personal model of this preset, or train it; returns what happened."""
    from toolkit.gan import PersonalModel
    from toolkit.gan.model import model_path
    from toolkit.jobs.train import run_training

    path = model_path(record.id)
    if path.is_file():
        with contextlib.suppress(Exception):
            card = PersonalModel.load(path).card
            if card.preset == preset:
                say(f"reusing the personal model {path}")
                return {"model": str(path), "cached": True, "data": card.data, "metrics": card.metrics,
                        "training": card.training}
    say(f"training the {preset} personal model of {record.subject} on {clip.name}")
    last = [0.0]

    def progress(done, total=None, message=""):
        if time.time() - last[0] > 60:
            last[0] = time.time()
            say(f"  {done}/{total} {message}")

    # lipsync=False: the audio-to-mouth model is only used for audio input; these fakes speak text.
    job = run_training(record.id, clip, preset, on_progress=progress, lipsync=False)
    if job.state != "succeeded":
        raise SystemExit(f"training {record.subject} failed: {job.error}")
    card = job.result["card"]
    return {"model": str(path), "cached": False, "data": card["data"], "metrics": card["metrics"],
            "training": card["training"]}


def plan(identity: str, samples: dict) -> list[tuple[str, str, str, dict, dict, str]]:
    """(manipulation, footage identity, file stem, inputs, options, description) of this identity's fakes."""
    own = samples[CLIPS[identity][0]]
    runs = []
    for name in CLIPS[other(identity)]:
        clip, stem = samples[name], Path(name).stem
        runs.append(("gan_reenact", identity, f"{identity}__driven_by_{stem}", {"driver": clip}, {},
                     f"{identity}'s face driven by {name}"))
        runs.append(("gan_swap", other(identity), f"{other(identity)}__face_of_{identity}_{stem}", {"target": clip}, {},
                     f"{identity}'s face on the person in {name}"))
    for k, text in enumerate(TEXTS):
        runs.append(("gan_lipsync", identity, f"{identity}__speaks_text{k}", {"video": own},
                     {"text": text, **(LIPSYNC_SPAN[identity] or {})}, f"{CLIPS[identity][0]} speaks {text!r}"))
    return runs


def make_fakes(out: Path, preset: str, say=print) -> dict:
    from toolkit.errors import DftkError
    from toolkit.generation import GenerationRequest
    from toolkit.jobs.generate import run_generation
    from toolkit.media import probe
    from toolkit.paths import subdir
    from toolkit.samples import fetch_samples

    samples = fetch_samples()
    root = subdir("benchmark_fakes")
    result: dict = {"preset": preset, "out": str(out), "identities": {}, "fakes": [], "skipped": []}
    for identity in CLIPS:
        clip = samples[CLIPS[identity][0]]
        record, new = benchmark_record(identity, preset, root, clip, say)
        model = ensure_model(record, clip, preset, say)
        result["identities"][identity] = {"record": record.id, "record_new": new, "clip": clip.name, **model}
        for manipulation, footage, stem, inputs, options, what in plan(identity, samples):
            dest = out / manipulation / f"{stem}.mp4"
            dest.parent.mkdir(parents=True, exist_ok=True)
            request = GenerationRequest(manipulation.removeprefix("gan_"), record.id, dest,
                                        {k: str(v) for k, v in inputs.items()}, options)
            t0 = time.perf_counter()
            try:
                job = run_generation(request)
            except DftkError as exc:  # e.g. a driver with no face in its first seconds
                result["skipped"].append({"file": str(dest.relative_to(out)), "what": what, "reason": str(exc)})
                say(f"skipped {dest.name}: {exc}")
                continue
            if job.state != "succeeded":
                reason = (job.error or {}).get("message", job.state)
                result["skipped"].append({"file": str(dest.relative_to(out)), "what": what, "reason": reason})
                say(f"skipped {dest.name}: {reason}")
                continue
            info = probe(dest)
            row = {"file": str(dest.relative_to(out)), "manipulation": manipulation, "footage_identity": footage,
                   "model_identity": identity, "what": what, "frames": job.result["frames"],
                   "seconds_of_video": round(info.duration or 0.0, 2), "fps": round(info.video.fps, 2),
                   "audio": info.audio is not None, "watermark_id": job.result["watermark_id"],
                   "consent": f"{job.result['consent']['kind']} {job.result['consent']['record_id']}",
                   "generation_s": round(time.perf_counter() - t0, 1)}
            result["fakes"].append(row)
            say(f"{manipulation}/{dest.name}: {row['frames']} frames, {row['generation_s']} s")
    return result


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"GAN fakes ({result['preset']} personal models) in {result['out']}")
    for col in ("file", "footage", "model", "frames", "seconds", "fps", "audio", "made in s"):
        t.add_column(col)
    for r in result["fakes"]:
        t.add_row(r["file"], r["footage_identity"], r["model_identity"], str(r["frames"]), str(r["seconds_of_video"]),
                  str(r["fps"]), "yes" if r["audio"] else "no", str(r["generation_s"]))
    Console(width=160).print(t)
    for s in result["skipped"]:
        print(f"skipped {s['file']}: {s['reason']}")
    for ident, m in result["identities"].items():
        metrics = m.get("metrics") or {}
        gan = metrics.get("gan", metrics)
        tr = m.get("training") or {}
        print(f"{ident}: record {m['record']}, model {'reused' if m['cached'] else 'trained now'} "
              f"({tr.get('steps')} steps, {tr.get('cpu_seconds')} CPU-s, resumed from step {tr.get('resumed_from')}); "
              f"train/held-out frames {m['data'].get('train_frames')}/{m['data'].get('holdout_frames')}; "
              f"held-out face SSIM {gan.get('ssim', float('nan')):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="output folder: OUT/gan_<generator>/<identity>__*.mp4")
    ap.add_argument("--preset", default="quick", help="personal model preset (default quick)")
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: on a shared machine, OpenMP threads spin against other jobs)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.time()
    result = make_fakes(args.out, args.preset)
    result["seconds"] = round(time.time() - t0, 1)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
