"""Fit the signal detectors' calibrations (``dftk train-detector temporal|rppg|avsync``).

* temporal, rppg: one-class calibrations on **real clips only**. Each clip is analysed
  once (the shared pass) and cut into overlapping chunks of 4 s every 2 s; each
  chunk's features (per face track) are one real example. Per-frame temporal features
  over all real frames give the frame-level calibration.
* avsync: a logistic regression on **constructed pairs**, because no sample clip shows
  someone speaking. Mouth-aperture traces come from the real clips' meshes; a "speech
  envelope" is built from each trace: in sync (the trace delayed 0-100 ms, squashed,
  plus noise) or out of sync (delayed 200-600 ms either way, or taken from another part
  of the clips). The calibration therefore encodes the method's premise on realistic
  mouth motion, not measured talking-head statistics; the model card says so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from toolkit.detection import calibration
from toolkit.detection.contract import ClipAnalysis
from toolkit.errors import ModelError

Progress = Callable[..., None]


def _video_analyses(paths: list[Path], progress: Progress | None, is_cancelled) -> list[ClipAnalysis]:
    from toolkit.detection.analysis import analyse_clip
    from toolkit.media import is_image_path

    clips = []
    videos = [p for p in paths if not is_image_path(p)]
    for i, path in enumerate(videos):
        clips.append(analyse_clip(path, is_cancelled=is_cancelled))
        if progress:
            progress(i + 1, len(videos), f"analysed {path.name}")
    if not clips:
        raise ModelError("no videos in the training data (photos carry no temporal signal)")
    return clips


def chunks(clip: ClipAnalysis, seconds: float, hop: float) -> list[ClipAnalysis]:
    """Overlapping sub-analyses of ``seconds`` starting every ``hop`` seconds (whole clip if shorter)."""
    if not clip.frames:
        return []
    t0, t1 = clip.frames[0].time, clip.frames[-1].time
    if t1 - t0 <= seconds:
        return [clip]
    out = []
    start = t0
    while start + seconds <= t1 + 1e-6:
        frames = [f for f in clip.frames if start <= f.time < start + seconds]
        out.append(ClipAnalysis(clip.path, clip.info, frames, clip.sampling, clip.audio, clip.audio_rate,
                                clip.face_backends))
        start += hop
    return out


def _card_note(clips: list[ClipAnalysis], examples: int, what: str) -> dict:
    return {"clips": [c.path.name for c in clips], "examples": examples, "examples_are": what}


def fit_temporal(paths: list[Path], out: Path, progress: Progress | None = None, is_cancelled=None) -> dict:
    from toolkit.detection.temporal import FEATURE_NAMES, FRAME_FEATURE_NAMES, clip_features, frame_features, measure_tracks

    start = time.time()
    clips = _video_analyses(paths, progress, is_cancelled)
    rows, frame_rows = [], []
    for clip in clips:
        for chunk in chunks(clip, 4.0, 2.0):
            for _, runs in measure_tracks(chunk):
                rows.append(clip_features([m for _, m in runs]))
        for _, runs in measure_tracks(clip):
            frame_rows.extend(frame_features(m) for _, m in runs)
    if len(rows) < 2:
        raise ModelError("not enough tracked face footage (at least two 4 s chunks) to calibrate the temporal detector")
    record = {"method": "one-class calibration on real clips (signed z-scores)", "trained_by": "dftk train-detector temporal",
              **_card_note(clips, len(rows), "4 s chunks every 2 s of real clips, one per face track"),
              "seconds": round(time.time() - start, 1)}
    clip_cal = calibration.OneClassCalibration.fit(FEATURE_NAMES, np.array(rows), signs=[1, 1, 1, 1, -1], record=record,
                                                   min_scale=[0.05, 0.05, 0.05, 0.05, 0.05])
    frame_cal = calibration.OneClassCalibration.fit(FRAME_FEATURE_NAMES, np.concatenate(frame_rows), signs=[1, 1],
                                                    min_scale=[0.05, 0.05])
    calibration.write_params(clip_cal, out, {"frame": frame_cal.to_dict()})
    return record


def fit_rppg(paths: list[Path], out: Path, progress: Progress | None = None, is_cancelled=None) -> dict:
    from toolkit.detection.rppg import FEATURE_NAMES, measure_tracks

    start = time.time()
    clips = _video_analyses(paths, progress, is_cancelled)
    rows = []
    for clip in clips:
        for chunk in chunks(clip, 4.0, 2.0):
            rows.extend(m.features() for _, _, _, m in measure_tracks(chunk))
    if len(rows) < 2:
        raise ModelError("not enough tracked face footage (at least two 4 s chunks) to calibrate the pulse detector")
    record = {"method": "one-class calibration on real clips (signed z-scores)", "trained_by": "dftk train-detector rppg",
              **_card_note(clips, len(rows), "4 s chunks every 2 s of real clips, one per face track"),
              "seconds": round(time.time() - start, 1)}
    cal = calibration.OneClassCalibration.fit(FEATURE_NAMES, np.array(rows), signs=[-1, -1], record=record,
                                              min_scale=[0.05, 0.5])
    calibration.write_params(cal, out)
    return record


def _mouth_traces(clips: list[ClipAnalysis], min_frames: int) -> list[tuple[np.ndarray, float]]:
    from toolkit.detection.avsync import mouth_aperture

    traces = []
    for clip in clips:
        for tid in clip.track_ids():
            for run in clip.runs(tid, min_length=min_frames):
                traces.append((np.asarray(mouth_aperture(np.stack([f.landmarks for _, f in run])), np.float64), clip.fps))
    return traces


def _envelope_from(aperture: np.ndarray, fps: float, lag_s: float, rng: np.random.Generator) -> np.ndarray:
    """A loudness trace (dB above floor) that follows ``aperture`` ``lag_s`` later (negative: earlier).

    The sound of an opening mouth comes with it or a little after it; speech loudness grows
    sub-linearly with the opening, and breath, room noise and consonants add noise."""
    lag = int(round(lag_s * fps))
    a = np.roll(aperture, lag)
    if lag > 0:
        a[:lag] = aperture[0]
    elif lag < 0:
        a[lag:] = aperture[-1]
    a = (a - a.min()) / max(np.ptp(a), 1e-6)
    env = 35 * np.sqrt(a) + rng.normal(0, rng.uniform(2, 8), len(a))  # loudness grows sub-linearly with opening
    return np.maximum(env, 0)


def constructed_pairs(traces: list[tuple[np.ndarray, float]], n: int, seconds: float, rng: np.random.Generator):
    """``(features, labels)`` of in-sync (0) and out-of-sync (1) aperture/envelope windows."""
    from toolkit.detection.avsync import av_sync, sync_features

    X, y = [], []
    for _ in range(n):
        ap, fps = traces[int(rng.integers(len(traces)))]
        win = int(round(seconds * fps))
        if len(ap) <= win:
            continue
        s = int(rng.integers(0, len(ap) - win))
        seg = ap[s:s + win]
        if np.ptp(seg) < 0.02:  # a still mouth says nothing either way
            continue
        if rng.random() < 0.5:
            env = _envelope_from(ap, fps, rng.uniform(0.0, 0.1), rng)[s:s + win]
            label = 0
        elif rng.random() < 0.6:
            shift = rng.uniform(0.2, 0.6) * (1 if rng.random() < 0.5 else -1)
            env = _envelope_from(ap, fps, shift, rng)[s:s + win]
            label = 1
        else:
            other, ofps = traces[int(rng.integers(len(traces)))]
            if len(other) <= win:
                continue
            o = int(rng.integers(0, len(other) - win))
            if other is ap and abs(o - s) < fps:
                continue
            env = _envelope_from(other, ofps, 0.05, rng)[o:o + win]
            label = 1
        X.append(sync_features(av_sync(seg, env, fps)))
        y.append(label)
    return np.array(X), np.array(y)


def fit_avsync(paths: list[Path], out: Path, seed: int = 0, progress: Progress | None = None, is_cancelled=None) -> dict:
    from sklearn.metrics import roc_auc_score

    start = time.time()
    clips = _video_analyses(paths, progress, is_cancelled)
    rng = np.random.default_rng(seed)
    traces = _mouth_traces(clips, min_frames=int(3 * 24))
    if not traces:
        raise ModelError("no face tracked long enough (3 s) to build constructed audio-visual pairs")
    Xtr, ytr = constructed_pairs(traces, 1500, 3.0, rng)
    Xva, yva = constructed_pairs(traces, 500, 3.0, np.random.default_rng(seed + 1))
    names = ["abs_lag_s", "correlation", "correlation_at_zero"]
    record = {"method": "logistic regression on constructed pairs", "trained_by": "dftk train-detector avsync",
              "clips": [c.path.name for c in clips], "pairs": int(len(ytr)),
              "construction": "mouth-aperture traces of the real clips; envelope = sqrt-compressed trace "
                              "+ noise, delayed 0-100 ms (in sync) or 200-600 ms / from elsewhere (out of sync)",
              "caveat": "no real talking-head audio was available; calibrated on constructed pairs only",
              "seconds": round(time.time() - start, 1)}
    cal = calibration.LogisticCalibration.fit(names, Xtr, ytr, record=record)
    record["validation_auc_constructed"] = round(float(roc_auc_score(yva, cal.score(Xva))), 4)
    cal.record = record
    calibration.write_params(cal, out)
    return record


def write_signal_card(params: Path, kind: str, record: dict, note: str | None = None) -> None:
    from toolkit.detection.model_card import write_card

    texts = {
        "temporal": ("Landmark jitter and face-only flicker, z-scored against real clips.",
                     "Calibrated on real clips only; a real clip with unusual motion or lighting can score high."),
        "rppg": ("Pulse coherence across forehead and cheeks and pulse SNR, z-scored against real clips.",
                 "Needs >= 3.5 s of a steady, well-lit face; compressed 360p video carries a weak pulse, and the "
                 "real reference holds very few clips."),
        "avsync": ("Lag and correlation of mouth opening against speech loudness, mapped by a logistic regression.",
                   "Calibrated on constructed pairs only: the sample clips contain no on-camera speech."),
    }
    summary, limitation = texts[kind]
    card = {"name": f"{kind} calibration", "summary": summary,
            "limitations": [limitation] + ([f"Data: {note}"] if note else []),
            "parameters": {"file": Path(params).name}, "training": record}
    write_card(params, card)
