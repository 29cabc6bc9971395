"""dftk-blink: an example third-party detector plugin (eye blinks, Li et al. 2018).

Early face swaps rarely blinked: their generators were trained on photos, and photos show
open eyes ("In Ictu Oculi", Li, Chang and Lyu, 2018). This detector counts blinks in the
eye-aspect-ratio of the shared 478-point face mesh and asks how likely that few blinks
would be from a real person. It is a weak, historical cue: modern swaps copy the target's
blinks. So it only ever argues *for* manipulation (a blinking face is no proof of
authenticity: the score never goes below 0.5), it runs only when named
(``dftk detect --detectors blink``) and it is not part of the fused verdict.
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence
from toolkit.hookspecs import hookimpl

# Mesh points of each eye, subject's view: corner, two upper-lid points, corner, two lower-lid points
# (p1..p6 of Soukupova and Cech's eye aspect ratio, 2016).
RIGHT_EYE = (33, 160, 158, 133, 153, 144)
LEFT_EYE = (362, 385, 387, 263, 373, 380)

MIN_FPS = 10.0  # a blink closes the eye for 100-400 ms: coarser sampling misses it
MIN_SECONDS = 4.0  # of tracked eyes, before the count says anything
DIP = 0.6  # a blink: the eye closes below 60% of its opening just before ...
RECOVER = 0.7  # ... and reopens to 70% of it ...
PRE_S, REOPEN_S = 0.4, 0.5  # ... looking back 0.4 s and reopening within 0.5 s (not a downward glance)
OPEN = 0.5  # and the eye was open before: at least half its usual opening (lids lowered in a downward gaze
# flutter without blinking)

# Blinks per minute. Real: the lowest published mean rate, while reading (Bentivoglio et al. 1997:
# 4.5/min; 17/min at rest), so a quiet, attentive real person is not counted against. Fake: our
# assumption for an early face swap that "rarely blinks" (the paper gives no rate).
REAL_RATE, FAKE_RATE = 4.5, 1.0


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean of both eyes' (|p2-p6| + |p3-p5|) / (2 |p1-p4|) from a (478, 2) mesh."""
    def one(idx: tuple[int, ...]) -> float:
        p1, p2, p3, p4, p5, p6 = (points[i] for i in idx)
        width = float(np.linalg.norm(p1 - p4))
        return (float(np.linalg.norm(p2 - p6)) + float(np.linalg.norm(p3 - p5))) / (2 * width) if width > 0 else 0.0

    return (one(RIGHT_EYE) + one(LEFT_EYE)) / 2


def find_blinks(ear: np.ndarray, fps: float, open_level: float | None = None) -> list[int]:
    """Indices where an open eye closes and reopens within ``REOPEN_S`` (a glance down does not reopen).

    ``open_level`` is the eye's usual opening (default: the 90th percentile of ``ear``).
    """
    pre, reopen = max(1, round(PRE_S * fps)), max(1, round(REOPEN_S * fps))
    open_level = float(np.percentile(ear, 90)) if open_level is None else open_level
    blinks, i = [], 1
    while i < len(ear):
        before = float(ear[max(0, i - pre):i].max())
        if before >= OPEN * open_level and before > 0 and ear[i] < DIP * before:
            # the bottom of this dip, then: does the eye open again soon after it?
            j = i
            while j + 1 < len(ear) and ear[j + 1] <= ear[j]:
                j += 1
            after = ear[j:j + reopen + 1]
            if after.max() >= RECOVER * before:
                blinks.append(j)
                i = j + int(np.argmax(after >= RECOVER * before)) + 1  # wait until it has reopened
                continue
            i = j + 1
            continue
        i += 1
    return blinks


def manipulation_score(blinks: int, seconds: float) -> float:
    """P(fake | this many blinks) with even prior odds, Poisson counts at REAL_RATE and FAKE_RATE, floored at 0.5."""
    minutes = seconds / 60.0
    log_lr = blinks * math.log(FAKE_RATE / REAL_RATE) + (REAL_RATE - FAKE_RATE) * minutes
    return max(0.5, 1.0 / (1.0 + math.exp(-log_lr)))


class BlinkDetector(Detector):
    name = "blink"
    description = "Counts eye blinks in the face mesh; too few for a real person hints at an early face swap."
    version = "0.1.0"
    fused = False  # a weak cue nobody calibrated against today's fakes: shown, not fused
    default = False  # runs only when named: dftk detect --detectors blink FILE

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        if clip.is_image:
            return self.not_applicable("a still image shows no blinks")
        if not clip.has_faces:
            return self.not_applicable("no face found")
        if clip.fps < MIN_FPS:
            return self.not_applicable(f"frames were analysed at {clip.fps:.0f} fps; blinks need {MIN_FPS:.0f}")
        tracks = {}
        for track_id in clip.track_ids():
            runs = [run for run in clip.runs(track_id, min_length=2)]
            seconds = sum(len(run) for run in runs) / clip.fps
            if seconds >= MIN_SECONDS:
                tracks[track_id] = runs
        if not tracks:
            return self.not_applicable(f"no face's eyes were tracked for {MIN_SECONDS:.0f} s")
        evidence, per_track = [], {}
        for track_id, runs in tracks.items():
            ears = [np.array([eye_aspect_ratio(face.points) for _, face in run]) for run in runs]
            open_level = float(np.percentile(np.concatenate(ears), 90))
            times, values, blink_times = [], [], []
            for run, ear in zip(runs, ears):
                run_times = [clip.frames[pos].time for pos, _ in run]
                blink_times += [run_times[i] for i in find_blinks(ear, clip.fps, open_level)]
                times += run_times
                values += ear.tolist()
            seconds = len(times) / clip.fps
            score = manipulation_score(len(blink_times), seconds)
            per_track[track_id] = {"blinks": len(blink_times), "seconds": round(seconds, 2),
                                   "per_minute": round(len(blink_times) / seconds * 60, 1), "score": score}
            evidence.append(Evidence("trace", f"eye opening, face {track_id}",
                                     {"times": times, "values": values, "unit": "eye aspect ratio"}))
            evidence.append(Evidence("fact", f"blinks, face {track_id}",
                                     {**per_track[track_id], "blink_times": [round(t, 2) for t in blink_times]}))
        worst = max(per_track, key=lambda t: per_track[t]["score"])
        w = per_track[worst]
        explanation = (f"blinks: {w['blinks']} in {w['seconds']:.1f} s ({w['per_minute']:.0f}/min) for face {worst}; "
                       + ("fewer than a real person would likely show" if w["score"] > 0.6 else "no sign of missing blinks"))
        return self.result(clip_score=w["score"], evidence=evidence, explanation=explanation,
                           details={"tracks": {str(t): v for t, v in per_track.items()},
                                    "rates_per_minute": {"real": REAL_RATE, "fake": FAKE_RATE}})


@hookimpl
def register_detectors(register):
    register(BlinkDetector)
