"""A trained personal model: load it, render the subject's face, find it by consent ID.

The file is a ``torch.save`` dict of tensors and plain values (loaded with
``weights_only=True``, so a model file cannot run code): the EMA generator, the mesh
triangulation, the subject's neutral reference (crop, landmarks, full frame) and the
model card.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from toolkit.errors import InputError, ModelError
from toolkit.faces.geometry import transform_points
from toolkit.gan import landmarks as lmk
from toolkit.gan.card import FORMAT, ModelCard
from toolkit.gan.landmark_map import landmark_map
from toolkit.gan.mesh_warp import MeshWarper, Triangulation
from toolkit.gan.networks import Generator, GeneratorSpec
from toolkit.gan.reference import Reference, reference_from_frame
from toolkit.media.atomic import atomic_path

_CONSENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_consent_id(consent_id: str) -> str:
    if not isinstance(consent_id, str) or not _CONSENT_ID.match(consent_id) or ".." in consent_id:
        raise InputError(f"invalid consent ID {consent_id!r}")
    return consent_id


def models_dir(model_dir: Path | None = None) -> Path:
    if model_dir is not None:
        return Path(model_dir)
    from toolkit.paths import subdir

    return subdir("models")


def model_path(consent_id: str, model_dir: Path | None = None) -> Path:
    """Where the personal model of ``consent_id`` lives: ``<models>/<consent_id>.pt``."""
    return models_dir(model_dir) / f"{check_consent_id(consent_id)}.pt"


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [-1, 1]."""
    x = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) * (1 / 127.5) - 1.0
    return torch.from_numpy(x).to(device)


