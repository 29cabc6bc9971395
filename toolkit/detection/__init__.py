"""Detection: the detector contract, the shared clip analysis, fusion and reports.

Detector plugins subclass :class:`Detector` and register through the
``register_detectors`` hook. :func:`run_detection` (in :mod:`toolkit.detection.suite`)
runs the installed detectors over one shared decode and face pass, fuses their clip
scores into a calibrated probability and verdict, and returns a :class:`DetectionReport`.
"""

from toolkit.detection.contract import (
    AnalysedFrame,
    ClipAnalysis,
    Detector,
    DetectorResult,
    Evidence,
    FaceObservation,
    FrameScore,
    SamplingInfo,
)

__all__ = [
    "AnalysedFrame",
    "ClipAnalysis",
    "DetectionReport",
    "Detector",
    "DetectorResult",
    "Evidence",
    "FaceObservation",
    "FrameScore",
    "SamplingInfo",
    "run_detection",
]


def __getattr__(name: str):
    # The suite pulls in plotting and the plugin host; load it only when asked for.
    if name in ("run_detection", "DetectionReport"):
        from toolkit.detection import suite

        return getattr(suite, name)
    raise AttributeError(name)
