"""Detection benchmark: per-detector and fused AUC / EER / AP on real clips and held-out manipulations.

Evaluation set (built in a throw-away directory, deleted at the end):

* real units: each real sample video (WolfgangLanger_Pexels.mp4: a woman; single_face.mp4 and
  face_noface.mov: a man) cut into ``--segment-seconds`` segments, re-encoded with H.264 at
  each ``--crf`` exactly like the fakes (so compression alone cannot tell them apart);
* fake units: the same segments after each non-GAN manipulation of
  :mod:`toolkit.detection.fakes` (``mouth_warp``, ``paste_other_frame``,
  ``paste_other_identity`` with the other person as donor);
* generator-made fakes (hook): ``--fakes-dir DIR`` adds every video in ``DIR/<manipulation>/``
  as fakes of that manipulation; name files ``<identity>__anything.mp4`` with identity
  ``woman`` or ``man`` (the person whose footage it is) so the identity split holds
  (``benchmarks/gan_fakes.py`` makes them with our GAN generators). Each file is cut into
  segments and re-encoded exactly like the real units (same face-frame segmentation, same
  CRFs, no audio): the detectors see pixels only, never the output writer's encoder
  settings, audio track or C2PA manifest. The invisible watermark stays in the pixels; the
  watermark control below measures whether the fused detectors react to it. The files as
  made (marked and signed) go to the provenance check.

Splits: the fusion is evaluated leave-one-manipulation-out *and* leave-one-identity-out:
for every (manipulation m, identity i) it is fitted on the units of the other identity
without m, and tested on identity i's real units and its m fakes. Per-manipulation numbers
pool both identities' test predictions. The shipped ``toolkit/detection/fusion.json`` is then
fitted on all units. The per-detector models were trained/calibrated on the real sample clips
(never on a manipulated clip), which includes the test identities' real footage: with two
video identities a per-identity retraining is not possible for every detector (the pulse
calibration needs 4 s chunks, which only one clip has). Read the numbers with that in mind.

Provenance: the real units and the original sample files must carry no C2PA AI label and no
dftk watermark (false positives), and every file the core output writer makes from the fake
frames (marked and signed) must be flagged (true positives).

Speed: the default suite on WolfgangLanger_Pexels.mp4 (640x360, 472 frames) through
``run_detection``: source frames per wall-clock second, with the load average (this machine
is shared) and frames per CPU-second of the process (a lower bound on the unshared rate).

Writes ``benchmarks/results/detection.json`` and the table in ``docs/detection.md``.
Run: ``python benchmarks/detection.py`` (about 20-40 min on 2 shared CPU cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit.detection import metrics  # noqa: E402
from toolkit.detection.fakes import MANIPULATIONS, manipulate  # noqa: E402
from toolkit.detection.fusion import DEFAULT_BANDS, feature_vector, fit_fusion, score_logit  # noqa: E402

SOURCES = {  # sample -> identity
    "WolfgangLanger_Pexels.mp4": "woman",
    "single_face.mp4": "man",
    "face_noface.mov": "man",
}
DONOR = {"woman": "single_face.mp4", "man": "WolfgangLanger_Pexels.mp4"}
FUSED = ["blend", "spectral", "temporal", "rppg", "avsync"]
RESULTS = ROOT / "benchmarks" / "results" / "detection.json"
DOCS = ROOT / "docs" / "detection.md"


@dataclass
class Unit:
    name: str
    path: Path
    identity: str
    manipulation: str  # "real" or a manipulation name
    crf: int
    scores: dict[str, float | None] = field(default_factory=dict)  # detector -> clip score
    frame_scores: dict[str, dict[int, float]] = field(default_factory=dict)  # detector -> frame -> score
    seconds: float = 0.0

    @property
    def label(self) -> int:
        return 0 if self.manipulation == "real" else 1


def ensure_plugins() -> None:
    """Register the builtin detector plugins if this environment's entry points predate them."""
    import importlib
    import tomllib

    from toolkit.plugins import get_host

    host = get_host()
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["dftk"]
    for name, module in eps.items():
        if name.startswith("det_") and name not in host.info:
            host.register(importlib.import_module(module), name, "builtin")


