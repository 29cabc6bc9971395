"""Train the blending-boundary CNN on self-blended images of real faces (``dftk train-detector blend``).

Only real video or photos go in: every frame's face (from the shared face pass) becomes a
:class:`~toolkit.detection.sbi.RealFace`, and each training step draws fresh self-blended
pairs from them (:func:`toolkit.detection.sbi.self_blend`) in a worker process while the
network trains. Sources are sampled evenly (one long clip must not drown the others).
The last 15 % of each clip's faces (and nothing of a still photo) are held out to measure
how well the network separates real crops from self-blended ones it never trained on.
The weights, the configuration and a training record (data, steps, time, losses,
validation AUC) go into one ``.pt`` file; :func:`write_model_card` writes the card beside it.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from toolkit.detection.sbi import RealFace, self_blend
from toolkit.errors import InputError, JobCancelled, NoFaceError
from toolkit.media import IMAGE_SUFFIXES

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
Progress = Callable[[int, "int | None", str], None]


@dataclass
class TrainConfig:
    steps: int = 1500
    batch_pairs: int = 24  # each pair is one real and one fake crop
    lr: float = 2e-3
    weight_decay: float = 1e-4
    map_weight: float = 1.0
    input_size: int = 128
    max_minutes: float | None = None  # stop early when the wall-clock budget is spent
    init_from: str | None = None  # continue from these BlendNet weights (their record is kept)
    seed: int = 0
    val_fraction: float = 0.15
    max_faces_per_clip: int = 600

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class FaceSet:
    train: list[RealFace] = field(default_factory=list)
    val: list[RealFace] = field(default_factory=list)
    sources: dict[str, dict] = field(default_factory=dict)  # per file: faces, frames, kind

    @property
    def train_sources(self) -> list[str]:
        return sorted({f.source for f in self.train})


def find_media(folder: Path) -> list[Path]:
    """Videos and images in ``folder`` (recursively), sorted."""
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if folder.is_file():
        return [folder]
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES | IMAGE_SUFFIXES]
    if not files:
        raise InputError(f"{folder}: no videos or images found")
    return files


def collect_faces(paths: list[Path], val_fraction: float = 0.15, max_faces_per_clip: int = 600,
                  progress: Progress | None = None, is_cancelled: Callable[[], bool] | None = None) -> FaceSet:
    """Run the shared face pass over each file; keep every meshed face as a RealFace."""
    from toolkit.faces import FacePipeline
    from toolkit.media import probe

    out = FaceSet()
    pipeline = FacePipeline(keep_images=True)
    for n, path in enumerate(paths):
        faces: list[RealFace] = []
        try:
            info = probe(path)
            stride = 1
            if not info.is_image and info.video and info.video.frame_count > max_faces_per_clip:
                stride = math.ceil(info.video.frame_count / max_faces_per_clip)
            for i, frame in enumerate(pipeline.run(path)):
                if is_cancelled and is_cancelled():
                    raise JobCancelled("the job was cancelled")
                if i % stride:
                    continue
                for face in frame.faces:
                    if face.mesh is not None and face.width >= 40:
                        faces.append(RealFace.from_frame(frame.image, face.mesh.points, path.name))
        except InputError as exc:  # an unreadable file is skipped and recorded, not fatal
            out.sources[path.name] = {"faces": 0, "skipped": exc.message}
            continue
        if info.is_image or len(faces) < 8:
            out.train.extend(faces)
            n_val = 0
        else:
            n_val = max(1, int(round(len(faces) * val_fraction)))
            out.train.extend(faces[:-n_val])
            out.val.extend(faces[-n_val:])
        out.sources[path.name] = {"faces": len(faces), "val_faces": n_val, "kind": "image" if info.is_image else "video"}
        if progress:
            progress(n + 1, len(paths), f"faces from {path.name}")
    if not out.train:
        raise NoFaceError("no usable faces (with a face mesh, at least 40 px wide) in the training data")
    return out


class _PairStream:
    """Self-blended batches made on a background thread while the network trains.

    A thread, not a worker process: OpenCV and NumPy release the GIL for the heavy work,
    and forking a process after MediaPipe/OpenMP started their threads can deadlock."""

    def __init__(self, faces: list[RealFace], batch_pairs: int, size: int, seed: int, prefetch: int = 4):
        import queue
        import threading

        self.faces = faces
        self.batch_pairs = batch_pairs
        self.size = size
        by_source: dict[str, list[int]] = {}
        for i, f in enumerate(faces):
            by_source.setdefault(f.source, []).append(i)
        self.groups = list(by_source.values())
        self.rng = np.random.default_rng(seed)
        self.queue: "queue.Queue" = queue.Queue(maxsize=prefetch)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sbi-pairs", daemon=True)
        self.thread.start()

    def _batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reals, fakes, maps = [], [], []
        for _ in range(self.batch_pairs):
            group = self.groups[int(self.rng.integers(len(self.groups)))]
            face = self.faces[group[int(self.rng.integers(len(group)))]]
            r, f, m = self_blend(face, self.rng, self.size)
            reals.append(r)
            fakes.append(f)
            maps.append(m)
        return np.stack(reals), np.stack(fakes), np.stack(maps)

    def _run(self) -> None:
        import queue

        try:
            while not self.stop.is_set():
                batch = self._batch()
                while not self.stop.is_set():
                    try:
                        self.queue.put(batch, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # surfaced in next()
            self.error = exc

    def next(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import queue

        while True:
            if self.error is not None:
                raise self.error
            try:
                return self.queue.get(timeout=0.5)
            except queue.Empty:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def validation_pairs(faces: list[RealFace], size: int, seed: int = 1234, per_face: int = 2) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    reals, fakes = [], []
    for face in faces:
        for _ in range(per_face):
            r, f, _ = self_blend(face, rng, size)
            reals.append(r)
            fakes.append(f)
    return reals, fakes


def _lr_factor(done: float) -> float:
    """Linear warm-up over the first 5 %, then cosine decay to 2 % of the peak."""
    if done < 0.05:
        return 0.1 + 0.9 * done / 0.05
    t = (done - 0.05) / 0.95
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))


def _previous_steps(previous: dict | None) -> int:
    total = 0
    while previous:
        total += int(previous.get("steps") or 0)
        previous = previous.get("previous")
    return total


def train_blend(
    data: Path | list[Path],
    out: Path,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Train BlendNet on self-blended pairs from the real faces in ``data``; save to ``out``.

    Returns the training record (also stored inside the checkpoint)."""
    import torch
    import torch.nn.functional as F
    from sklearn.metrics import roc_auc_score

    from toolkit.detection.blendnet import BlendNet, BlendNetConfig, predict, save_checkpoint, to_tensor

    config = config or TrainConfig()
    paths = data if isinstance(data, list) else find_media(Path(data))
    started = time.time()
    faces = collect_faces(paths, config.val_fraction, config.max_faces_per_clip, progress, is_cancelled)
    collect_s = time.time() - started
    torch.manual_seed(config.seed)
    previous = None
    if config.init_from:
        from toolkit.detection.blendnet import load_checkpoint

        ckpt = load_checkpoint(config.init_from)
        if ckpt.config.input_size != config.input_size:
            raise InputError(f"{Path(config.init_from).name} was trained on {ckpt.config.input_size} px crops, "
                             f"not {config.input_size}")
        model = ckpt.model
        previous = {"sha256": ckpt.sha256, "steps": ckpt.record.get("steps"),
                    "samples_seen": ckpt.record.get("samples_seen"), "seconds": ckpt.record.get("seconds"),
                    "validation_self_blended": ckpt.record.get("validation_self_blended"),
                    "previous": ckpt.record.get("initialized_from")}
    else:
        model = BlendNet(BlendNetConfig(input_size=config.input_size))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    budget_s = config.max_minutes * 60 if config.max_minutes else None
    stream = _PairStream(faces.train, config.batch_pairs, config.input_size, config.seed)
    history: list[dict] = []
    ema_loss = ema_acc = None
    train_start = time.time()
    steps_done = 0
    stop_reason = "steps"
    model.train()
    try:
        for step in range(config.steps):
            # Schedule on whichever budget (steps or wall clock) runs out first, so a
            # time-limited run still ends with a fully decayed learning rate.
            done = step / config.steps
            if budget_s:
                done = max(done, (time.time() - train_start) / budget_s)
            if done >= 1.0:
                stop_reason = "time budget"
                break
            for group in opt.param_groups:
                group["lr"] = config.lr * _lr_factor(done)
            reals, fakes, maps = stream.next()
            if is_cancelled and is_cancelled():
                raise JobCancelled("the job was cancelled")
            x = torch.cat([to_tensor(reals), to_tensor(fakes)])
            y = torch.cat([torch.zeros(len(reals)), torch.ones(len(fakes))])
            target_map = torch.from_numpy(np.concatenate([np.zeros_like(maps), maps])).float()
            logit, map_logit = model(x)
            cls_loss = F.binary_cross_entropy_with_logits(logit, y)
            map_loss = F.binary_cross_entropy_with_logits(map_logit, target_map)
            loss = cls_loss + config.map_weight * map_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps_done = step + 1
            acc = float(((logit > 0).float() == y).float().mean())
            ema_loss = cls_loss.item() if ema_loss is None else 0.95 * ema_loss + 0.05 * cls_loss.item()
            ema_acc = acc if ema_acc is None else 0.95 * ema_acc + 0.05 * acc
            if steps_done % 25 == 0 or steps_done == 1:
                entry = {"step": steps_done, "seconds": round(time.time() - train_start, 1),
                         "cls_loss": round(ema_loss, 4), "map_loss": round(map_loss.item(), 4),
                         "train_acc": round(ema_acc, 4), "lr": round(opt.param_groups[0]["lr"], 6)}
                history.append(entry)
                if log:
                    log(json.dumps(entry))
            if progress:
                progress(steps_done, config.steps, "training")
    finally:
        stream.close()
    train_s = time.time() - train_start

    model.eval()
    val = {}
    if faces.val:
        reals, fakes = validation_pairs(faces.val, config.input_size)
        p_real, _ = predict(model, reals)
        p_fake, _ = predict(model, fakes)
        labels = np.r_[np.zeros(len(p_real)), np.ones(len(p_fake))]
        scores = np.r_[p_real, p_fake]
        val = {"pairs": len(reals), "auc": round(float(roc_auc_score(labels, scores)), 4),
               "acc_at_0.5": round(float(((scores > 0.5) == labels).mean()), 4),
               "mean_p_real": round(float(p_real.mean()), 4), "mean_p_fake": round(float(p_fake.mean()), 4)}
    record = {
        "method": "self-blended images (Shiohara & Yamasaki, CVPR 2022) + boundary map head (Li et al. 2020)",
        "trained_by": "dftk train-detector blend",
        "data": {"files": faces.sources, "train_faces": len(faces.train), "val_faces": len(faces.val)},
        "config": config.to_dict(),
        "steps": steps_done,
        "total_steps": steps_done + _previous_steps(previous),
        "initialized_from": previous,
        "stopped_by": stop_reason,
        "samples_seen": steps_done * config.batch_pairs * 2,
        "seconds": {"face_pass": round(collect_s, 1), "training": round(train_s, 1)},
        "history": history,
        "validation_self_blended": val,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": str(torch.__version__),
                    "threads": torch.get_num_threads()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    save_checkpoint(out, model, record)
    return record


def _chain(record: dict) -> list[dict]:
    out, prev = [record], record.get("initialized_from")
    while prev:
        out.append(prev)
        prev = prev.get("previous")
    return out


def _chain_length(record: dict) -> int:
    return len(_chain(record))


def _total_training_minutes(record: dict) -> float:
    return sum(float((r.get("seconds") or {}).get("training", 0.0)) for r in _chain(record)) / 60


def write_blend_card(weights: Path, record: dict, note: str | None = None) -> None:
    """The blend detector's model card, from its training record (``note``: who is in the data)."""
    from toolkit.detection.model_card import read_card, write_card

    files = record["data"]["files"]
    videos = [k for k, v in files.items() if v.get("kind") == "video"]
    photos = [k for k, v in files.items() if v.get("kind") == "image"]
    faces = sum(v.get("faces", 0) for v in files.values())
    card = {
        "name": "sbi_blend (BlendNet, self-blended images)",
        "summary": ("A small CNN (BlendNet, ~0.29 M parameters, 128 px face crops) that scores how likely a face "
                    "crop contains a blending boundary, trained only on real faces and self-blended copies of them."),
        "intended_use": [
            "One signal among several in `dftk detect`; it flags face-swap and face-paste style composites.",
            "Not a verdict on its own; it says nothing about fully synthetic frames without a blend.",
        ],
        "limitations": [
            f"Trained on {faces} face crops from {len(videos)} video clip(s) and {len(photos)} photo(s) "
            f"({', '.join(sorted(files))}){': ' + note if note else ''}. It has not seen the variety of "
            "ages, skin tones, lighting, cameras and compression found in real use; expect false positives "
            "and misses on other footage.",
            f"Trained from scratch on a shared 2-core CPU: {record.get('total_steps', record['steps'])} steps of "
            f"{2 * record['config']['batch_pairs']} crops in {_total_training_minutes(record):.0f} minutes over "
            f"{_chain_length(record)} run(s) chained with --init-from, not for days on FF++ with an ImageNet-initialised "
            "EfficientNet-B4 like the published SBI models; its accuracy is far below published SBI numbers.",
            "Scores are not calibrated probabilities across domains; the suite's fusion calibrates them on the "
            "benchmark's training split.",
        ],
        "weights": {"file": Path(weights).name, "size_bytes": Path(weights).stat().st_size, "format": "dftk-blendnet-1 (float16)"},
        "training": {k: record.get(k) for k in ("method", "trained_by", "config", "steps", "total_steps",
                                                 "initialized_from", "stopped_by", "samples_seen", "seconds",
                                                 "machine", "finished")},
        "data": record["data"],
        "validation_self_blended": record.get("validation_self_blended", {}),
        "history": record.get("history", []),
    }
    old = read_card(weights)
    if "benchmark" in old:  # keep the benchmark's section across retraining only if it says so
        card["benchmark_previous_weights"] = old["benchmark"]
    write_card(weights, card)