def to_images(t: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8 (numpy: torch's one-thread elementwise ops are slower)."""
    x = t.detach().cpu().numpy().transpose(0, 2, 3, 1)
    return np.clip(x * 127.5 + 128.0, 0, 255).astype(np.uint8)


class PersonalModel:
    """The subject's generator plus everything needed to drive it."""

    def __init__(self, generator: Generator, triangulation: Triangulation, reference: Reference,
                 card: ModelCard, size: int, device: torch.device | str = "cpu", threads: int | None = 1,
                 padding: float = lmk.PADDING):
        self.device = resolve_device(str(device)) if isinstance(device, str) else device
        # One CPU thread by default: a live session shares the cores with face tracking and
        # the web app, and OpenMP threads that cannot each get a core spin against each other.
        self.threads = threads
        # channels-last convolutions run ~1.6x faster on CPU for this network (measured).
        self._memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.generator = generator.to(self.device, memory_format=self._memory_format).eval()
        self.triangulation = triangulation
        self.warper = MeshWarper(triangulation, size)
        self.reference = reference
        self.card = card
        self.size = size
        self.padding = padding  # of the canonical crop (toolkit.faces template)

    # -- files -----------------------------------------------------------------------
    def save_to(self, path: Path | str) -> Path:
        """Write atomically (temp file beside ``path``, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ref = self.reference
        payload = {
            "format": FORMAT,
            "card": json.loads(json.dumps(self.card.to_dict())),  # plain types only: weights_only loads it
            "size": self.size,
            "alignment": {"padding": self.padding, "keypoints": list(lmk.ALIGN_KEYPOINTS)},
            "generator_spec": self.generator.spec.to_dict(),
            "generator": {k: v.detach().cpu().contiguous() for k, v in self.generator.state_dict().items()},
            "triangulation": {k: torch.from_numpy(np.asarray(v)) for k, v in self.triangulation.to_arrays().items()},
            "reference": {
                "crop": torch.from_numpy(ref.crop.copy()),
                "landmarks": torch.from_numpy(ref.landmarks.astype(np.float32)),
                "frame": torch.from_numpy(ref.frame.copy()) if ref.frame is not None else None,
                "matrix": torch.from_numpy(ref.matrix.astype(np.float32)) if ref.matrix is not None else None,
            },
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        return path

    @classmethod
    def load(cls, path: Path | str, device: str = "auto", threads: int | None = 1) -> "PersonalModel":
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated or not a torch file: one clear line, no traceback
            raise ModelError(f"{path.name}: not a readable dftk personal model ({type(exc).__name__})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelError(f"{path.name}: not a dftk personal model")
        try:
            gen = Generator(GeneratorSpec.from_dict(payload["generator_spec"]))
            gen.load_state_dict(payload["generator"])
            tri = payload["triangulation"]
            triangulation = Triangulation(tri["triangles"].numpy(), tri["cull"].numpy(), tri["orientation"].numpy())
            r = payload["reference"]
            reference = Reference(r["crop"].numpy(), r["landmarks"].numpy(),
                                  r["frame"].numpy() if r.get("frame") is not None else None,
                                  r["matrix"].numpy() if r.get("matrix") is not None else None)
            card = ModelCard.from_dict(payload["card"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise ModelError(f"{path.name}: damaged personal model ({type(exc).__name__}: {exc})") from None
        padding = float(payload.get("alignment", {}).get("padding", lmk.PADDING))
        return cls(gen, triangulation, reference, card, int(payload["size"]), device, threads, padding)

    @classmethod
    def for_consent(cls, consent_id: str, model_dir: Path | None = None, device: str = "auto",
                    threads: int | None = 1) -> "PersonalModel":
        """The model trained for ``consent_id``; a clear error when there is none yet."""
        path = model_path(consent_id, model_dir)
        if not path.is_file():
            raise ModelError(f"no personal model for consent {consent_id} in {path.parent}; "
                             f"train it first with dftk train --consent {consent_id}")
        model = cls.load(path, device, threads)
        if model.card.consent_id != consent_id:
            raise ModelError(f"{path.name} was trained for consent {model.card.consent_id}, not {consent_id}")
        return model

    @classmethod
    def for_generation(cls, consent_id: str, context: Any) -> "PersonalModel":
        """The model a generator run uses: :meth:`for_consent` on the run's device, then
        :meth:`check_record` against the verified record the core handed over."""
        model = cls.for_consent(consent_id, context.model_dir, context.device or "cpu")
        model.check_record(context.consent)
        return model

    def check_record(self, record) -> None:
        """Refuse this model for ``record`` when it was bound to another version of the record.

        ``dftk train`` keeps the record's ``model_binding()`` (id and hash) in the card's
        data; models trained without one are matched by consent ID alone (:meth:`for_consent`).
        """
        binding = self.card.data.get("consent")
        if binding and getattr(record, "sha256", None):
            from toolkit.consent import check_model_binding

            check_model_binding(binding, record, f"the personal model of {self.card.consent_id}")

    # -- rendering -------------------------------------------------------------------
    def reference_from_frame(self, frame: np.ndarray, landmarks: np.ndarray | None = None) -> Reference | None:
        """Use another frame of the subject as the reference (None when it shows no face).

        ``landmarks``: the frame's mesh in frame pixels, found when not given.
        """
        return reference_from_frame(frame, self.size, landmarks, self.padding)

    def to_crop(self, frame_landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A mesh in frame pixels -> (its landmarks in this model's crop space, frame->crop matrix)."""
        m = lmk.crop_matrix(frame_landmarks, self.size, self.padding)
        return transform_points(frame_landmarks[:, :2], m).astype(np.float32), m.astype(np.float32)

    def warp_only(self, reference: Reference | None, target_landmarks: np.ndarray) -> np.ndarray:
        """The baseline the generator refines: the reference crop warped to the target mesh."""
        ref = reference or self.reference
        return self.warper.warp(ref.crop, ref.landmarks, target_landmarks)

    @torch.inference_mode()
    def render_batch(self, reference: Reference | None, targets: np.ndarray) -> np.ndarray:
        """(N, 478, 2) target landmarks (crop pixels) -> (N, S, S, 3) uint8 face crops."""
        ref = reference or self.reference
        warped = np.stack([self.warper.warp(ref.crop, ref.landmarks, t) for t in targets])
        maps = np.stack([landmark_map(t, self.size) for t in targets])
        with _torch_threads(self.threads if self.device.type == "cpu" else None):
            fmt = self._memory_format
            out = self.generator(to_tensor(warped, self.device).contiguous(memory_format=fmt),
                                 torch.from_numpy(maps).to(self.device).contiguous(memory_format=fmt))
        return to_images(out)

    def render(self, reference: Reference | None, target_landmarks: np.ndarray) -> np.ndarray:
        """The subject's face crop (S, S, 3) uint8 with ``target_landmarks`` (478, 2, crop pixels).

        ``reference`` None uses the neutral reference stored in the model.
        """
        return self.render_batch(reference, np.asarray(target_landmarks)[None])[0]

    def paste(self, face: np.ndarray, target_landmarks: np.ndarray, reference: Reference | None = None,
              frame: np.ndarray | None = None, matrix: np.ndarray | None = None,
              color_match: bool | None = None) -> np.ndarray:
        """Blend a rendered crop back into a full frame (default: the reference's own frame).

        Colour matching is off by default when pasting into the reference's own frame: the
        face was rendered from that very frame, so its colours already agree (and matching
        costs more than rendering on a 2-core CPU).
        """
        ref = reference or self.reference
        own = frame is None
        frame = ref.frame if frame is None else frame
        matrix = ref.matrix if matrix is None else matrix
        if frame is None or matrix is None:
            raise InputError("this reference has no full frame to paste the face into")
        match = (not own) if color_match is None else color_match
        return paste_face(frame, matrix, face, target_landmarks, ref.landmarks, color_match=match)


@contextlib.contextmanager
def _torch_threads(n: int | None):
    old = torch.get_num_threads()
    if not n or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def paste_face(frame: np.ndarray, matrix: np.ndarray, face: np.ndarray, target_landmarks: np.ndarray,
               reference_landmarks: np.ndarray | None = None, grow: float = 0.12,
               color_match: bool = True) -> np.ndarray:
    """Paste a canonical-space face crop into ``frame`` (``matrix``: frame -> crop).

    The mask covers the target face and, when given, the reference face it replaces
    (a face that closes its mouth must also cover the reference's lower chin).
    """
    size = face.shape[0]
    mask = lmk.region_mask(target_landmarks, size, grow)
    if reference_landmarks is not None:
        mask = np.maximum(mask, lmk.region_mask(reference_landmarks, size, grow))
    return lmk.paste(frame, face, matrix, mask, color_match)