def encode(frames: list[np.ndarray], fps: float, path: Path, crf: int) -> Path:
    """Evaluation fixture only: write frames with H.264 (no audio: the samples have no speech)."""
    from toolkit.media import VideoWriter

    with VideoWriter(path, fps=fps, crf=crf) as writer:
        for f in frames:
            writer.write(f)
    return path


def face_pass(path: Path) -> tuple[list, float]:
    from toolkit.faces import FacePipeline
    from toolkit.media import probe

    info = probe(path)
    return list(FacePipeline(keep_images=True).run(path)), info.video.fps


def segments(frames: list, fps: float, seconds: float) -> list[list]:
    """Consecutive segments of ``seconds`` over the frames that show a meshed face."""
    with_face = [f for f in frames if any(x.mesh is not None for x in f.faces)]
    if not with_face:
        return []
    n = max(1, int(round(seconds * fps)))
    if len(with_face) < n:
        return [with_face] if len(with_face) >= int(fps * 1.5) else []
    return [with_face[i:i + n] for i in range(0, len(with_face) - n + 1, n)]


def build_units(work: Path, seconds: float, crfs: list[int], seed: int, log) -> list[Unit]:
    from toolkit.samples import sample_path

    rng = np.random.default_rng(seed)
    passes = {name: face_pass(sample_path(name)) for name in SOURCES}
    units: list[Unit] = []
    for name, identity in SOURCES.items():
        frames, fps = passes[name]
        donor_frames = passes[DONOR[identity]][0]
        for s, seg in enumerate(segments(frames, fps, seconds)):
            variants = {"real": [f.image for f in seg]}
            for kind in MANIPULATIONS:
                variants[kind] = manipulate(kind, seg, rng, donor_frames)
            for kind, images in variants.items():
                for crf in crfs:
                    unit_name = f"{Path(name).stem}_s{s}_{kind}_crf{crf}"
                    path = encode(images, fps, work / f"{unit_name}.mp4", crf)
                    units.append(Unit(unit_name, path, identity, kind, crf))
            log(f"built segment {s} of {name} ({len(seg)} frames)")
    return units


def fakes_files(fakes_dir: Path | None) -> list[tuple[Path, str, str]]:
    """(path, manipulation, identity) of the generator-made fakes: DIR/<manipulation>/<identity>__*.mp4."""
    if fakes_dir is None:
        return []
    files = []
    for sub in sorted(p for p in fakes_dir.iterdir() if p.is_dir()):
        for path in sorted(sub.glob("*")):
            if path.suffix.lower() in (".mp4", ".mov", ".mkv"):
                identity = path.name.split("__", 1)[0]
                if identity not in set(SOURCES.values()):
                    raise SystemExit(f"{path}: name generator fakes <identity>__*.mp4 with identity in "
                                     f"{sorted(set(SOURCES.values()))}")
                files.append((path, sub.name, identity))
    return files


def extra_fakes(files: list[tuple[Path, str, str]], work: Path, seconds: float, crfs: list[int], log) -> list[Unit]:
    """Generator-made fakes cut and re-encoded like the real units (pixels only: no audio, no manifest)."""
    units = []
    for path, manipulation, identity in files:
        frames, fps = face_pass(path)
        segs = segments(frames, fps, seconds)
        for s, seg in enumerate(segs):
            for crf in crfs:
                unit_name = f"{manipulation}/{path.stem}_s{s}_crf{crf}"
                out = encode([f.image for f in seg], fps, work / f"{manipulation}__{path.stem}_s{s}_crf{crf}.mp4", crf)
                units.append(Unit(unit_name, out, identity, manipulation, crf))
        log(f"{manipulation}/{path.name}: {len(segs)} segment(s)" + ("" if segs else " (too little face: not used)"))
    return units


