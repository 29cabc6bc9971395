"""Lip-sync rendering: the subject's own frame, with the mouth re-rendered by their personal model.

Per frame: the frame's mesh goes into the model's canonical crop (:meth:`PersonalModel.to_crop`);
:func:`toolkit.lipsync.apply_mouth` moves lips and jaw to the requested mouth parameters;
the model renders the face with *that frame* as its reference (so lighting, pose and
everything above the mouth already agree), and only the lower face is pasted back: the
face oval below the nose, of the frame's face and of the new one (a jaw that opens must
cover the new chin, one that closes the old one), feathered at its edges and faded in
between the nose and the upper lip.

Source-frame order (:func:`pingpong_index`): when the new speech is longer than the clip,
the clip plays forwards, backwards, forwards... A plain loop would jump from the last
frame to the first (a visible cut in head position); a ping-pong never jumps, at the cost
of motion that reverses (hardly visible on a subject who mostly sits still).
"""

from __future__ import annotations

import numpy as np

from toolkit import faces
from toolkit.gan import landmarks as lmk
from toolkit.gan.model import PersonalModel
from toolkit.gan.reference import Reference

# Mesh points the blend fades between: the bottom of the nose (subnasale) and the top of
# the upper lip. Above the first nothing changes, below the second the rendering is used.
SUBNASALE = 2
UPPER_LIP_TOP = 0
MASK_GROW = 0.06  # the face oval, grown about its centre (covers the jaw line itself)
FEATHER = 0.06  # soft edge, fraction of the mask size (toolkit.faces.paste_back)


def pingpong_index(k: int, n: int) -> int:
    """Source frame for output frame ``k`` of a clip of ``n`` frames played back and forth."""
    if n <= 1:
        return 0
    period = 2 * (n - 1)
    p = k % period
    return p if p < n else period - p


def lower_face_mask(size: int, *meshes: np.ndarray) -> np.ndarray:
    """Float mask (crop pixels): the union of the meshes' face ovals below the nose, faded
    in between the bottom of the nose and the top of the upper lip."""
    oval = np.max([lmk.region_mask(m, size, MASK_GROW) for m in meshes], axis=0)
    top = min(float(m[SUBNASALE, 1]) for m in meshes)
    full = min(float(m[UPPER_LIP_TOP, 1]) for m in meshes)
    full = max(full, top + 1.0)
    rows = np.clip((np.arange(size, dtype=np.float32) - top) / (full - top), 0.0, 1.0)
    rows = rows * rows * (3 - 2 * rows)  # smoothstep: no kink where the fade starts
    return (oval * rows[:, None]).astype(np.float32)


class MouthRenderer:
    """Re-render the mouth of the subject's own frames: ``render(frame, mesh, params) -> frame``."""

    def __init__(self, model: PersonalModel):
        self.model = model

    def targets(self, mesh: np.ndarray, params: np.ndarray) -> tuple[Reference, np.ndarray]:
        """The frame's reference view (crop not filled in) and the mesh showing ``params``, crop pixels."""
        from toolkit.lipsync import apply_mouth

        landmarks, matrix = self.model.to_crop(mesh)
        # The frame is its own rest face: width is relative to it, opening absolute.
        target = apply_mouth(landmarks, np.asarray(params, np.float64), neutral=landmarks).astype(np.float32)
        return Reference(np.empty(0, np.uint8), landmarks, None, matrix), target

    def render(self, frame: np.ndarray, mesh: np.ndarray, params: np.ndarray) -> np.ndarray:
        """``frame`` (RGB) with its mouth moved to ``params`` (open, width, protrude).

        ``mesh``: the frame's 478-point mesh in frame pixels (None: the frame is returned as is).
        """
        if mesh is None:
            return frame
        size = self.model.size
        ref, target = self.targets(mesh, params)
        ref.crop = faces.warp_to_crop(frame, ref.matrix, size)
        ref.frame = frame
        face = self.model.render(ref, target)
        mask = lower_face_mask(size, ref.landmarks, target)
        # Rendered from this very frame: its colours already agree, no colour matching.
        return faces.paste_back(frame, face, ref.matrix, mask, feather=FEATHER, color_match=False)
