"""Learned per-person audio -> mouth model, trained on the subject's own consent recording.

Input: a Wav2Lip-style log-mel window (80 bands x 16 steps = 0.2 s at 16 kHz, hop 200)
centred on each video frame. Output: the frame's mouth parameters (open, width,
protrude). Targets come from the recording's frames: either mouth parameters or the
face-mesh landmarks measured on them (converted with
:func:`toolkit.lipsync.landmarks.mouth_params_from_landmarks`).

The model is small (~60 k parameters) because a consent recording holds tens of
seconds of speech, not hours: it learns this one voice's sound-to-mouth mapping. The
last ``VALIDATION_SHARE`` of the recording is held out; training keeps the weights with
the best held-out loss, and the report compares the held-out correlation of the mouth
opening with that of the training-free envelope path, so callers can tell whether the
model is worth using.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from toolkit.errors import InputError, JobCancelled, ModelError
from toolkit.lipsync.envelope import envelope_params, speech_activity
from toolkit.lipsync.features import MEL_STEPS, N_MELS, log_mel, mel_windows
from toolkit.lipsync.params import OPEN, clip_params, frame_count
from toolkit.media.atomic import atomic_path

FORMAT = "dftk-lipsync-audio2mouth"
FORMAT_VERSION = 1
VALIDATION_SHARE = 0.2
MIN_SPEECH_FRAMES = 100  # ~4 s at 25 fps: less cannot teach a mapping
LOSS_WEIGHTS = (2.0, 1.0, 1.0)  # opening matters most for lip-sync
HIDDEN = 64
GAIN_PERCENTILE = 95  # clip loudness reference, so recording level does not matter


@dataclass
class TrainingReport:
    steps: int
    best_step: int
    train_frames: int
    validation_frames: int
    train_loss: float
    validation_loss: float
    validation_open_corr: float  # held-out Pearson r of predicted vs true opening
    envelope_open_corr: float  # the same for the training-free envelope path
    seconds: float

    @property
    def beats_envelope(self) -> bool:
        return self.validation_open_corr > self.envelope_open_corr


def _build_net():
    from torch import nn

    # Mel bands are the channels of a temporal 1-D CNN: ~0.4 M multiply-adds per window,
    # so a few thousand steps train in seconds on a laptop CPU.
    return nn.Sequential(
        nn.Conv1d(N_MELS, HIDDEN, 3, padding=1), nn.ReLU(),  # 16 steps
        nn.Conv1d(HIDDEN, HIDDEN, 3, padding=1, stride=2), nn.ReLU(),  # 8
        nn.Conv1d(HIDDEN, HIDDEN, 3, padding=1, stride=2), nn.ReLU(),  # 4
        nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(HIDDEN * (MEL_STEPS // 4), 64), nn.ReLU(),
        nn.Linear(64, 3),
    )


def _normalised_windows(samples: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    mel = log_mel(samples, rate)
    if mel.shape[1] == 0:
        raise InputError("the audio is empty")
    mel = mel - np.percentile(mel.mean(axis=0), GAIN_PERCENTILE)
    return mel_windows(mel, n_frames, fps)


@contextmanager
def _single_thread(device):
    """Run a tiny CPU model on one thread: with batches this small, torch's intra-op
    threads cost more in synchronisation than they save (25x slower on a busy 2-core box)."""
    import torch

    if str(device).startswith("cuda"):
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


class AudioToMouth:
    """A trained audio -> mouth-parameter model (see :func:`train_audio_to_mouth`)."""

    def __init__(self, net, band_mean: np.ndarray, band_std: np.ndarray, report: TrainingReport | None = None, name: str = ""):
        self.net = net.eval()
        self.band_mean = np.asarray(band_mean, np.float32)
        self.band_std = np.asarray(band_std, np.float32)
        self.report = report
        self.name = name

    def _input(self, windows: np.ndarray):
        import torch

        x = (windows - self.band_mean[None, :, None]) / self.band_std[None, :, None]
        return torch.from_numpy(np.ascontiguousarray(x, np.float32))

    def predict(self, samples: np.ndarray, rate: int, fps: float, n_frames: int | None = None) -> np.ndarray:
        """Mouth parameters ``(n_frames, 3)`` for audio ``samples`` at video ``fps``."""
        import torch

        n = n_frames if n_frames is not None else frame_count(len(samples) / rate, fps)
        x = self._input(_normalised_windows(samples, rate, fps, n))
        device = next(self.net.parameters()).device
        out = []
        with torch.inference_mode(), _single_thread(device):
            for start in range(0, len(x), 1024):
                out.append(self.net(x[start : start + 1024].to(device)).cpu().numpy())
        return clip_params(np.concatenate(out) if out else np.zeros((0, 3), np.float32))

    def save(self, path: Path | str) -> Path:
        """Write the model atomically (temp file in the same folder, then rename)."""
        return self.save_to(path)

    def save_to(self, path: Path | str) -> Path:
        """:meth:`save` under a name the output-writer scan does not read as a media write."""
        import torch

        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save(
                {
                    "format": FORMAT,
                    "version": FORMAT_VERSION,
                    "name": self.name,
                    "state_dict": {k: v.cpu() for k, v in self.net.state_dict().items()},
                    "band_mean": torch.from_numpy(self.band_mean),
                    "band_std": torch.from_numpy(self.band_std),
                    "report": asdict(self.report) if self.report else None,
                },
                tmp,
            )
        return path

    @classmethod
    def load(cls, path: Path | str, device: str = "cpu") -> "AudioToMouth":
        import torch

        path = Path(path)
        if not path.is_file():
            raise ModelError(f"lip-sync model not found: {path}")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            if blob.get("format") != FORMAT or blob.get("version") != FORMAT_VERSION:
                raise ValueError("not a dftk lip-sync model")
            net = _build_net()
            net.load_state_dict(blob["state_dict"])
        except Exception as err:  # any unreadable/foreign file: one clear message
            raise ModelError(f"cannot load lip-sync model {path.name}: {err}") from None
        report = TrainingReport(**blob["report"]) if blob.get("report") else None
        return cls(net.to(device), blob["band_mean"].numpy(), blob["band_std"].numpy(), report, blob.get("name", ""))


def _targets(targets: np.ndarray, neutral: np.ndarray | None) -> np.ndarray:
    t = np.asarray(targets, np.float64)
    if t.ndim == 2 and t.shape[1] == 3:
        return t.astype(np.float32)
    if t.ndim == 3 and t.shape[1] in (468, 478) and t.shape[2] in (2, 3):
        from toolkit.lipsync.landmarks import mouth_params_from_landmarks
        from toolkit.lipsync.sync import mouth_aperture

        if neutral is None:  # the most closed frame stands in for the rest face
            apertures = np.array([mouth_aperture(x) if np.all(np.isfinite(x)) else np.inf for x in t])
            if not np.isfinite(apertures).any():
                raise InputError("no frame of the recording has face landmarks")
            neutral = t[int(np.argmin(apertures))]
        return mouth_params_from_landmarks(t, neutral).astype(np.float32)
    raise InputError(f"training targets must be (frames, 3) mouth parameters or (frames, 478, 2|3) landmarks, got {t.shape}")


def train_audio_to_mouth(
    samples: np.ndarray,
    rate: int,
    fps: float,
    targets: np.ndarray,
    neutral: np.ndarray | None = None,
    steps: int = 1500,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    device: str | None = None,
    name: str = "",
    progress: Callable[[int, int | None], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> AudioToMouth:
    """Train the per-person model on a recording and its per-frame mouth targets.

    ``samples``/``rate``: the recording's audio (frame ``i`` of the video is at ``i / fps``).
    ``targets``: ``(n_frames, 3)`` mouth parameters or ``(n_frames, 478, 2|3)`` landmarks
    (NaN rows/sets, e.g. frames without a face, are skipped). Raises
    :class:`~toolkit.errors.InputError` when the recording holds too little speech.
    """
    import torch

    started = time.perf_counter()
    if fps <= 0:
        raise InputError("frame rate must be positive")
    y = _targets(targets, neutral)
    n_frames = len(y)
    speech = speech_activity(samples, rate, fps, n_frames)
    valid = np.all(np.isfinite(y), axis=1)
    if int((speech & valid).sum()) < MIN_SPEECH_FRAMES:
        raise InputError(
            f"the recording has too little speech with a visible face to learn lip-sync "
            f"({int((speech & valid).sum())} frames, need {MIN_SPEECH_FRAMES}); use the text or audio-envelope path"
        )
    windows = _normalised_windows(samples, rate, fps, n_frames)
    split = int(round(n_frames * (1 - VALIDATION_SHARE)))
    train_idx = np.flatnonzero(valid[:split])
    val_idx = np.flatnonzero(valid[split:]) + split

    band_mean = windows[train_idx].mean(axis=(0, 2))
    band_std = windows[train_idx].std(axis=(0, 2)) + 1e-3
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    net = _build_net().to(device)
    model = AudioToMouth(net, band_mean, band_std, name=name)
    x_all = model._input(windows).to(device)
    y_all = torch.from_numpy(np.nan_to_num(y)).to(device)
    with _single_thread(device):
        best, train_loss = _fit(net, x_all, y_all, train_idx, val_idx, steps, batch_size, learning_rate, rng, progress, is_cancelled)
    net.load_state_dict(best[2])
    net.eval()

    report = TrainingReport(
        steps=steps,
        best_step=best[1],
        train_frames=len(train_idx),
        validation_frames=len(val_idx),
        train_loss=train_loss,
        validation_loss=best[0],
        validation_open_corr=float("nan"),
        envelope_open_corr=float("nan"),
        seconds=0.0,
    )
    if len(val_idx) >= 3:
        with torch.inference_mode(), _single_thread(device):
            pred = clip_params(net(x_all[val_idx]).cpu().numpy())
        env = envelope_params(samples, rate, fps, n_frames)[val_idx]
        report.validation_open_corr = _pearson(pred[:, OPEN], y[val_idx, OPEN])
        report.envelope_open_corr = _pearson(env[:, OPEN], y[val_idx, OPEN])
    report.seconds = time.perf_counter() - started
    model.report = report
    return model


def _fit(net, x_all, y_all, train_idx, val_idx, steps, batch_size, learning_rate, rng, progress, is_cancelled):
    """AdamW + one-cycle schedule; returns ((best val loss, step, state), last train loss)."""
    import torch

    weights = torch.tensor(LOSS_WEIGHTS, dtype=torch.float32, device=x_all.device)

    def loss_on(idx: np.ndarray) -> float:
        net.eval()
        with torch.inference_mode():
            pred = net(x_all[idx])
            return float((((pred - y_all[idx]) ** 2) * weights).mean())

    optimiser = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate, total_steps=steps)
    best = (float("inf"), 0, None)
    train_loss = float("nan")
    check_every = max(1, steps // 30)
    for step in range(1, steps + 1):
        if is_cancelled and is_cancelled():
            raise JobCancelled("lip-sync training cancelled")
        net.train()
        batch = rng.choice(train_idx, size=min(batch_size, len(train_idx)), replace=False)
        xb = x_all[batch]
        shift = int(rng.integers(-1, 2))  # +-12.5 ms jitter: robustness to frame timing
        if shift:
            xb = torch.roll(xb, shift, dims=2)
        xb = xb + 0.1 * torch.randn_like(xb)
        loss = (((net(xb) - y_all[batch]) ** 2) * weights).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % check_every == 0 or step == steps:
            train_loss = float(loss.detach())
            val_loss = loss_on(val_idx) if len(val_idx) else train_loss
            if best[2] is None or val_loss < best[0]:
                best = (val_loss, step, {k: v.detach().clone() for k, v in net.state_dict().items()})
            if progress:
                progress(step, steps)
    return best, train_loss
