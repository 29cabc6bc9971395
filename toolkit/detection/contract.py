"""The detector contract: what a detector plugin gets and what it must return.

A detector never opens the file itself. The suite decodes the clip once, runs the shared
face pass once (:mod:`toolkit.detection.analysis`), and hands every detector the same
:class:`ClipAnalysis`. The detector returns a :class:`DetectorResult`:

* ``frame_scores``: one :class:`FrameScore` per (analysed frame, face) it judged, in [0, 1]
  (1 = manipulated). Detectors that judge whole frames use ``track_id = -1``.
* ``clip_score`` in [0, 1], or ``None`` when the detector is not applicable.
* ``evidence``: heatmaps (per face crop), regions, signal traces, provenance facts.
* ``explanation``: one line a person can read.

A detector that cannot judge the clip (no face, no audio, too short, a still image for a
temporal method) returns :meth:`DetectorResult.not_applicable` with the reason; it must not
guess. Scores are calibrated per detector (``0.5`` = no evidence either way); the suite's
fusion turns clip scores into one probability (:mod:`toolkit.detection.fusion`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np

from toolkit.media.probe import MediaInfo

EVIDENCE_KINDS = ("heatmap", "region", "trace", "fact")


@dataclass
class FaceObservation:
    """One face in one analysed frame, from the shared face pass.

    ``box`` is ``(x0, y0, x1, y1)`` in pixels of the analysed frame; ``landmarks`` is the
    478-point MediaPipe mesh ``(478, 3)`` (x, y in the same pixels, z relative depth) or
    ``None`` when only the detector saw the face on this frame. ``track_id`` is stable for
    one identity across the frames of a clip.
    """

    track_id: int
    box: np.ndarray
    score: float
    landmarks: np.ndarray | None = None
    detected: bool = True

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float32).reshape(4)
        if self.landmarks is not None:
            self.landmarks = np.asarray(self.landmarks, dtype=np.float32)

    @property
    def points(self) -> np.ndarray | None:
        """``(478, 2)`` pixel coordinates, or None without a mesh."""
        return None if self.landmarks is None else self.landmarks[:, :2]

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id,
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "has_mesh": self.landmarks is not None,
            "detected": self.detected,
        }


@dataclass
class AnalysedFrame:
    """One sampled frame: its position in the source, the decoded image and its faces.

    ``segment`` numbers runs of consecutive sampled frames; temporal methods never take
    differences across two segments (there is a gap in time between them).
    """

    index: int  # frame index in the source clip
    time: float  # seconds
    segment: int
    image: np.ndarray = field(repr=False)  # RGB uint8 (H, W, 3) at analysis resolution
    faces: list[FaceObservation] = field(default_factory=list)

    def face(self, track_id: int) -> FaceObservation | None:
        return next((f for f in self.faces if f.track_id == track_id), None)


@dataclass
class SamplingInfo:
    """How frames were chosen (recorded in every report)."""

    source_frames: int
    analysed_frames: int
    stride: int
    segments: int
    analysis_scale: float  # analysed size / source size (1.0 = full resolution)
    policy: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ClipAnalysis:
    """Everything the shared decode and face pass produced for one file."""

    path: Path
    info: MediaInfo
    frames: list[AnalysedFrame]
    sampling: SamplingInfo
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)
    audio_rate: int = 16000
    face_backends: dict[str, str] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return self.info.is_image

    @property
    def fps(self) -> float:
        """Rate of the analysed frames (source fps / stride); 0 for a still image."""
        if self.is_image or not self.info.video or not self.info.video.fps:
            return 0.0
        return self.info.video.fps / max(self.sampling.stride, 1)

    @property
    def duration(self) -> float:
        return float(self.info.duration or 0.0)

    @property
    def has_faces(self) -> bool:
        return any(f.faces for f in self.frames)

    def track_ids(self) -> list[int]:
        return sorted({face.track_id for frame in self.frames for face in frame.faces})

    def track(self, track_id: int) -> list[tuple[int, FaceObservation]]:
        """``(position in frames, face)`` for every analysed frame where the track appears."""
        out = []
        for pos, frame in enumerate(self.frames):
            face = frame.face(track_id)
            if face is not None:
                out.append((pos, face))
        return out

    def runs(self, track_id: int, min_length: int = 2, mesh_only: bool = True) -> Iterator[list[tuple[int, FaceObservation]]]:
        """Maximal runs of consecutive analysed frames (same segment) where the track has a mesh."""
        run: list[tuple[int, FaceObservation]] = []
        for pos, face in self.track(track_id):
            if mesh_only and face.landmarks is None:
                if len(run) >= min_length:
                    yield run
                run = []
                continue
            if run and (pos != run[-1][0] + 1 or self.frames[pos].segment != self.frames[run[-1][0]].segment):
                if len(run) >= min_length:
                    yield run
                run = []
            run.append((pos, face))
        if len(run) >= min_length:
            yield run


@dataclass
class FrameScore:
    """A detector's score for one face (``track_id``; -1 = whole frame) in one analysed frame."""

    frame: int  # position in ClipAnalysis.frames
    time: float
    track_id: int
    score: float

    def to_dict(self) -> dict:
        return {"frame": self.frame, "time": round(self.time, 4), "track_id": self.track_id,
                "score": round(float(self.score), 4)}


