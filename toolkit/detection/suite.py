"""Run the detector suite on one file: shared analysis, every detector, fusion, a report.

:func:`run_detection` is what the CLI (``dftk detect``) and the web app call. It runs as a
tracked job (:func:`toolkit.jobs.run_job`: progress, cancellation, persisted status) and
returns a :class:`DetectionReport` that serialises to JSON (:meth:`DetectionReport.to_dict`)
and renders to a self-contained HTML page (:meth:`DetectionReport.write_html`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from toolkit import __version__
from toolkit.detection.contract import ClipAnalysis, Detector, DetectorResult
from toolkit.detection.fusion import Verdict, fuse, load_fusion
from toolkit.detection.sampling import DEFAULT_MAX_FRAMES
from toolkit.errors import DftkError, InputError, JobCancelled, ModelError, PluginError

ProgressCallback = Callable[[int, "int | None", str], None]

GENERAL_CAVEATS = (
    "These detectors were trained and calibrated on a handful of real sample clips and on simple "
    "manipulations we made ourselves; they have not been validated on the range of media found in the wild. "
    "Treat the result as a lead for a closer look, not as proof.",
    "A low score does not prove a file is authentic: a manipulation these detectors were not built for "
    "can pass unnoticed.",
    "Heavy compression, low resolution, small or turned-away faces and unusual lighting all weaken the "
    "face-based detectors.",
)


@dataclass
class DetectionReport:
    path: str
    media: dict[str, Any]
    sampling: dict[str, Any]
    faces: dict[str, Any]
    results: list[DetectorResult]
    verdict: Verdict
    summary: str  # plain-language explanation of the verdict
    caveats: list[str]
    timings: dict[str, Any]
    fusion: dict[str, Any]
    job_id: str | None = None
    version: str = __version__
    analysis: ClipAnalysis | None = field(default=None, repr=False)  # kept for the HTML report

    def result(self, name: str) -> DetectorResult | None:
        return next((r for r in self.results if r.detector == name), None)

    def to_dict(self, include_evidence: bool = True) -> dict:
        results = []
        for r in self.results:
            d = r.to_dict()
            if not include_evidence:
                d.pop("evidence")
                d.pop("frame_scores")
            results.append(d)
        return {
            "dftk_version": self.version,
            "path": self.path,
            "verdict": self.verdict.band,
            "probability": None if self.verdict.probability is None else round(self.verdict.probability, 4),
            "summary": self.summary,
            "caveats": self.caveats,
            "fusion": {**self.verdict.to_dict(), **self.fusion},
            "detectors": results,
            "media": self.media,
            "sampling": self.sampling,
            "faces": self.faces,
            "timings": self.timings,
            "job_id": self.job_id,
        }

    def write_html(self, path: Path | str) -> Path:
        from toolkit.detection.report_html import write_report

        return write_report(self, Path(path))


def available_detectors() -> dict[str, type[Detector]]:
    from toolkit.plugins import get_host

    return {name: cls for name, cls in get_host().detectors().items()
            if isinstance(cls, type) and issubclass(cls, Detector)}


# Report order: provenance first, then the builtin forensic detectors, then plugins by name.
ORDER = ("provenance", "blend", "spectral", "temporal", "rppg", "avsync")


def select_detectors(names: list[str] | None = None) -> list[type[Detector]]:
    found = available_detectors()
    if names:
        unknown = [n for n in names if n not in found]
        if unknown:
            raise PluginError(f"no detector called {unknown[0]!r} (available: {', '.join(sorted(found)) or 'none'})")
        return [found[n] for n in dict.fromkeys(names)]
    chosen = [name for name, cls in found.items() if getattr(cls, "default", True)]
    if not chosen:
        raise PluginError("no detector plugins are installed; see `dftk plugins`")
    chosen.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [found[n] for n in chosen]


_instances: dict[type, Detector] = {}


def _instance(cls: type[Detector]) -> Detector:
    if cls not in _instances:
        _instances[cls] = cls()
    return _instances[cls]


def run_detectors(clip: ClipAnalysis, detectors: list[type[Detector]], progress: ProgressCallback | None = None,
                  offset: int = 0, total: int | None = None, is_cancelled: Callable[[], bool] | None = None) -> list[DetectorResult]:
    """Run each detector on the shared analysis; a detector that fails is reported, not fatal."""
    results = []
    for i, cls in enumerate(detectors):
        if is_cancelled and is_cancelled():
            raise JobCancelled("the job was cancelled")
        detector = _instance(cls)
        start = time.perf_counter()
        try:
            result = detector.analyze(clip)
            if not isinstance(result, DetectorResult):
                raise TypeError(f"analyze() returned {type(result).__name__}, not DetectorResult")
        except JobCancelled:
            raise
        except ModelError as exc:
            result = DetectorResult.not_applicable(detector, f"its model is unavailable ({exc.message})")
        except Exception as exc:  # one broken plugin must not sink the report
            result = DetectorResult.not_applicable(detector, f"the detector failed ({type(exc).__name__}: {exc})")
            result.details["failed"] = True
        result.seconds = time.perf_counter() - start
        results.append(result)
        if progress:
            progress(offset + i + 1, total, f"detector {detector.name}")
    return results


def faces_summary(clip: ClipAnalysis) -> dict:
    tracks = []
    for tid in clip.track_ids():
        seen = clip.track(tid)
        boxes = [f.box for _, f in seen]
        mean_box = [round(float(sum(b[i] for b in boxes) / len(boxes)), 1) for i in range(4)]
        tracks.append({"track_id": tid, "frames": len(seen), "frames_with_mesh": sum(f.landmarks is not None for _, f in seen),
                       "first_time": round(clip.frames[seen[0][0]].time, 3), "last_time": round(clip.frames[seen[-1][0]].time, 3),
                       "mean_box": mean_box})
    return {"frames_with_faces": sum(bool(f.faces) for f in clip.frames), "tracks": tracks,
            "backends": clip.face_backends}


_DETECTOR_WORDS = {
    "blend": "a blending boundary around the face",
    "spectral": "generator-like traces in the face's frequency spectrum",
    "temporal": "jitter or flicker of the face that the rest of the picture does not share",
    "rppg": "a weak or incoherent pulse signal in the skin",
    "avsync": "mouth movement out of step with the voice",
}


def percent(p: float) -> str:
    """A probability for people: no false certainty at the ends."""
    return ">99%" if p > 0.99 else "<1%" if p < 0.01 else f"{p:.0%}"


def explain(verdict: Verdict, results: list[DetectorResult]) -> str:
    """A plain-language paragraph: the verdict, what drove it, what could not be checked."""
    by_name = {r.detector: r for r in results}
    parts = []
    if verdict.band == "inconclusive":
        parts.append("No verdict: none of the face-based detectors could judge this file, and it carries no "
                     "provenance that declares it generated.")
    elif verdict.override:
        parts.append(f"Manipulated: {verdict.override}.")
        if verdict.forensic_probability is not None:
            parts.append(f"Independently of that, the forensic detectors give a probability of "
                         f"{percent(verdict.forensic_probability)}.")
    else:
        lead = {"authentic": "Probably authentic", "suspicious": "Suspicious",
                "manipulated": "Probably manipulated"}[verdict.band]
        parts.append(f"{lead}: the detectors' combined probability of manipulation is {percent(verdict.probability)}.")
        pushing = sorted([c for c in verdict.contributions if c.applicable], key=lambda c: -c.contribution)
        up = [c for c in pushing if c.contribution > 0.3]
        down = [c for c in reversed(pushing) if c.contribution < -0.3]
        if up:
            parts.append("Evidence of manipulation: " + "; ".join(
                f"{_DETECTOR_WORDS.get(c.detector, c.detector)} ({c.detector}, score {c.score:.2f})" for c in up[:3]) + ".")
        if down:
            parts.append("Evidence against: " + "; ".join(
                f"{c.detector} saw nothing unusual (score {c.score:.2f})" for c in down[:3]) + ".")
    skipped = [r for r in results if not r.applicable]
    if skipped:
        parts.append("Not checked: " + "; ".join(f"{r.detector} ({r.reason})" for r in skipped) + ".")
    return " ".join(parts)


def caveats_for(verdict: Verdict, results: list[DetectorResult], model_record: dict) -> list[str]:
    out = list(GENERAL_CAVEATS)
    prov = next((r for r in results if r.detector == "provenance"), None)
    if prov is not None and prov.applicable and (prov.clip_score or 0) < 1.0:
        out.append("No C2PA manifest or dftk watermark declared this file generated. Most generated media carry "
                   "neither, so their absence says nothing either way.")
    unweighted = [c.detector for c in verdict.contributions if c.applicable and abs(c.weight) < 1e-3]
    if unweighted:
        out.append(f"{', '.join(unweighted)} ran but has no weight in the fusion: the benchmark it was fitted on "
                   "gave it nothing to learn from (see docs/detection.md).")
    if model_record.get("caveat"):
        out.append(str(model_record["caveat"]))
    return out


def run_detection(
    path: Path | str,
    detectors: list[str] | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[Any], None] | None = None,
    store: Any = None,
    keep_analysis: bool = True,
) -> DetectionReport:
    """Detect manipulation in one video or image file; returns the full report.

    Runs as a ``detect`` job (``on_progress(done, total, message)``; cancel through the job
    store or the :class:`~toolkit.jobs.Job` handed to ``on_start``). Raises typed
    :class:`~toolkit.errors.DftkError` subclasses for bad input.
    """
    from toolkit.detection.analysis import analyse_clip
    from toolkit.jobs import run_job

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    chosen = select_detectors(detectors)
    fusion_model = load_fusion()
    box: dict[str, Any] = {}

    def work(job) -> dict:
        t0 = time.perf_counter()
        state = {"total": None}

        def analysis_progress(done: int, total: int | None, message: str) -> None:
            state["total"] = (total or done) + len(chosen)
            job.progress(done, state["total"], message)

        clip = analyse_clip(path, max_frames=max_frames, progress=analysis_progress, is_cancelled=job.is_cancelled)
        t1 = time.perf_counter()
        n = len(clip.frames)
        results = run_detectors(clip, chosen, progress=lambda d, t, m: job.progress(d, t, m), offset=n,
                                total=n + len(chosen), is_cancelled=job.is_cancelled)
        verdict = fuse({r.detector: r for r in results}, fusion_model)
        t2 = time.perf_counter()
        timings = {
            "analysis_s": round(t1 - t0, 3),
            "detectors_s": {r.detector: round(r.seconds, 3) for r in results},
            "total_s": round(t2 - t0, 3),
            "source_frames_per_s": round(clip.sampling.source_frames / max(t2 - t0, 1e-9), 2),
            "analysed_frames_per_s": round(n / max(t2 - t0, 1e-9), 2),
        }
        report = DetectionReport(
            path=str(path), media=clip.info.to_dict(), sampling=clip.sampling.to_dict(), faces=faces_summary(clip),
            results=results, verdict=verdict, summary=explain(verdict, results),
            caveats=caveats_for(verdict, results, fusion_model.record), timings=timings,
            fusion={"model": {"detectors": fusion_model.detectors, "fitted_on": fusion_model.record.get("fitted_on")}},
            analysis=clip if keep_analysis else None,
        )
        box["report"] = report
        return {"verdict": verdict.band, "probability": verdict.probability, "summary": report.summary,
                "detectors": {r.detector: r.clip_score for r in results}}

    record = run_job("detect", {"path": str(path), "detectors": [c.name for c in chosen], "max_frames": max_frames},
                     work, store=store, on_progress=on_progress, on_start=on_start)
    report: DetectionReport = box["report"]
    report.job_id = record.id
    return report
