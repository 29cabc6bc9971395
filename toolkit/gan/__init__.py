"""The personal GAN core: one model per consenting subject, shared by every generator.

A subject's model renders the subject's face in the canonical aligned crop given a
reference view of the subject and target landmarks (478-point mesh, crop pixels).
Reenactment, lip-sync and face swap differ only in where the target landmarks come from.

    card = train_personal_model(video, out, consent_id, preset="quick")
    model = PersonalModel.load(out)
    face = model.render(None, target_landmarks)      # None: the stored neutral reference
    frame = model.paste(face, target_landmarks)      # back into the reference's full frame
"""

from toolkit.gan.card import ModelCard
from toolkit.gan.config import PRESETS, TrainConfig, preset_config
from toolkit.gan.model import PersonalModel, model_path, paste_face
from toolkit.gan.reenact import ReenactSession, reenact_frames, relative_motion
from toolkit.gan.reference import Reference
from toolkit.gan.progress import console_progress
from toolkit.gan.train import checkpoint_path, train_for_consent, train_personal_model

__all__ = [
    "ModelCard",
    "PRESETS",
    "PersonalModel",
    "ReenactSession",
    "Reference",
    "TrainConfig",
    "checkpoint_path",
    "console_progress",
    "model_path",
    "paste_face",
    "preset_config",
    "reenact_frames",
    "relative_motion",
    "train_for_consent",
    "train_personal_model",
]
