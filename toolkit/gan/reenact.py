"""Reenactment: another person's facial motion drives the subject's personal model.

Relative motion transfer: the driver's landmarks, in the canonical aligned space, minus
those of the driver's first face frame, are added to the subject's reference landmarks.
The driver's identity (face shape) therefore never reaches the output, only its motion.
The canonical alignment removes in-plane head motion (translation, roll, scale), so the
head stays where it is in the reference frame; expressions, gaze, jaw and out-of-plane
head turns are transferred.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from toolkit.gan import landmarks as lmk
from toolkit.gan.model import PersonalModel
from toolkit.gan.reference import Reference
from toolkit.gan.smoothing import OneEuroFilter


def relative_motion(subject: np.ndarray, driver_neutral: np.ndarray, driver: np.ndarray) -> np.ndarray:
    """Subject landmarks showing the driver's motion since its neutral frame.

    All three are (478, 2) meshes in the model's canonical crop space; the driver's own
    face shape cancels out, only its displacement reaches the subject.
    """
    return (subject + (driver - driver_neutral)).astype(np.float32)


class ReenactSession:
    """Drive the subject frame by frame (a video, or a webcam stream): ``push(frame) -> frame``.

    Returns the subject's reference frame with the generated face pasted in, or the face
    crop alone when ``full_frame`` is False or the reference has no full frame. Frames
    where the driver shows no face repeat the last pose (the neutral one before any face).
    """

    def __init__(self, model: PersonalModel, reference: Reference | None = None, full_frame: bool = True,
                 fps: float = 25.0, smooth: bool = True):
        self.model = model
        self.reference = reference or model.reference
        self.full_frame = full_frame and self.reference.frame is not None
        self._tracker = lmk.LiveLandmarker()
        self._filter = OneEuroFilter(fps) if smooth else None
        self.driver_neutral: np.ndarray | None = None
        self.target: np.ndarray = self.reference.landmarks
        self.faces_seen = 0

    def target_for(self, driver_landmarks: np.ndarray) -> np.ndarray:
        """Subject landmarks (crop pixels) for driver landmarks in the driver's frame pixels."""
        aligned = lmk.to_crop(driver_landmarks, self.model.size, self.model.padding)
        if self._filter is not None:
            aligned = self._filter(aligned)
        if self.driver_neutral is None:
            self.driver_neutral = aligned
        return relative_motion(self.reference.landmarks, self.driver_neutral, aligned)

    def push(self, frame: np.ndarray) -> np.ndarray:
        lm = self._tracker(frame)
        if lm is not None:
            self.target = self.target_for(lm)
            self.faces_seen += 1
        face = self.model.render(self.reference, self.target)
        if not self.full_frame:
            return face
        return self.model.paste(face, self.target, self.reference)

    def reset(self) -> None:
        """Forget the driver's neutral pose (e.g. a new person in front of the webcam)."""
        self.driver_neutral = None
        self.target = self.reference.landmarks
        if self._filter is not None:
            self._filter.reset()

    def close(self) -> None:
        self._tracker.close()

    def __enter__(self) -> "ReenactSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def reenact_frames(model: PersonalModel, driver_frames: Iterable[np.ndarray], fps: float = 25.0,
                   reference: Reference | None = None, full_frame: bool = True) -> Iterator[np.ndarray]:
    """Lazily render one output frame per driver frame."""
    with ReenactSession(model, reference, full_frame, fps) as session:
        for frame in driver_frames:
            yield session.push(frame)
