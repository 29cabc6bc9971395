"""Simple, non-GAN face manipulations for evaluating the detectors (benchmark and tests only).

Each returns the manipulated *frames* of a clip; it never writes a file. The benchmark and
the tests encode them into a throw-away directory themselves (evaluation fixtures are the
one place unmarked manipulated media may exist, and only there, only briefly); anything
the toolkit generates for users goes through :mod:`toolkit.output`, marked and signed.

* ``mouth_warp``: the lower lip and jaw are pulled open and shut at speech-like rates by
  a smooth displacement field around the mouth (a crude lip-sync).
* ``paste_other_frame``: every frame's face is replaced by the same person's face from
  another moment of the clip, aligned, colour-matched and feather-blended with the core
  paste-back (the compositing a reenactment generator's output goes through).
* ``paste_other_identity``: the same with a different person's face from another clip
  (a crude face swap).

Generator-made fakes (our GAN plugins) plug into the benchmark as files, see
``benchmarks/detection.py --fakes-dir``.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

MANIPULATIONS = ("mouth_warp", "paste_other_frame", "paste_other_identity")
ALIGN_SIZE = 256
ALIGN_PADDING = 0.5  # room for the forehead: the whole mesh hull must fit in the crop


def _mesh(face) -> np.ndarray | None:
    return None if face is None or face.mesh is None else face.mesh.points


def _main_face(frame):
    meshed = [f for f in frame.faces if f.mesh is not None]
    return max(meshed, key=lambda f: f.width * f.height) if meshed else None


def mouth_warp(frames: list, rng: np.random.Generator) -> list[np.ndarray]:
    """Open and close the mouth with a moving displacement field (frames: ``toolkit.faces.FrameFaces``)."""
    out = []
    rate = rng.uniform(2.5, 4.5)  # Hz, syllable rate
    phase = rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.10, 0.18)  # of the mouth width
    for frame in frames:
        img = frame.image
        face = _main_face(frame)
        if face is None:
            out.append(img.copy())
            continue
        pts = face.mesh.points
        width = float(np.linalg.norm(pts[61] - pts[291]))
        t = frame.time
        opening = amp * width * (0.5 + 0.5 * np.sin(2 * np.pi * rate * t + phase))
        # Pull the lower lip / chin down by `opening`, fading out with distance from the lower lip.
        centre = pts[[14, 17, 18, 200]].mean(axis=0)
        down = pts[152] - pts[10]
        down = down / max(np.linalg.norm(down), 1e-6)
        h, w = img.shape[:2]
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        sigma = 0.55 * width
        d2 = (xs - centre[0]) ** 2 + (ys - centre[1]) ** 2
        weight = np.exp(-d2 / (2 * sigma ** 2)).astype(np.float32)
        # Sample from *above* to move content down (inverse mapping).
        map_x = xs - down[0] * opening * weight
        map_y = ys - down[1] * opening * weight
        out.append(cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101))
    return out


def _paste(target_frame, donor_image: np.ndarray, donor_face) -> np.ndarray:
    from toolkit.faces import align_face, alignment_matrix, face_mask, paste_back

    target = _main_face(target_frame)
    if target is None or donor_face is None:
        return target_frame.image.copy()
    donor = align_face(donor_image, donor_face, size=ALIGN_SIZE, padding=ALIGN_PADDING)
    matrix = alignment_matrix(target, ALIGN_SIZE, padding=ALIGN_PADDING)
    mask = face_mask(target.mesh, (ALIGN_SIZE, ALIGN_SIZE), "hull", matrix)
    return paste_back(target_frame.image, donor.image, matrix, mask=mask, feather=0.08, color_match=True)


def paste_other_frame(frames: list, rng: np.random.Generator) -> list[np.ndarray]:
    """Each frame gets the face of the frame half a clip (at least ~1 s) away."""
    n = len(frames)
    offset = max(1, n // 2)
    out = []
    for i, frame in enumerate(frames):
        j = (i + offset) % n
        donor = frames[j]
        out.append(_paste(frame, donor.image, _main_face(donor)))
    return out


def paste_other_identity(frames: list, rng: np.random.Generator, donor_frames: list | None = None) -> list[np.ndarray]:
    """Each frame gets the face of another person (donor clip, played forwards and back)."""
    if not donor_frames:
        raise ValueError("paste_other_identity needs donor frames of another person")
    donors = [d for d in donor_frames if _main_face(d) is not None]
    if not donors:
        raise ValueError("the donor clip has no face with a mesh")
    cycle = donors + donors[-2:0:-1]  # ping-pong keeps the donor's motion continuous
    start = int(rng.integers(len(cycle)))
    out = []
    for i, frame in enumerate(frames):
        donor = cycle[(start + i) % len(cycle)]
        out.append(_paste(frame, donor.image, _main_face(donor)))
    return out


def manipulate(kind: str, frames: list, rng: np.random.Generator, donor_frames: list | None = None) -> list[np.ndarray]:
    """Apply manipulation ``kind`` (one of :data:`MANIPULATIONS`) to face-pass frames."""
    table: dict[str, Callable] = {"mouth_warp": mouth_warp, "paste_other_frame": paste_other_frame}
    if kind == "paste_other_identity":
        return paste_other_identity(frames, rng, donor_frames)
    if kind not in table:
        raise ValueError(f"unknown manipulation {kind!r}; one of {', '.join(MANIPULATIONS)}")
    return table[kind](frames, rng)
