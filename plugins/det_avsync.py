"""Builtin detector: audio-visual sync (mouth opening vs speech loudness: lag and correlation).

The measures are the lip-sync module's (:mod:`toolkit.lipsync.sync`). The mapping from
(|lag|, correlation at the best lag, correlation at zero lag) to a score is a logistic
regression fitted on *constructed* pairs (``weights/avsync.json``, ``dftk train-detector
avsync``): the sample clips have no on-camera speech, so there is no real talking-head data
to fit on. Not applicable without an audio track, without speech in it while the face is
visible, or without a tracked mouth.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence, FrameScore
from toolkit.hookspecs import hookimpl

PARAMS = Path(__file__).parent / "weights" / "avsync.json"
MIN_SECONDS = 2.0
WINDOW_S = 3.0


def params_path() -> Path:
    return Path(os.environ.get("DFTK_AVSYNC_PARAMS") or PARAMS)


def longest_mouth_run(clip: ClipAnalysis):
    best = None
    for track_id in clip.track_ids():
        for run in clip.runs(track_id, min_length=2):
            if best is None or len(run) > len(best[1]):
                best = (track_id, run)
    return best


class AvSyncDetector(Detector):
    name = "avsync"
    description = "Mouth opening against the speech envelope: lag and correlation (calibrated on constructed pairs)."
    version = "1"

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        from toolkit.detection import calibration
        from toolkit.detection.avsync import (MIN_VOICED_SECONDS, av_sync, mouth_aperture, speech_envelope,
                                              sync_dict, sync_features)

        if clip.is_image:
            return self.not_applicable("a still image has no audio")
        if clip.info.audio is None or clip.audio.size == 0:
            return self.not_applicable("the file has no audio track")
        if not clip.has_faces:
            return self.not_applicable("no face found")
        picked = longest_mouth_run(clip)
        fps = clip.fps
        if picked is None or len(picked[1]) / max(fps, 1e-6) < MIN_SECONDS:
            return self.not_applicable(f"no face with a visible mouth for {MIN_SECONDS:.0f} s")
        track_id, run = picked
        positions = [p for p, _ in run]
        times = np.array([clip.frames[p].time for p in positions])
        aperture = np.asarray(mouth_aperture(np.stack([f.landmarks for _, f in run])), np.float64)
        envelope, voiced = speech_envelope(clip.audio, clip.audio_rate, float(times[0]), fps, len(positions))
        voiced_s = voiced.sum() / fps
        if voiced_s < MIN_VOICED_SECONDS:
            return self.not_applicable(f"no speech in the audio track while the face is visible "
                                       f"({voiced_s:.1f} s of speech, {MIN_VOICED_SECONDS:.1f} s needed)",
                                       voiced_seconds=float(voiced_s))
        cal = calibration.load(params_path())
        m = av_sync(aperture, envelope, fps)
        clip_score = float(cal.score(sync_features(m))[0])
        scores = []
        win = int(round(WINDOW_S * fps))
        hop = max(1, win // 3)
        for start in range(0, max(1, len(positions) - win + 1), hop):
            sl = slice(start, start + win)
            if voiced[sl].sum() / fps < 0.5:
                continue
            wm = av_sync(aperture[sl], envelope[sl], fps)
            centre = min(start + win // 2, len(positions) - 1)
            scores.append(FrameScore(positions[centre], float(times[centre]), track_id,
                                     float(cal.score(sync_features(wm))[0])))
        facts = sync_dict(m)
        evidence = [
            Evidence("trace", f"mouth opening, face {track_id}", {"times": times, "values": aperture,
                                                                  "unit": "inner-lip gap / eye distance"}),
            Evidence("trace", "speech loudness", {"times": times, "values": envelope, "unit": "dB above floor"}),
            Evidence("fact", "audio-visual lag", {**facts, "speech_seconds": round(float(voiced_s), 2)}),
        ]
        explanation = (f"lip sync: best match with the mouth {abs(m.lag_seconds) * 1000:.0f} ms "
                       f"{'after' if m.lag_seconds > 0 else 'before'} the sound, correlation "
                       f"{facts['correlation']:.2f} -> score {clip_score:.2f}")
        return self.result(clip_score=clip_score, frame_scores=scores, evidence=evidence, explanation=explanation,
                           details={**facts, "speech_seconds": float(voiced_s)})


@hookimpl
def register_detectors(register):
    register(AvSyncDetector)
