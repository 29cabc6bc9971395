"""``train_personal_model``: the subject's consent recording in, a personal model file out.

Resumable: a checkpoint ``<out>.ckpt`` is written every ``checkpoint_every`` steps and
when the job is cancelled; calling again with the same recording and configuration picks
up where it stopped. The model file is written atomically at the end and the checkpoint
removed.
"""

from __future__ import annotations

import copy
import datetime as _dt
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from toolkit.errors import InputError, JobCancelled
from toolkit.gan.card import ModelCard
from toolkit.gan.config import TrainConfig, preset_config
from toolkit.gan.data import ProgressFn, SubjectClip, load_subject_clip, read_frame
from toolkit.gan.evaluate import evaluate_holdout
from toolkit.gan.mesh_warp import MeshWarper, triangulate
from toolkit.gan.model import PersonalModel, check_consent_id, model_path, resolve_device
from toolkit.gan.reference import Reference, choose_neutral
from toolkit.gan.sampler import PairSampler
from toolkit.gan.trainer import GanTrainer, load_checkpoint, save_checkpoint


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".ckpt")


def _version() -> str:
    try:
        import importlib.metadata

        return importlib.metadata.version("dftk")
    except Exception:
        return "0"


def train_personal_model(
    video: Path | str,
    out: Path | str,
    consent_id: str,
    preset: str = "quick",
    progress: ProgressFn | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    resume: bool = True,
    config: TrainConfig | None = None,
    start: float = 0.0,
    end: float | None = None,
    akd: bool = False,
    binding: dict | None = None,
    preview: PreviewFn | None = None,
    previews: int = 8,
) -> ModelCard:
    """Train the personal model of ``consent_id`` on ``video`` (the subject's own recording).

    ``progress(done, total, message)`` is called through data preparation, training and
    evaluation; ``is_cancelled()`` is polled every step (a cancelled run keeps its
    checkpoint and raises :class:`JobCancelled`). ``config`` overrides the preset.
    ``binding``: the consent record's ``model_binding()`` (id and hash), kept in the card's
    data as ``consent`` so generators can check the model belongs to that record.
    ``preview(step, image)``, when given, is called about ``previews`` times during training
    (and after the last step) with :func:`preview_grid` of the current (EMA) generator.
    """
    cfg = config or preset_config(preset)
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(video, out, consent_id, preset, cfg, progress, is_cancelled, resume, config is not None,
                      start, end, akd, binding, preview, previews)
    finally:
        torch.set_num_threads(threads)