def score_units(units: list[Unit], log) -> None:
    from toolkit.detection.analysis import analyse_clip
    from toolkit.detection.suite import run_detectors, select_detectors

    detectors = select_detectors(FUSED + ["provenance"])
    for i, unit in enumerate(units):
        start = time.perf_counter()
        clip = analyse_clip(unit.path)
        for r in run_detectors(clip, detectors):
            unit.scores[r.detector] = r.clip_score if r.applicable else None
            per_frame: dict[int, float] = {}
            for fs in r.frame_scores:
                per_frame[fs.frame] = max(per_frame.get(fs.frame, 0.0), fs.score)
            unit.frame_scores[r.detector] = per_frame
        unit.seconds = time.perf_counter() - start
        log(f"[{i + 1}/{len(units)}] {unit.name}: " + ", ".join(
            f"{k} {'n/a' if v is None else f'{v:.2f}'}" for k, v in unit.scores.items()))


def clip_X(units: list[Unit]) -> np.ndarray:
    return np.array([[score_logit(u.scores.get(d)) for d in FUSED] for u in units])


def frame_rows(units: list[Unit], detector: str | None, fusion=None) -> tuple[list[int], list[float]]:
    """Frame-level labels and scores: one detector's, or the fusion applied per frame."""
    labels, scores = [], []
    for u in units:
        if detector is not None:
            for s in u.frame_scores.get(detector, {}).values():
                labels.append(u.label)
                scores.append(s)
            continue
        frames = sorted({f for d in FUSED for f in u.frame_scores.get(d, {})})
        for f in frames:
            x = np.array([score_logit(u.frame_scores.get(d, {}).get(f)) for d in FUSED])
            labels.append(u.label)
            scores.append(float(fusion.calibration.score(x)[0]))
    return labels, scores


def lomo_fusion(units: list[Unit]) -> tuple[dict, dict[str, dict[str, float]]]:
    """Leave-one-manipulation-and-identity-out fusion: returns per-manipulation test predictions."""
    manipulations = sorted({u.manipulation for u in units if u.label})
    identities = sorted({u.identity for u in units})
    preds: dict[str, dict[str, float]] = {m: {} for m in manipulations}  # manipulation -> unit -> prob
    frame_preds: dict[str, tuple[list, list]] = {m: ([], []) for m in manipulations}
    folds = []
    for m in manipulations:
        for ident in identities:
            train = [u for u in units if u.identity != ident and u.manipulation != m]
            test = [u for u in units if u.identity == ident and u.manipulation in ("real", m)]
            if len({u.label for u in train}) < 2 or len({u.label for u in test}) < 2:
                continue
            model = fit_fusion(FUSED, clip_X(train), np.array([u.label for u in train]))
            p = model.calibration.score(clip_X(test))
            for u, pi in zip(test, p):
                preds[m][u.name] = float(pi)
            fl, fs = frame_rows(test, None, model)
            frame_preds[m][0].extend(fl)
            frame_preds[m][1].extend(fs)
            folds.append({"held_out_manipulation": m, "held_out_identity": ident, "train_units": len(train),
                          "test_units": len(test), "weights": dict(zip(FUSED, np.round(model.calibration.coef, 3)))})
    by_name = {u.name: u for u in units}
    out = {}
    for m in manipulations:
        names = list(preds[m])
        labels = [by_name[n].label for n in names]
        scores = [preds[m][n] for n in names]
        out[m] = {"video": metrics.summary(labels, scores), "frame": metrics.summary(*frame_preds[m])}
    # Mean over the held-out manipulations (each fold's model has its own calibration, so
    # pooling their probabilities into one ranking would mix scales).
    def mean_of(group: list[str], level: str, key: str) -> float | None:
        vals = [out[m][level][key] for m in group if out[m][level][key] is not None]
        return float(np.mean(vals)) if vals else None

    groups = {"mean": manipulations}
    gan = [m for m in manipulations if m.startswith("gan_")]
    if gan and len(gan) < len(manipulations):  # the held-out GAN generators and the non-GAN manipulations apart
        groups = {"mean_gan": gan, "mean_non_gan": [m for m in manipulations if m not in gan], "mean": manipulations}
    for label, group in groups.items():
        out[label] = {level: {"n": sum(out[m][level]["n"] for m in group),
                              **{k: mean_of(group, level, k) for k in ("auc", "eer", "ap")}} for level in ("video", "frame")}
    return {"folds": folds, "results": out}, preds


