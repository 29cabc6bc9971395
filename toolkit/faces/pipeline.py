"""The shared face pass: detection + 478-point mesh + identity tracking over a clip.

Every detector and generator consumes this one pass, so it is built for speed:

* The face **detector** runs on a *key frame* every ``detect_every`` frames (default 5),
  and at once on any frame where a tracked face is lost. New faces are therefore picked
  up within ``detect_every`` frames of appearing.
* In between, each face is followed by the **landmarker's video mode** (MediaPipe
  FaceMesh with ``static_image_mode=False`` on a crop around the face), which reuses the
  previous frame's landmarks instead of detecting again. Every reported face on every
  frame has a fresh mesh; its box is the mesh's box.
* On key frames, detections are matched to the meshes; a mesh the detector has not
  confirmed for ``max_unconfirmed`` key frames in a row is dropped (guards against a
  tracker that drifted off the face), and new detections start new meshes.
* :class:`~toolkit.faces.tracking.FaceTracker` turns the per-frame faces into stable
  identity ids, keeping a lost identity ``max_missed`` frames so a face that leaves and
  comes back within that time keeps its id.

By default (``require_mesh=True``) a detection counts as a face only if the mesh can be
fitted to it: FaceMesh runs its own detector on the crop, which rejects most of the
detector's false positives, and every consumer needs the mesh anyway (alignment,
masks). With ``require_mesh=False`` such detections (a strict profile, a tiny face) are
reported on key frames with ``mesh=None`` and the detector's box and keypoints.

On a still image (``process_image`` or an image path) the pipeline runs detection and
the static mesh once, with no tracking state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator

import numpy as np
from scipy.optimize import linear_sum_assignment

from toolkit.faces.backends import FaceDetectorBackend, LandmarkerBackend, LandmarkTracker, get_detector, get_landmarker
from toolkit.faces.geometry import iou_matrix
from toolkit.faces.records import DetectedFace, FrameFaces, Keypoints, MeshFace, TrackedFace
from toolkit.faces.tracking import FaceTracker
from toolkit.media import Frame, VideoReader

# A detection and a mesh box of the same face overlap by ~0.6-0.85 (conventions differ).
_MATCH_IOU = 0.3
_DUPLICATE_IOU = 0.5


@dataclass
class _Observation:
    box: np.ndarray
    score: float
    keypoints: Keypoints
    mesh: MeshFace | None
    key: Hashable | None  # landmark-tracker session key while the mesh is followed
    detected: bool
    unconfirmed: int = 0


@dataclass
class _TrackState:
    key: Hashable
    score: float
    unconfirmed: int = 0


def _match(a: np.ndarray, b: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    if not len(a) or not len(b):
        return []
    ious = iou_matrix(a, b)
    rows, cols = linear_sum_assignment(-ious)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ious[r, c] >= min_iou]


class FacePipeline:
    """Detection + mesh + tracking, frame by frame.

    ``detector`` / ``landmarker`` are backend names, backend objects, or ``None`` for the
    highest-priority installed one. ``keep_images`` attaches each decoded frame to its
    :class:`FrameFaces` so consumers need not decode the clip again.

    One pipeline follows one clip at a time and is not thread-safe; the backends'
    models are shared process-wide, so creating a pipeline per job is cheap.
    """

    def __init__(
        self,
        detector: str | FaceDetectorBackend | None = None,
        landmarker: str | LandmarkerBackend | None = None,
        detect_every: int = 5,
        max_faces: int = 10,
        max_missed: int = 15,
        max_unconfirmed: int = 2,
        require_mesh: bool = True,
        keep_images: bool = True,
    ):
        if detect_every < 1:
            raise ValueError("detect_every must be >= 1")
        self.detector: FaceDetectorBackend = (
            get_detector(detector) if detector is None or isinstance(detector, str) else detector
        )
        self.landmarker: LandmarkerBackend = (
            get_landmarker(landmarker) if landmarker is None or isinstance(landmarker, str) else landmarker
        )
        self.detect_every = detect_every
        self.max_faces = max_faces
        self.max_unconfirmed = max_unconfirmed
        self.require_mesh = require_mesh
        self.keep_images = keep_images
        self.tracker = FaceTracker(max_missed=max_missed)
        self._session: LandmarkTracker | None = None
        self._states: dict[int, _TrackState] = {}  # live, meshed tracks
        self._next_key = 0
        self._last_detect: int | None = None
        self._frame = -1

    # -- lifecycle -------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all tracks (call between clips)."""
        self.close()
        self.tracker.reset()
        self._last_detect = None
        self._frame = -1

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self._states.clear()

    def __enter__(self) -> "FacePipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def backend_names(self) -> dict[str, str]:
        return {"detector": self.detector.name, "landmarker": self.landmarker.name}

    # -- still images ------------------------------------------------------------------
    def process_image(self, image: np.ndarray, index: int = 0, time: float = 0.0) -> FrameFaces:
        """Static mode: detect and mesh every face of one image (ids 0, 1, ... by score)."""
        detections = self.detector.detect(image)[: self.max_faces]
        meshes = self.landmarker.landmark(image, [d.box for d in detections]) if detections else []
        pairs = [(d, m) for d, m in zip(detections, meshes) if m is not None or not self.require_mesh]
        faces = [self._face(i, d, m, detected=True) for i, (d, m) in enumerate(pairs)]
        return self._frame_result(image, index, time, faces)

    @staticmethod
    def _face(track_id: int, det: DetectedFace, mesh: MeshFace | None, detected: bool) -> TrackedFace:
        if mesh is None:
            return TrackedFace(track_id, det.box, det.score, dict(det.keypoints), None, detected)
        return TrackedFace(track_id, mesh.box, det.score, mesh.keypoints, mesh, detected)

    def _frame_result(self, image: np.ndarray, index: int, time: float, faces: list[TrackedFace]) -> FrameFaces:
        h, w = image.shape[:2]
        return FrameFaces(index, time, w, h, faces, image if self.keep_images else None)

    # -- video -------------------------------------------------------------------------
    def _new_key(self) -> int:
        self._next_key += 1
        return self._next_key

    def _drop(self, key: Hashable | None) -> None:
        if key is not None and self._session is not None:
            self._session.drop(key)

    def _follow(self, image: np.ndarray) -> tuple[list[_Observation], bool]:
        """Carry every meshed track to this frame with the landmarker's video mode."""
        if not self._states:
            return [], False
        rois = {s.key: self.tracker.tracks[tid].box for tid, s in self._states.items()}
        meshes = self._session.update(image, rois)
        observations, lost = [], False
        for tid, state in self._states.items():
            mesh = meshes.get(state.key)
            if mesh is None:
                self._drop(state.key)
                lost = True
                continue
            observations.append(_Observation(mesh.box, state.score, mesh.keypoints, mesh, state.key, False,
                                             state.unconfirmed))
        return observations, lost

    def _add_detections(self, image: np.ndarray, observations: list[_Observation]) -> list[_Observation]:
        detections = self.detector.detect(image)[: self.max_faces]
        boxes = np.array([o.box for o in observations]).reshape(-1, 4)
        matched_obs, matched_det = set(), set()
        for oi, di in _match(boxes, np.array([d.box for d in detections]).reshape(-1, 4), _MATCH_IOU):
            obs = observations[oi]
            obs.detected, obs.score, obs.unconfirmed = True, detections[di].score, 0
            matched_obs.add(oi)
            matched_det.add(di)
        kept = []
        for oi, obs in enumerate(observations):
            if oi not in matched_obs:
                obs.unconfirmed += 1
                if obs.unconfirmed > self.max_unconfirmed:
                    self._drop(obs.key)
                    continue
            kept.append(obs)
        fresh = [d for i, d in enumerate(detections) if i not in matched_det]
        if kept and fresh:  # a second detection of an already followed face
            overlap = iou_matrix(np.array([d.box for d in fresh]), np.array([o.box for o in kept])).max(axis=1)
            fresh = [d for d, o in zip(fresh, overlap) if o < _DUPLICATE_IOU]
        if fresh:
            keys = [self._new_key() for _ in fresh]
            meshes = self._session.update(image, dict(zip(keys, (d.box for d in fresh))))
            for key, det in zip(keys, fresh):
                mesh = meshes.get(key)
                if mesh is None:
                    self._drop(key)
                    if not self.require_mesh:
                        kept.append(_Observation(det.box, det.score, dict(det.keypoints), None, None, True))
                else:
                    kept.append(_Observation(mesh.box, det.score, mesh.keypoints, mesh, key, True))
        return kept

    def _dedupe(self, observations: list[_Observation]) -> list[_Observation]:
        """Two meshes that converged on one face: keep the first (the older track)."""
        kept: list[_Observation] = []
        for obs in observations:
            if kept and iou_matrix(obs.box[None], np.array([k.box for k in kept])).max() > _DUPLICATE_IOU:
                self._drop(obs.key)
                continue
            kept.append(obs)
        if len(kept) > self.max_faces:
            kept.sort(key=lambda o: -o.score)
            for obs in kept[self.max_faces:]:
                self._drop(obs.key)
            kept = kept[: self.max_faces]
        return kept

    def step(self, image: np.ndarray, index: int | None = None, time: float = 0.0) -> FrameFaces:
        """Video mode: process the next frame of a clip (frames must come in order)."""
        index = self._frame + 1 if index is None else index
        self._frame = index
        if self._session is None:
            self._session = self.landmarker.open_tracker()
        observations, lost = self._follow(image)
        key_frame = lost or self._last_detect is None or index - self._last_detect >= self.detect_every
        if key_frame:
            self._last_detect = index
            observations = self._add_detections(image, observations)
        observations = self._dedupe(observations)
        ids = self.tracker.update([o.box for o in observations],
                                  [o.mesh.landmarks if o.mesh is not None else None for o in observations], frame=index)
        self._states = {
            tid: _TrackState(o.key, o.score, o.unconfirmed) for tid, o in zip(ids, observations) if o.key is not None
        }
        faces = [TrackedFace(tid, o.box, o.score, o.keypoints, o.mesh, o.detected) for tid, o in zip(ids, observations)]
        faces.sort(key=lambda f: f.track_id)
        return self._frame_result(image, index, time, faces)

    def run(
        self,
        source: Path | str | VideoReader | Iterable[Frame],
        max_frames: int | None = None,
        max_side: int | None = None,
        start: float = 0.0,
        end: float | None = None,
        on_frame: Callable[[FrameFaces], None] | None = None,
    ) -> Iterator[FrameFaces]:
        """Yield one :class:`FrameFaces` per frame of a video path, reader or frame
        iterable; an image path yields one static-mode result."""
        if isinstance(source, (str, Path)):
            source = VideoReader(source, max_side=max_side, start=start, end=end, max_frames=max_frames)
        if isinstance(source, VideoReader) and source.info.is_image:
            frame = next(iter(source))
            result = self.process_image(frame.image)
            if on_frame:
                on_frame(result)
            yield result
            return
        self.reset()
        try:
            for n, frame in enumerate(source):
                if max_frames is not None and n >= max_frames:
                    break
                result = self.step(frame.image, frame.index, frame.time)
                if on_frame:
                    on_frame(result)
                yield result
        finally:
            self.close()


def detect_faces(image: np.ndarray, detector: str | None = None, landmarker: str | None = None) -> FrameFaces:
    """One-call static face pass over a single RGB image."""
    return FacePipeline(detector, landmarker, keep_images=False).process_image(image)
