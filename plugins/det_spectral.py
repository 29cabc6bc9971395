"""Builtin detector: the face's power spectrum (Durall et al. 2020), fitted without any generator.

Parameters: ``weights/spectral.json`` (fitted by ``dftk train-detector spectral``, model card
beside it). Up to ``MAX_PATCHES_PER_TRACK`` frames per track are measured; faces narrower than
about 73 px give no patch (40 px minimum at 0.55 of the face width).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence, FrameScore
from toolkit.hookspecs import hookimpl

PARAMS = Path(__file__).parent / "weights" / "spectral.json"
MAX_PATCHES_PER_TRACK = 96


class SpectralDetector(Detector):
    name = "spectral"
    description = "Azimuthally averaged power spectrum of the inner face + logistic regression (Durall et al. 2020)."
    version = "1"
    _model = None

    def model(self):
        from toolkit.detection.spectral import load_model

        path = Path(os.environ.get("DFTK_SPECTRAL_PARAMS") or PARAMS)
        if SpectralDetector._model is None or SpectralDetector._model[0] != path:
            SpectralDetector._model = (path, load_model(path))
        return SpectralDetector._model[1]

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        from toolkit.detection.spectral import BINS, features

        rows, profiles = [], []
        for track_id in clip.track_ids():
            faces = [(pos, f) for pos, f in clip.track(track_id) if f.landmarks is not None]
            if len(faces) > MAX_PATCHES_PER_TRACK:
                keep = np.linspace(0, len(faces) - 1, MAX_PATCHES_PER_TRACK).round().astype(int)
                faces = [faces[i] for i in keep]
            for pos, face in faces:
                f = features(clip.frames[pos].image, face.points)
                if f is not None:
                    rows.append((pos, face.track_id))
                    profiles.append(f)
        if not rows:
            if not clip.has_faces:
                return self.not_applicable("no face found")
            return self.not_applicable("faces too small for a spectral patch (the face must be about 75 px wide)")
        model = self.model()
        P = np.array(profiles)
        probs = model.score(P)
        scores = [FrameScore(pos, clip.frames[pos].time, tid, float(p)) for (pos, tid), p in zip(rows, probs)]
        per_frame: dict[int, float] = {}
        for s in scores:
            per_frame[s.frame] = max(per_frame.get(s.frame, 0.0), s.score)
        clip_score = float(np.mean(list(per_frame.values())))
        mean_features = P.mean(axis=0)
        freqs = (np.arange(BINS) + 0.5) / BINS * 0.5
        evidence = [Evidence("trace", "face power spectrum", {
            "x": freqs, "values": mean_features[:BINS], "reference": model.mean[:BINS],
            "reference_label": "real faces (fit)", "x_unit": "cycles/pixel", "unit": "log10 power (mean removed)"})]
        # Which part of the measurement moved the score most, in the classifier's own terms.
        contrib = ((mean_features - model.mean) / model.scale) * model.coef
        parts = {"low-to-mid frequencies of the face": contrib[: BINS // 2].sum(),
                 "high frequencies of the face": contrib[BINS // 2:BINS].sum(),
                 "difference between chin and brow": contrib[BINS:].sum()}
        lead = max(parts, key=lambda k: abs(parts[k]))
        explanation = (f"face spectrum: mean score {clip_score:.2f} over {len(per_frame)} frames; the {lead} "
                       f"weigh{'s' if lead.startswith('difference') else ''} most")
        return self.result(clip_score=clip_score, frame_scores=scores, evidence=evidence, explanation=explanation,
                           details={"patches": len(rows), "logit_contributions": {k: float(v) for k, v in parts.items()}})


@hookimpl
def register_detectors(register):
    register(SpectralDetector)