def detector_table(units: list[Unit]) -> dict:
    """Each detector alone (no fitting involved): per manipulation and overall."""
    table = {}
    manipulations = sorted({u.manipulation for u in units if u.label})
    for d in FUSED:
        row = {}
        for m in manipulations + ["all"]:  # "all": every fake against every real (no fitting, one scale)
            sel = [u for u in units if u.manipulation == "real" or m == "all" or u.manipulation == m]
            applicable = [u for u in sel if u.scores.get(d) is not None]
            video = metrics.summary([u.label for u in applicable], [u.scores[d] for u in applicable])
            video["applicable_units"] = f"{len(applicable)}/{len(sel)}"
            row[m] = {"video": video, "frame": metrics.summary(*frame_rows(sel, d))}
        table[d] = row
    return table


def provenance_check(units: list[Unit], work: Path, log, generated: list[Path] = ()) -> dict:
    """Zero false positives on real media; every output of the core writer flagged."""
    from plugins.det_provenance import ProvenanceDetector
    from toolkit.detection.analysis import analyse_clip
    from toolkit.samples import sample_path

    det = ProvenanceDetector()
    real_paths = [u.path for u in units if u.label == 0] + [sample_path(n) for n in
                                                             list(SOURCES) + ["no_face.mp4", "single_face.jpg", "multi_face.jpg"]]
    false_pos = []
    for p in real_paths:
        r = det.analyze(analyse_clip(p))
        if r.clip_score and r.clip_score >= 1.0:
            false_pos.append(str(p))
    out = {"real_files": len(real_paths), "false_positives": len(false_pos), "false_positive_files": false_pos}
    fakes = [u for u in units if u.label][:12]
    try:
        import watermark.invisible  # noqa: F401

        writer_available = True
    except ImportError as exc:
        writer_available = False
        out["writer_note"] = f"the output writer's watermark is not available yet ({exc}); outputs were C2PA-signed only"
    flagged, stripped_flagged, details = 0, 0, []
    for u in fakes:
        out_path = work / "outputs" / f"{u.name}.mp4"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        if writer_available:
            from toolkit.generation import GeneratedVideo, SourceType
            from toolkit.media import VideoReader
            from toolkit.output import write_generated

            reader = VideoReader(u.path)
            video = GeneratedVideo(frames=[f.image for f in reader], fps=reader.fps, model="benchmark-non-gan",
                                   source_type=SourceType.COMPOSITE, ingredients=[u.path])
            write_generated(video, out_path, plugin="benchmark", plugin_version="0", consent=None)
        else:
            from watermark.c2pa_manifest import ProvenanceInfo
            from watermark.c2pa_sign import sign_file

            sign_file(u.path, out_path, ProvenanceInfo(plugin="benchmark", plugin_version="0", model="non-gan",
                                                       watermark_id="00" * 8, consent=None, title=out_path.name))
        r = det.analyze(analyse_clip(out_path))
        flagged += bool(r.clip_score and r.clip_score >= 1.0)
        details.append({"unit": u.name, "score": r.clip_score, "explanation": r.explanation})
        if writer_available:  # re-encoded: the manifest is gone, the watermark must carry the proof
            from toolkit.media import VideoReader

            stripped = work / "outputs" / f"{u.name}_reencoded.mp4"
            encode([f.image for f in VideoReader(out_path)], VideoReader(out_path).fps, stripped, 28)
            r2 = det.analyze(analyse_clip(stripped))
            stripped_flagged += bool(r2.clip_score and r2.clip_score >= 1.0)
    out["our_outputs"] = {"checked": len(fakes), "flagged": flagged, "writer": writer_available, "details": details}
    if generated:  # the generator outputs exactly as run_generation wrote them
        rows = []
        for p in generated:
            r = det.analyze(analyse_clip(p))
            rows.append({"file": f"{p.parent.name}/{p.name}", "score": r.clip_score, "explanation": r.explanation})
        out["generator_outputs"] = {"checked": len(rows), "flagged": sum(bool(r["score"] and r["score"] >= 1.0)
                                                                         for r in rows), "details": rows}
        segs = [u for u in units if u.label and u.crf >= 0 and u.manipulation.startswith("gan_")]
        out["generator_units_reencoded"] = {"checked": len(segs), "flagged": sum(
            bool(u.scores.get("provenance") and u.scores["provenance"] >= 1.0) for u in segs),
            "how": "the segments the fused detectors scored (re-encoded, no manifest: watermark only)"}
        log(f"provenance: {out['generator_outputs']['flagged']}/{len(rows)} generator outputs flagged as made, "
            f"{out['generator_units_reencoded']['flagged']}/{len(segs)} of their re-encoded segments")
    if writer_available:
        out["our_outputs_reencoded"] = {"checked": len(fakes), "flagged": stripped_flagged,
                                        "how": "decoded and re-encoded with H.264 CRF 28 (no manifest left)"}
    log(f"provenance: {len(false_pos)} false positives on {len(real_paths)} real files; "
        f"{flagged}/{len(fakes)} of our outputs flagged, {stripped_flagged} after re-encoding")
    return out


