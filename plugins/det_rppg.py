"""Builtin detector: the pulse in skin colour (rPPG, POS method) and its coherence across the face.

Training-free measurements (:mod:`toolkit.detection.rppg`) mapped to a score by a one-class
calibration fitted on real clips (``weights/rppg.json``, ``dftk train-detector rppg``): 0.5 means
"as coherent as the real clips", higher means less. Needs at least 3.5 s of a steadily tracked face.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence, FrameScore
from toolkit.hookspecs import hookimpl

PARAMS = Path(__file__).parent / "weights" / "rppg.json"
WINDOW_S = 4.0
HOP_S = 1.0


def params_path() -> Path:
    return Path(os.environ.get("DFTK_RPPG_PARAMS") or PARAMS)


class RppgDetector(Detector):
    name = "rppg"
    description = "Remote pulse (POS) in forehead and cheeks: strength and coherence across the face (FakeCatcher idea)."
    version = "1"

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        from toolkit.detection import calibration
        from toolkit.detection.rppg import MIN_FPS, MIN_SECONDS, measure_pulse, measure_tracks

        if clip.is_image:
            return self.not_applicable("a still image has no pulse signal")
        if clip.fps < MIN_FPS:
            return self.not_applicable(f"the analysed frame rate ({clip.fps:.1f} fps) is too low for a pulse signal")
        if not clip.has_faces:
            return self.not_applicable("no face found")
        runs = measure_tracks(clip)
        if not runs:
            return self.not_applicable(f"no face was tracked steadily for {MIN_SECONDS:g} s with forehead and cheeks in view")
        cal = calibration.load(params_path())
        fps = clip.fps
        scores, evidence, run_scores, weights, feats = [], [], [], [], []
        for track_id, positions, traces, m in runs:
            f = m.features()
            feats.append(f)
            run_scores.append(float(cal.score(f)[0]))
            weights.append(m.seconds)
            # Sliding windows give the timeline.
            times = np.array([clip.frames[p].time for p in positions])
            win = int(round(WINDOW_S * fps))
            hop = max(1, int(round(HOP_S * fps)))
            for start in range(0, max(1, len(positions) - win + 1), hop):
                sl = slice(start, start + win)
                wm = measure_pulse({k: v[sl] for k, v in traces.items()}, times[sl], fps)
                if wm is None:
                    continue
                s = float(cal.score(wm.features())[0])
                centre = start + win // 2
                scores.append(FrameScore(positions[centre], float(times[centre]), track_id, s))
            for region, pulse in m.regions.items():
                evidence.append(Evidence("trace", f"pulse, {region.replace('_', ' ')}, face {track_id}",
                                         {"times": times, "values": pulse, "unit": "POS pulse (a.u.)"}))
            evidence.append(Evidence("fact", f"pulse measures, face {track_id}", {
                "coherence": m.coherence, "snr_db": m.snr_db, "heart_rate_bpm": m.heart_rate_bpm, "seconds": m.seconds}))
        clip_score = float(np.average(run_scores, weights=weights))
        best = int(np.argmax(weights))
        m = runs[best][3]
        explanation = (f"pulse: coherence across forehead and cheeks {m.coherence:+.2f}, pulse SNR {m.snr_db:.1f} dB "
                       f"(~{m.heart_rate_bpm:.0f} bpm) -> score {clip_score:.2f} against real clips")
        return self.result(clip_score=clip_score, frame_scores=scores, evidence=evidence, explanation=explanation,
                           details={"runs": len(runs), "features": [dict(zip(cal.names, f)) for f in feats]})


@hookimpl
def register_detectors(register):
    register(RppgDetector)