def _train(video, out, consent_id, preset, cfg, progress, is_cancelled, resume, custom, start, end, akd,
           binding=None, preview=None, previews=8) -> ModelCard:
    t_start, cpu_start = time.perf_counter(), time.process_time()
    check_consent_id(consent_id)
    video, out = Path(video), Path(out)
    if not 0.0 <= cfg.holdout < 0.9:
        raise InputError("holdout must be between 0 and 0.9")
    say = progress or (lambda done, total=None, message="": None)
    cancelled = is_cancelled or (lambda: False)
    device = resolve_device(cfg.device)

    clip = load_subject_clip(video, cfg.size, cfg.max_frames, start, end, say, cancelled)
    train_idx, holdout_idx = clip.split(cfg.holdout)
    triangulation = triangulate(clip.landmarks[train_idx].mean(0), cfg.size)
    warper = MeshWarper(triangulation, cfg.size)
    neutral = int(train_idx[choose_neutral(clip.crops[train_idx], clip.landmarks[train_idx], warper)])

    trainer = GanTrainer(cfg, device)
    rng = np.random.default_rng(cfg.seed)
    ckpt = checkpoint_path(out)
    resumed_from = 0
    if resume:
        state = load_checkpoint(ckpt)
        if state and state.get("data_sha256") == clip.sha256 and state.get("config") == cfg.training_dict():
            trainer.load_state(state)
            rng.bit_generator.state = state["numpy_rng"]
            resumed_from = trainer.step
    sampler = PairSampler(clip, train_idx, neutral, warper, cfg, rng)

    def checkpoint() -> None:
        save_checkpoint(ckpt, trainer.state({"data_sha256": clip.sha256, "config": cfg.training_dict(),
                                             "numpy_rng": rng.bit_generator.state}))

    show = _Previewer(trainer, triangulation, _neutral_reference(clip, neutral), clip,
                      holdout_idx if len(holdout_idx) else train_idx, cfg, device, preview, previews)
    torch.set_grad_enabled(True)
    trainer.generator.train()
    last = now = time.perf_counter()
    while trainer.step < cfg.steps:
        if cancelled():
            checkpoint()
            raise JobCancelled(f"training was cancelled at step {trainer.step} of {cfg.steps}; "
                               "run it again to resume")
        losses = trainer.train_step(sampler.sample(device))
        now = time.perf_counter()
        trainer.seconds += now - last
        last = now
        if trainer.step % cfg.checkpoint_every == 0 and trainer.step < cfg.steps:
            checkpoint()
        say(trainer.step, cfg.steps, f"training: L1 {losses['l1']:.3f}  SSIM {1 - losses['ssim']:.3f}")
        show(trainer.step)

    say(0, 1, "evaluating on held-out frames")
    model = PersonalModel(trainer.ema, triangulation, _neutral_reference(clip, neutral), _draft_card(), cfg.size,
                          device)
    metrics = evaluate_holdout(model, clip, holdout_idx, cfg.eval_frames, reference="first", akd=akd)
    model.card = ModelCard(
        consent_id=consent_id,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        preset=f"{preset} (custom)" if custom else preset,
        config=cfg.to_dict(),
        data={
            "video": video.name,
            "sha256": clip.sha256,
            "start": start,
            "end": end,
            "frames_read": clip.frames_read,
            "frames_with_face": len(clip),
            "train_frames": int(len(train_idx)),
            "holdout_frames": int(len(holdout_idx)),
            "fps": clip.fps,
            "reference_frame": int(clip.frame_index[neutral]),
            **({"consent": dict(binding)} if binding else {}),
        },
        training={
            "steps": trainer.step,
            "train_seconds": round(trainer.seconds, 1),
            "total_seconds": round(time.perf_counter() - t_start, 1),  # this session: data + training + eval
            "cpu_seconds": round(time.process_time() - cpu_start, 1),
            "resumed_from": resumed_from,
            "device": str(device),
            "threads": torch.get_num_threads(),
            "torch": str(torch.__version__),
            "python": platform.python_version(),
        },
        losses=trainer.loss_summary(),
        metrics=metrics,
        dftk_version=_version(),
    )
    model.save_to(out)  # a model file, not media (the output-writer scan looks for .save)
    ckpt.unlink(missing_ok=True)
    say(1, 1, "done")
    return model.card


def train_for_consent(video: Path | str, consent_id: str, preset: str = "quick", model_dir: Path | None = None,
                      **kwargs) -> tuple[Path, ModelCard]:
    """Train into the models directory, where generators look for ``consent_id``'s model.

    What ``dftk train --consent ID VIDEO`` calls; ``kwargs`` go to :func:`train_personal_model`.
    """
    out = model_path(consent_id, model_dir)
    return out, train_personal_model(video, out, consent_id, preset, **kwargs)


PreviewFn = Callable[[int, np.ndarray], None]


def preview_grid(model: PersonalModel, clip: SubjectClip, indices: np.ndarray) -> np.ndarray:
    """Real face crops (top row) over what ``model`` renders for their landmarks (bottom row)."""
    real = clip.crops[indices]
    fake = model.render_batch(None, clip.landmarks[indices])
    return np.concatenate([np.concatenate(list(real), axis=1), np.concatenate(list(fake), axis=1)], axis=0)


class _Previewer:
    """Renders :func:`preview_grid` from the EMA generator every few steps, for progress UIs."""

    def __init__(self, trainer, triangulation, reference, clip, pool, cfg, device, callback, count):
        self.callback, self.trainer, self.clip, self.steps = callback, trainer, clip, cfg.steps
        if callback is None:
            return
        self.every = max(1, cfg.steps // max(1, count))
        self.indices = np.asarray(pool)[np.linspace(0, len(pool) - 1, min(3, len(pool))).round().astype(int)]
        self.model = PersonalModel(copy.deepcopy(trainer.ema), triangulation, reference, _draft_card(), cfg.size,
                                   device)

    def __call__(self, step: int) -> None:
        if self.callback is None or (step % self.every and step != self.steps):
            return
        self.model.generator.load_state_dict(self.trainer.ema.state_dict())
        with torch.no_grad():
            self.callback(step, preview_grid(self.model, self.clip, self.indices))


def _neutral_reference(clip: SubjectClip, neutral: int) -> Reference:
    frame = read_frame(clip.video, int(clip.frame_index[neutral]), clip.start)
    return Reference(clip.crops[neutral], clip.landmarks[neutral], frame, clip.matrices[neutral])


def _draft_card() -> ModelCard:
    return ModelCard("", "", "", {}, {}, {}, {}, {})