def watermark_control(units: list[Unit], work: Path, log) -> dict:
    """Do the fused detectors react to dftk's invisible watermark? Real units, marked, re-encoded, re-scored.

    Generator-made fakes carry the watermark in their pixels even after re-encoding; if a
    fused detector scored marked real footage higher, it would be finding the mark, not
    the manipulation. Each real unit goes through the core output writer (watermark and
    manifest), is decoded and re-encoded at its CRF like every unit, and is scored again.
    """
    from toolkit.detection.analysis import analyse_clip
    from toolkit.detection.suite import run_detectors, select_detectors
    from toolkit.generation import GeneratedVideo, SourceType
    from toolkit.media import VideoReader
    from toolkit.output import write_generated

    detectors = select_detectors(FUSED)
    rows = []
    for u in [u for u in units if u.label == 0]:
        reader = VideoReader(u.path)
        marked = work / "watermark_control" / f"{u.name}_marked.mp4"
        marked.parent.mkdir(parents=True, exist_ok=True)
        write_generated(GeneratedVideo(frames=[f.image for f in reader], fps=reader.fps, model="watermark-control",
                                       source_type=SourceType.COMPOSITE, ingredients=[u.path]),
                        marked, plugin="benchmark", plugin_version="0", consent=None)
        again = VideoReader(marked)
        reencoded = encode([f.image for f in again], again.fps, marked.with_name(f"{u.name}_marked_crf{u.crf}.mp4"), u.crf)
        scores = {r.detector: (r.clip_score if r.applicable else None)
                  for r in run_detectors(analyse_clip(reencoded), detectors)}
        rows.append({"unit": u.name, "unmarked": {d: u.scores.get(d) for d in FUSED}, "marked": scores})
    delta = {}
    for d in FUSED:
        pairs = [(r["unmarked"][d], r["marked"][d]) for r in rows
                 if r["unmarked"][d] is not None and r["marked"][d] is not None]
        delta[d] = {"units": len(pairs), "mean_delta": float(np.mean([b - a for a, b in pairs])) if pairs else None,
                    "max_abs_delta": float(np.max([abs(b - a) for a, b in pairs])) if pairs else None}
    log("watermark control (marked minus unmarked real-unit score): " + ", ".join(
        f"{d} {fmt(v['mean_delta'])} (max |d| {fmt(v['max_abs_delta'])})" for d, v in delta.items()))
    return {"delta": delta, "units": rows}


