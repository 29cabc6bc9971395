"""Builtin detector: blending boundaries, by a CNN trained on self-blended real faces.

The weights (``weights/sbi_blend.pt``, model card beside them) were trained by
``dftk train-detector blend`` on real sample faces only; ``DFTK_BLEND_WEIGHTS`` points the
detector at other weights trained the same way. Per track, up to ``MAX_CROPS_PER_TRACK``
frames spread over the clip are scored (the network costs ~10 ms a crop on two CPU cores).
Clip score: mean over scored frames of the highest face score in the frame (SBI's video
protocol). Evidence: the boundary heatmaps of the highest-scoring crops.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence, FrameScore
from toolkit.detection.crops import face_crop
from toolkit.hookspecs import hookimpl

WEIGHTS = Path(__file__).parent / "weights" / "sbi_blend.pt"
MAX_CROPS_PER_TRACK = 48
MIN_FACE_PX = 40
HEATMAPS = 3


def weights_path() -> Path:
    return Path(os.environ.get("DFTK_BLEND_WEIGHTS") or WEIGHTS)


class BlendDetector(Detector):
    name = "blend"
    description = "Blending-boundary CNN trained on self-blended images of real faces (Shiohara & Yamasaki 2022)."
    version = "1"

    _lock = threading.Lock()
    _loaded: dict[str, object] = {}

    def checkpoint(self):
        from toolkit.detection.blendnet import load_checkpoint

        path = str(weights_path())
        with self._lock:
            if path not in self._loaded:
                self._loaded[path] = load_checkpoint(path)
            return self._loaded[path]

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        from toolkit.detection.blendnet import predict

        picks: list[tuple[int, object]] = []
        for track_id in clip.track_ids():
            faces = [(pos, f) for pos, f in clip.track(track_id) if f.landmarks is not None and f.size >= MIN_FACE_PX]
            if len(faces) > MAX_CROPS_PER_TRACK:
                keep = np.linspace(0, len(faces) - 1, MAX_CROPS_PER_TRACK).round().astype(int)
                faces = [faces[i] for i in keep]
            picks.extend(faces)
        if not picks:
            reason = "no face found" if not clip.has_faces else f"no face with a face mesh at least {MIN_FACE_PX} px wide"
            return self.not_applicable(reason)
        ckpt = self.checkpoint()
        size = ckpt.config.input_size
        crops, boxes = [], []
        for pos, face in picks:
            crop, box = face_crop(clip.frames[pos].image, face.points, size)
            crops.append(crop)
            boxes.append(box)
        probs, maps = predict(ckpt.model, crops)
        scores = [FrameScore(pos, clip.frames[pos].time, face.track_id, float(p)) for (pos, face), p in zip(picks, probs)]
        per_frame: dict[int, float] = {}
        for s in scores:
            per_frame[s.frame] = max(per_frame.get(s.frame, 0.0), s.score)
        clip_score = float(np.mean(list(per_frame.values())))
        order = np.argsort(-probs)[:HEATMAPS]
        evidence = [
            Evidence("heatmap", f"blend boundary, {clip.frames[picks[i][0]].time:.2f} s, face {picks[i][1].track_id}",
                     {"frame": picks[i][0], "track_id": picks[i][1].track_id, "box": boxes[i].tolist(),
                      "score": float(probs[i]), "map": maps[i]})
            for i in order
        ]
        peak = int(order[0])
        high = float(np.mean(probs > 0.5))
        explanation = (f"blend-boundary CNN: mean fake probability {clip_score:.2f} over {len(per_frame)} frames "
                       f"({high:.0%} of face crops above 0.5; highest {probs[peak]:.2f} at "
                       f"{clip.frames[picks[peak][0]].time:.1f} s)")
        return self.result(clip_score=clip_score, frame_scores=scores, evidence=evidence, explanation=explanation,
                           details={"crops": len(crops), "weights_sha256": ckpt.sha256,
                                    "fraction_above_half": high, "max": float(probs.max())})


@hookimpl
def register_detectors(register):
    register(BlendDetector)
