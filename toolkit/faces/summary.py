"""Clip-level summary of a face pass: frames with faces, identity tracks, mean box."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolkit.faces.records import FrameFaces


@dataclass
class TrackSummary:
    track_id: int
    first_frame: int
    last_frame: int
    frames: int = 0
    frames_with_mesh: int = 0
    box_sum: np.ndarray = field(default_factory=lambda: np.zeros(4))
    score_sum: float = 0.0

    @property
    def mean_box(self) -> np.ndarray:
        return self.box_sum / max(self.frames, 1)

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "frames": self.frames,
            "frames_with_mesh": self.frames_with_mesh,
            "mean_box": [round(float(v), 1) for v in self.mean_box],
            "mean_score": round(self.score_sum / max(self.frames, 1), 4),
        }


@dataclass
class FaceSummary:
    """Accumulate :class:`FrameFaces` one at a time (the clip is never held in memory)."""

    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    tracks: dict[int, TrackSummary] = field(default_factory=dict)

    def add(self, frame: FrameFaces) -> None:
        self.frames += 1
        self.frames_with_faces += bool(frame.faces)
        for face in frame.faces:
            self.faces += 1
            t = self.tracks.get(face.track_id)
            if t is None:
                t = self.tracks[face.track_id] = TrackSummary(face.track_id, frame.index, frame.index)
            t.last_frame = frame.index
            t.frames += 1
            t.frames_with_mesh += face.mesh is not None
            t.box_sum = t.box_sum + face.box
            t.score_sum += face.score

    @property
    def mean_box_size(self) -> tuple[float, float] | None:
        """Mean face width and height over all faces of all frames."""
        if not self.faces:
            return None
        total = sum((t.box_sum for t in self.tracks.values()), np.zeros(4))
        w = (total[2] - total[0]) / self.faces
        h = (total[3] - total[1]) / self.faces
        return float(w), float(h)

    def to_dict(self) -> dict:
        size = self.mean_box_size
        return {
            "frames": self.frames,
            "frames_with_faces": self.frames_with_faces,
            "faces": self.faces,
            "track_count": len(self.tracks),
            "mean_box_size": [round(size[0], 1), round(size[1], 1)] if size else None,
            "tracks": [t.to_dict() for t in sorted(self.tracks.values(), key=lambda t: t.track_id)],
        }
