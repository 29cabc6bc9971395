"""Face swap: the subject's personal model follows a destination person and replaces their face.

Per destination frame (``SwapRenderer.render``):

1. **Motion.** The destination's mesh (one-euro filtered, :mod:`toolkit.gan.tracking`) in
   its own canonical crop, minus the destination's typical face (the per-point median
   over the clip), is added to the subject's neutral mesh (:func:`relative_motion`): the
   destination's expressions, gaze, jaw and head turns reach the subject, the
   destination's face shape does not.
2. **Render** that mesh with the subject's model from its stored neutral reference.
3. **Place.** The canonical crop removes in-plane motion (translation, scale, roll), so the
   rendering is put back with the *destination face's* alignment: the destination's
   frame-to-crop matrix maps the subject's canonical eyes and nose onto the destination's
   eyes and nose in the frame.
4. **Colour.** The rendering is moved to the destination face's LAB mean and standard
   deviation (Reinhard transfer), measured where both faces overlap; the statistics are
   averaged over frames (EMA), so the face follows the destination's lighting without
   flickering with tracker noise.
5. **Blend** through the subject's face-oval mask, feathered (:func:`toolkit.faces.paste_back`).
"""

from __future__ import annotations

import cv2
import numpy as np

from toolkit import faces
from toolkit.gan import landmarks as lmk
from toolkit.gan.model import PersonalModel
from toolkit.gan.reenact import relative_motion

COLOR_EMA = 0.2  # weight of the newest frame's colour statistics
MASK_GROW = 0.02  # the subject's face oval, grown a little about its centre
STATS_SHRINK = -0.12  # colour statistics from the overlap of both faces, shrunk: no hair or background
FEATHER = 0.1


def destination_neutral(crop_meshes: list[np.ndarray]) -> np.ndarray:
    """The destination's typical face: per-point median of its canonical-crop meshes.

    A median over the clip rather than its first frame: a clip that starts mid-word or
    mid-blink would otherwise make the subject's mouth close when the destination's opens.
    """
    if not crop_meshes:
        raise ValueError("no destination meshes")
    return np.median(np.stack(crop_meshes), axis=0).astype(np.float32)


class ColorMatcher:
    """Reinhard colour transfer in LAB with exponentially averaged statistics."""

    def __init__(self, ema: float = COLOR_EMA):
        self.ema = ema
        self._src: np.ndarray | None = None  # (2, 3): mean, std of the rendering
        self._dst: np.ndarray | None = None  # (2, 3): mean, std of the destination face

    @staticmethod
    def _stats(lab: np.ndarray, inside: np.ndarray) -> np.ndarray:
        px = lab[inside]
        return np.stack([px.mean(axis=0), px.std(axis=0)])

    def _update(self, old: np.ndarray | None, new: np.ndarray) -> np.ndarray:
        return new if old is None else (1 - self.ema) * old + self.ema * new

    def __call__(self, face: np.ndarray, destination: np.ndarray, mask: np.ndarray) -> np.ndarray:
        inside = mask > 0.5
        if inside.sum() < 64:
            return face
        src = cv2.cvtColor(face.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        dst = cv2.cvtColor(destination.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        self._src = self._update(self._src, self._stats(src, inside))
        self._dst = self._update(self._dst, self._stats(dst, inside))
        gain = np.clip(self._dst[1] / np.maximum(self._src[1], 1e-3), 0.3, 3.0)
        out = (src - self._src[0]) * gain + self._dst[0]
        rgb = cv2.cvtColor(out.astype(np.float32), cv2.COLOR_LAB2RGB)
        return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)

    def reset(self) -> None:
        self._src = self._dst = None


class SwapRenderer:
    """``render(frame, mesh) -> frame`` with the subject's face in place of the destination's."""

    def __init__(self, model: PersonalModel, neutral: np.ndarray):
        self.model = model
        self.neutral = neutral  # the destination's typical face, its canonical-crop pixels
        self.colors = ColorMatcher()

    def target(self, mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(subject mesh to render, destination mesh, destination frame->crop matrix), crop pixels."""
        dest, matrix = self.model.to_crop(mesh)
        return relative_motion(self.model.reference.landmarks, self.neutral, dest), dest, matrix

    def render(self, frame: np.ndarray, mesh: np.ndarray | None) -> np.ndarray:
        """``frame`` with the subject's face; frames without a destination face come back unchanged."""
        if mesh is None:
            return frame
        size = self.model.size
        target, dest, matrix = self.target(mesh)
        face = self.model.render(None, target)
        mask = lmk.region_mask(target, size, MASK_GROW)
        skin = mask * lmk.region_mask(dest, size, STATS_SHRINK)
        face = self.colors(face, faces.warp_to_crop(frame, matrix, size), skin)
        return faces.paste_back(frame, face, matrix, mask, feather=FEATHER, color_match=False)