@dataclass
class Evidence:
    """One piece of evidence a detector shows.

    * ``heatmap``: ``data = {"frame", "track_id", "box": [x0, y0, x1, y1], "map": HxW float [0,1]}``:
      where in the face crop (``box`` in frame pixels) the detector saw manipulation.
    * ``region``: ``data = {"frame", "box", ...}``: a region of a frame.
    * ``trace``: ``data = {"times": [...], "values": [...], "unit": str}``: a signal over time.
    * ``fact``: ``data`` is any JSON-able dict (provenance fields, measured offsets...).
    """

    kind: str
    label: str
    data: dict[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in EVIDENCE_KINDS:
            raise ValueError(f"evidence kind must be one of {EVIDENCE_KINDS}, got {self.kind!r}")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "data": _jsonable(self.data)}


@dataclass
class DetectorResult:
    detector: str
    version: str
    applicable: bool
    clip_score: float | None = None
    frame_scores: list[FrameScore] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    explanation: str = ""
    reason: str | None = None  # why not applicable
    details: dict[str, Any] = field(default_factory=dict)  # raw measurements behind the score
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.clip_score is not None:
            self.clip_score = float(np.clip(self.clip_score, 0.0, 1.0))
        for fs in self.frame_scores:
            fs.score = float(np.clip(fs.score, 0.0, 1.0))

    @classmethod
    def not_applicable(cls, detector: "Detector", reason: str, **details: Any) -> "DetectorResult":
        return cls(detector=detector.name, version=detector.version, applicable=False, reason=reason,
                   explanation=f"not applicable: {reason}", details=dict(details))

    def to_dict(self) -> dict:
        return {
            "detector": self.detector,
            "version": self.version,
            "applicable": self.applicable,
            "reason": self.reason,
            "clip_score": None if self.clip_score is None else round(self.clip_score, 4),
            "explanation": self.explanation,
            "frame_scores": [f.to_dict() for f in self.frame_scores],
            "evidence": [e.to_dict() for e in self.evidence],
            "details": _jsonable(self.details),
            "seconds": round(self.seconds, 3),
        }


class Detector(ABC):
    """Base class of detector plugins (register the class with ``register_detectors``).

    Subclasses set ``name`` (unique), ``description`` (one sentence), ``version`` and
    ``fused`` (whether the suite's fusion uses its clip score; provenance is an override,
    not a fused feature). ``default`` detectors run when the user names none. The suite
    instantiates the class with no arguments once per process and calls :meth:`analyze`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    fused: ClassVar[bool] = True
    default: ClassVar[bool] = True

    @abstractmethod
    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        """Judge the clip; return scores in [0, 1] (1 = manipulated) or not applicable."""

    def result(self, **fields: Any) -> DetectorResult:
        """A :class:`DetectorResult` with this detector's name and version filled in."""
        return DetectorResult(detector=self.name, version=self.version, applicable=True, **fields)

    def not_applicable(self, reason: str, **details: Any) -> DetectorResult:
        return DetectorResult.not_applicable(self, reason, **details)


def _jsonable(value: Any) -> Any:
    """Numpy arrays and scalars to lists and floats (heatmaps to nested lists, rounded)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return np.round(value.astype(np.float64), 4).tolist()
        return value.tolist()
    if isinstance(value, (np.floating,)):
        return round(float(value), 6)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return round(value, 6) if np.isfinite(value) else None
    return value