def speed(log) -> dict:
    from toolkit.detection.suite import run_detection
    from toolkit.samples import sample_path

    path = sample_path("WolfgangLanger_Pexels.mp4")
    load_before = os.getloadavg()[0]
    cpu0, t0 = time.process_time(), time.perf_counter()
    report = run_detection(path, keep_analysis=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    frames = report.sampling["source_frames"]
    out = {"file": path.name, "size": f"{report.media['video']['width']}x{report.media['video']['height']}",
           "source_frames": frames, "analysed_frames": report.sampling["analysed_frames"],
           "wall_s": round(wall, 2), "fps_wall": round(frames / wall, 2), "cpu_s": round(cpu, 2),
           "fps_per_cpu_second": round(frames / cpu, 2), "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
           "cores": os.cpu_count(), "timings": report.timings}
    log(f"speed: {out['fps_wall']} fps wall, {out['fps_per_cpu_second']} frames per CPU-second, load {out['load_average_1min']}")
    return out


CARDS = {"blend": "plugins/weights/sbi_blend.pt", "spectral": "plugins/weights/spectral.json",
         "temporal": "plugins/weights/temporal.json", "rppg": "plugins/weights/rppg.json",
         "avsync": "plugins/weights/avsync.json"}


def update_cards(result: dict) -> None:
    """Add this benchmark's numbers for each detector to its model card."""
    from toolkit.detection.model_card import update_card

    for name, rel in CARDS.items():
        row = result["detectors"].get(name)
        if row is None or not (ROOT / rel).exists():
            continue
        update_card(ROOT / rel, "benchmark", {
            "run": f"benchmarks/detection.py, {result['finished']}",
            "units": result["units"],
            "video_auc": {m: r["video"]["auc"] for m, r in row.items()},
            "frame_auc": {m: r["frame"]["auc"] for m, r in row.items()},
            "applicable_units": {m: r["video"]["applicable_units"] for m, r in row.items()},
            "note": "the detector alone; the test identities' real footage was part of its training/calibration data "
                    "(never their manipulated versions)",
        })


def fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def markdown(result: dict) -> str:
    lines = ["| | held-out | video AUC | video EER | video AP | frame AUC | frame EER | frame AP | units |",
             "|---|---|---|---|---|---|---|---|---|"]
    fusion = result["fusion_lomo"]["results"]
    for m, r in fusion.items():
        v, f = r["video"], r["frame"]
        lines.append(f"| **fusion** | {m} | {fmt(v['auc'])} | {fmt(v['eer'])} | {fmt(v['ap'])} | {fmt(f['auc'])} | "
                     f"{fmt(f['eer'])} | {fmt(f['ap'])} | {v['n']} |")
    for d, row in result["detectors"].items():
        for m, r in row.items():
            v, f = r["video"], r["frame"]
            lines.append(f"| {d} | {m} | {fmt(v['auc'])} | {fmt(v['eer'])} | {fmt(v['ap'])} | {fmt(f['auc'])} | "
                         f"{fmt(f['eer'])} | {fmt(f['ap'])} | {v['applicable_units']} |")
    return "\n".join(lines)


def write_docs(result: dict) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    start, end = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
    s = result["speed"]
    p = result["provenance"]
    ours = p.get("our_outputs", {})
    block = "\n".join([
        start,
        f"Measured {result['finished']} with `{' '.join(['python benchmarks/detection.py'] + result['args_line'])}` "
        f"({result['units']['real']} real and {result['units']['fake']} fake units of {result['segment_seconds']:.0f} s, "
        f"H.264 CRF {', '.join(map(str, result['crfs']))}).",
        "",
        "Fusion rows: leave-one-manipulation-and-identity-out (fitted without the held-out manipulation "
        "and without the test person); `mean` averages the held-out manipulations (`mean_gan`: the held-out GAN "
        "generators, `gan_*`, made by `benchmarks/gan_fakes.py`; `mean_non_gan`: the others). Detector rows: each "
        "detector alone (nothing fitted on the benchmark); `all` ranks every fake against every real unit. "
        "`units`: units scored (fusion) or units where the detector was applicable.",
        "",
        markdown(result),
        "",
        f"Provenance: {p['false_positives']} false positives on {p['real_files']} real files; "
        + (f"{ours.get('flagged')} of {ours.get('checked')} outputs of the core output writer (watermarked and "
           f"C2PA-signed) flagged; {p['our_outputs_reencoded']['flagged']} of {p['our_outputs_reencoded']['checked']} "
           "after re-encoding them with H.264 CRF 28 (manifest gone, watermark only)."
           if ours.get("writer") else
           f"{ours.get('flagged')} of {ours.get('checked')} C2PA-signed outputs flagged ({p.get('writer_note')})."),
        "",
        *([f"Generator outputs as made (watermarked, C2PA-signed): {p['generator_outputs']['flagged']} of "
           f"{p['generator_outputs']['checked']} flagged by provenance; {p['generator_units_reencoded']['flagged']} of "
           f"{p['generator_units_reencoded']['checked']} of the re-encoded segments the fused detectors scored "
           "(watermark only).", ""] if p.get("generator_outputs") else []),
        *([("Watermark control (each real unit marked by the output writer, re-encoded, re-scored; mean change of "
            "the detector's clip score, max |change|): " + ", ".join(
                f"{d} {fmt(v['mean_delta'])} ({fmt(v['max_abs_delta'])})"
                for d, v in result["watermark_control"]["delta"].items()) + "."), ""]
          if result.get("watermark_control") else []),
        f"Speed (default suite, {s['file']} {s['size']}, {s['source_frames']} frames): {s['fps_wall']} frames/s wall-clock "
        f"with load average {s['load_average_1min'][0]} on {s['cores']} shared cores; {s['fps_per_cpu_second']} frames "
        "per CPU-second of the process (a lower bound on the rate of an unshared machine).",
        end,
    ])
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Benchmark\n\n" + block + "\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segment-seconds", type=float, default=4.0)
    ap.add_argument("--crf", default="23", help="comma-separated H.264 CRFs for every unit")
    ap.add_argument("--fakes-dir", type=Path, default=None, help="generator-made fakes: DIR/<manipulation>/<identity>__*.mp4")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-fit", action="store_true", help="do not write toolkit/detection/fusion.json")
    ap.add_argument("--keep", type=Path, default=None, help="keep the evaluation clips in this directory")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--cards-only", action="store_true", help="update the model cards and docs from the last results JSON")
    args = ap.parse_args(argv)
    if args.cards_only:
        result = json.loads(RESULTS.read_text())
        update_cards(result)
        if result.get("speed"):
            write_docs(result)
        return 0
    crfs = [int(c) for c in args.crf.split(",")]
    ensure_plugins()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    work = Path(tempfile.mkdtemp(prefix="dftk-detbench-"))
    try:
        t0 = time.time()
        generated = fakes_files(args.fakes_dir)
        units = build_units(work, args.segment_seconds, crfs, args.seed, log) + extra_fakes(
            generated, work, args.segment_seconds, crfs, log)
        log(f"{len(units)} units built in {time.time() - t0:.0f} s")
        score_units(units, log)
        lomo, _ = lomo_fusion(units)
        det = detector_table(units)
        shipped = fit_fusion(FUSED, clip_X(units), np.array([u.label for u in units]), bands=dict(DEFAULT_BANDS),
                             record={"fitted_on": f"all {len(units)} units of benchmarks/detection.py "
                                                  f"({', '.join(sorted({u.manipulation for u in units}))}; "
                                                  "identities: woman, man)",
                                     "lomo_mean_video_auc": lomo["results"]["mean"]["video"]["auc"]})
        if not args.no_fit:
            shipped.write(ROOT / "toolkit" / "detection" / "fusion.json")
        prov = provenance_check(units, work, log, [g[0] for g in generated])
        wm = watermark_control(units, work, log) if generated else None
        spd = None if args.skip_speed else speed(log)
        result = {
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "args_line": [a for a in (argv if argv is not None else sys.argv[1:])],
            "segment_seconds": args.segment_seconds, "crfs": crfs,
            "units": {"real": sum(u.label == 0 for u in units), "fake": sum(u.label for u in units),
                      "by_manipulation": {m: sum(u.manipulation == m for u in units) for m in sorted({u.manipulation for u in units})},
                      "by_identity": {i: sum(u.identity == i for u in units) for i in sorted({u.identity for u in units})}},
            "fusion_lomo": lomo,
            "fusion_shipped": {"weights": dict(zip(FUSED, shipped.calibration.coef.round(4).tolist())),
                               "intercept": round(shipped.calibration.intercept, 4), "bands": shipped.bands},
            "detectors": det,
            "provenance": prov,
            "watermark_control": wm,
            "speed": spd,
            "unit_scores": [{"unit": u.name, "identity": u.identity, "manipulation": u.manipulation, "crf": u.crf,
                             "scores": u.scores, "seconds": round(u.seconds, 2)} for u in units],
            "seconds": round(time.time() - t0, 1),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=1, default=lambda o: float(o) if isinstance(o, np.floating) else str(o)) + "\n")
        if spd is not None:
            write_docs(result)
        if not args.no_fit:
            update_cards(result)
        print(markdown(result))
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for u in units:
                if u.path.parent == work:
                    shutil.copy2(u.path, args.keep / u.path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
