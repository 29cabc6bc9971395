"""Give each face a stable identity id across the frames of a clip.

Each frame's faces are matched to the known tracks by one global assignment (Hungarian,
``scipy.optimize.linear_sum_assignment``) on a cost that adds box overlap, centre
distance and, when both sides have a mesh, mean landmark distance, all relative to the
face size. A track that finds no face is kept for ``max_missed`` frames, so a face that
turns away, is occluded or leaves the frame briefly gets its old id back when it
reappears near where it was last seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from toolkit.faces.geometry import box_center, box_size, iou_matrix

_FORBIDDEN = 1e6


@dataclass
class Track:
    track_id: int
    box: np.ndarray
    landmarks: np.ndarray | None
    first_frame: int
    last_frame: int
    hits: int = 1
    missed: int = 0  # consecutive frames without a match

    @property
    def live(self) -> bool:
        return self.missed == 0


class FaceTracker:
    """Assigns track ids to per-frame face observations.

    ``min_iou``: overlap that always allows a match; otherwise the centres must be within
    ``max_shift`` face sizes (growing with the frames a track has been missing, since a
    returning face may have moved) and the sizes within a factor of 2.
    """

    def __init__(self, max_missed: int = 15, min_iou: float = 0.2, max_shift: float = 0.6):
        self.max_missed = max_missed
        self.min_iou = min_iou
        self.max_shift = max_shift
        self.tracks: dict[int, Track] = {}
        self.frame = -1
        self._next_id = 0
        self._removed: list[int] = []

    def reset(self) -> None:
        self.tracks.clear()
        self.frame = -1
        self._next_id = 0
        self._removed = []

    def live_tracks(self) -> list[Track]:
        return [t for t in self.tracks.values() if t.live]

    def _cost(self, boxes: np.ndarray, landmarks: list[np.ndarray | None]) -> tuple[np.ndarray, list[Track]]:
        tracks = list(self.tracks.values())
        cost = np.full((len(tracks), len(boxes)), _FORBIDDEN)
        if not tracks or not len(boxes):
            return cost, tracks
        ious = iou_matrix(np.stack([t.box for t in tracks]), boxes)
        for i, track in enumerate(tracks):
            size = max(box_size(track.box), 1.0)
            center = box_center(track.box)
            allowed_shift = self.max_shift * (1 + 0.1 * track.missed)
            for j, box in enumerate(boxes):
                shift = float(np.linalg.norm(box_center(box) - center)) / size
                ratio = max(box_size(box), 1.0) / size
                if ious[i, j] < self.min_iou and shift > allowed_shift:
                    continue
                if not 0.5 <= ratio <= 2.0:
                    continue
                c = (1.0 - ious[i, j]) + shift + 0.05 * track.missed
                lm = landmarks[j]
                if lm is not None and track.landmarks is not None and lm.shape == track.landmarks.shape:
                    c += float(np.linalg.norm(lm[:, :2] - track.landmarks[:, :2], axis=1).mean()) / size
                cost[i, j] = c
        return cost, tracks

    def update(self, boxes: list[np.ndarray] | np.ndarray, landmarks: list[np.ndarray | None] | None = None,
               frame: int | None = None) -> list[int]:
        """Match this frame's faces to tracks; returns one track id per face, in order.

        Unmatched faces open new tracks; tracks missing longer than ``max_missed`` frames
        are forgotten (see :meth:`removed_since_last_update`).
        """
        self.frame = self.frame + 1 if frame is None else frame
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        landmarks = list(landmarks) if landmarks is not None else [None] * len(boxes)
        cost, tracks = self._cost(boxes, landmarks)
        ids: list[int | None] = [None] * len(boxes)
        matched: set[int] = set()
        if cost.size:
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] >= _FORBIDDEN:
                    continue
                track = tracks[r]
                track.box, track.landmarks = boxes[c].copy(), landmarks[c]
                track.last_frame, track.missed = self.frame, 0
                track.hits += 1
                ids[c] = track.track_id
                matched.add(track.track_id)
        for j, tid in enumerate(ids):
            if tid is None:
                tid = self._next_id
                self._next_id += 1
                self.tracks[tid] = Track(tid, boxes[j].copy(), landmarks[j], self.frame, self.frame)
                matched.add(tid)
                ids[j] = tid
        self._removed = []
        for tid in list(self.tracks):
            if tid in matched:
                continue
            track = self.tracks[tid]
            track.missed += 1
            if track.missed > self.max_missed:
                del self.tracks[tid]
                self._removed.append(tid)
        return [int(i) for i in ids]

    def removed_since_last_update(self) -> list[int]:
        return list(self._removed)
