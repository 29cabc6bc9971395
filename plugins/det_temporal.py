"""Builtin detector: temporal consistency (landmark jitter, flicker inside vs outside the face).

Training-free measurements (:mod:`toolkit.detection.temporal`) mapped to scores by a one-class
calibration fitted on real clips only (``weights/temporal.json``, ``dftk train-detector temporal``):
0.5 means "like the real clips", higher means more jitter or more face-only flicker than they had.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence, FrameScore
from toolkit.hookspecs import hookimpl

PARAMS = Path(__file__).parent / "weights" / "temporal.json"


def params_path() -> Path:
    return Path(os.environ.get("DFTK_TEMPORAL_PARAMS") or PARAMS)


class TemporalDetector(Detector):
    name = "temporal"
    description = "Landmark jitter and face-only flicker over time, against real clips (one-class calibration)."
    version = "1"

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        from toolkit.detection import calibration
        from toolkit.detection.temporal import MIN_RUN, clip_features, frame_features, measure_tracks

        if clip.is_image:
            return self.not_applicable("a still image has no motion to check")
        if not clip.has_faces:
            return self.not_applicable("no face found")
        tracks = measure_tracks(clip)
        if not tracks:
            return self.not_applicable(f"no face was tracked for {MIN_RUN} consecutive analysed frames")
        clip_cal = calibration.load(params_path())
        frame_cal = calibration.load(params_path(), "frame")
        scores, evidence, track_scores, feats = [], [], {}, {}
        for track_id, runs in tracks:
            f = clip_features([m for _, m in runs])
            feats[track_id] = f
            track_scores[track_id] = float(clip_cal.score(f)[0])
            times, jit, fin, fout = [], [], [], []
            for positions, m in runs:
                per_frame = frame_features(m)
                for pos, s in zip(positions, frame_cal.score(per_frame)):
                    scores.append(FrameScore(pos, clip.frames[pos].time, track_id, float(s)))
                times += [clip.frames[p].time for p in positions]
                jit += m.jitter.tolist()
                fin += m.flicker_in.tolist()
                fout += m.flicker_out.tolist()
            evidence.append(Evidence("trace", f"landmark jitter, face {track_id}",
                                     {"times": times, "values": jit, "unit": "fraction of eye distance"}))
            evidence.append(Evidence("trace", f"flicker inside the face, face {track_id}",
                                     {"times": times, "values": fin, "reference": fout, "reference_label": "outside the face",
                                      "unit": "LAB L, 2nd difference"}))
        worst = max(track_scores, key=track_scores.get)
        clip_score = track_scores[worst]
        z = clip_cal.z(feats[worst])[0]
        named = dict(zip(clip_cal.names, z))
        lead = max(named, key=named.get)
        what = {"log_lower_upper_jitter": "jitter of the lower face against the upper face",
                "log_median_jitter": "landmark jitter", "log_p90_jitter": "landmark jitter (worst frames)",
                "log_flicker_ratio": "flicker inside the face", "flicker_corr": "flicker inside the face"}.get(lead, lead)
        explanation = (f"temporal consistency: score {clip_score:.2f}; {what} is {named[lead]:+.1f} standard deviations "
                       f"from the real clips it was calibrated on")
        return self.result(clip_score=clip_score, frame_scores=scores, evidence=evidence, explanation=explanation,
                           details={"features": {str(t): dict(zip(clip_cal.names, v)) for t, v in feats.items()},
                                    "z": {k: float(v) for k, v in named.items()}, "track_scores": track_scores})


@hookimpl
def register_detectors(register):
    register(TemporalDetector)
