"""Spectral detector: the azimuthally averaged power spectrum of the face (Durall et al. 2020).

Generators build faces by upsampling (transposed convolutions, interpolation) and by
re-synthesising texture; both change how power falls off towards high frequencies and can
leave periodic peaks. We take a square patch of the inner face at the frame's native
resolution (never resized, so no resampling of our own enters the measurement), compute the
2-D log power spectrum with a Hann window, average it over rings of equal frequency into
:data:`BINS` bins between 0 and 0.5 cycles per pixel, and subtract the mean level. A
logistic regression on that 1-D profile gives the frame score.

The classifier is fitted without any generator (:func:`fit_spectral`,
``dftk train-detector spectral``): real face patches against the same patches carrying
generator-like artefacts we make ourselves -- down-and-up sampling with bilinear, bicubic
or nearest interpolation, zero-insertion upsampling with a random small kernel (the
checkerboard of transposed convolutions), and edge-preserving re-synthesis (denoising that
replaces skin texture). Both sides get the same JPEG recompression. The fitted parameters
(a few hundred numbers) ship as JSON.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from toolkit.errors import ModelError

BINS = 32
MIN_PATCH = 40
MAX_PATCH = 96
PATCH_FRACTION = 0.55  # patch side / mesh box width


def face_patch(image: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """Grey inner-face patch (eyes to mouth, cheek to cheek) at native resolution, or None if too small."""
    pts = np.asarray(points)[:, :2]
    width = float(np.ptp(pts[:, 0]))
    side = int(min(MAX_PATCH, width * PATCH_FRACTION))
    if side < MIN_PATCH:
        return None
    # Centre between the eyes and the mouth: points 6 (nose bridge) and 164 (above the lip).
    cx, cy = (pts[6] + pts[164]) / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    h, w = image.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + side > w or y0 + side > h:
        return None
    patch = image[y0:y0 + side, x0:x0 + side]
    return cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY) if patch.ndim == 3 else patch


@lru_cache(maxsize=16)
def _rings(side: int) -> tuple[np.ndarray, np.ndarray]:
    f = np.fft.fftshift(np.fft.fftfreq(side))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.sqrt(fx ** 2 + fy ** 2)
    edges = np.linspace(0, 0.5, BINS + 1)
    index = np.minimum(np.digitize(radius, edges) - 1, BINS - 1)  # ring number; 0.5 itself is the last ring
    index[(radius == 0) | (radius > 0.5)] = -1
    counts = np.bincount(index[index >= 0].ravel(), minlength=BINS)
    return index, np.maximum(counts, 1)


@lru_cache(maxsize=16)
def _window(side: int) -> np.ndarray:
    w = np.hanning(side)
    return np.outer(w, w)


def profile(patch: np.ndarray) -> np.ndarray:
    """``(BINS,)`` azimuthal average of the log power spectrum, mean level removed."""
    side = patch.shape[0]
    x = patch.astype(np.float64)
    x = (x - x.mean()) * _window(side)
    power = np.abs(np.fft.fftshift(np.fft.fft2(x))) ** 2
    logp = np.log10(power + 1e-3)
    index, counts = _rings(side)
    sums = np.bincount(index[index >= 0].ravel(), weights=logp[index >= 0].ravel(), minlength=BINS)
    prof = sums / counts
    return (prof - prof.mean()).astype(np.float32)


def load_model(path: Path | str):
    """The fitted :class:`~toolkit.detection.calibration.LogisticCalibration` over the profile bins."""
    from toolkit.detection import calibration

    model = calibration.load(path)
    if len(model.names) != BINS or not isinstance(model, calibration.LogisticCalibration):
        raise ModelError(f"{Path(path).name}: spectral parameters for a different profile size")
    return model


# -- training-free artefacts --------------------------------------------------------------------
def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else img


def _down_up(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = region.shape[:2]
    f = rng.uniform(1.6, 4.0)
    small = cv2.resize(region, (max(4, int(w / f)), max(4, int(h / f))), interpolation=cv2.INTER_AREA)
    interp = [cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST][int(rng.choice(3, p=[0.45, 0.45, 0.1]))]
    return cv2.resize(small, (w, h), interpolation=interp)


def _transposed_conv(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Zero-insertion x2 upsampling of a half-size copy, then a random positive 3x3/4x4 kernel."""
    h, w = region.shape[:2]
    small = cv2.resize(region, (max(4, w // 2), max(4, h // 2)), interpolation=cv2.INTER_AREA).astype(np.float32)
    up = np.zeros((small.shape[0] * 2, small.shape[1] * 2) + small.shape[2:], np.float32)
    up[::2, ::2] = small
    k = int(rng.choice([3, 4]))
    kernel = rng.uniform(0.3, 1.0, (k, k)).astype(np.float32)
    kernel *= 4.0 / kernel.sum()  # zero insertion keeps 1/4 of the samples
    out = cv2.filter2D(up, -1, kernel, borderType=cv2.BORDER_REFLECT)
    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_NEAREST) if out.shape[:2] != (h, w) else out
    return np.clip(out, 0, 255).astype(np.uint8)


def _resynthesise(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Texture replaced by an edge-preserving smooth version plus fine synthetic grain."""
    d = int(rng.choice([5, 7, 9]))
    smooth = cv2.bilateralFilter(region, d, float(rng.uniform(20, 60)), float(rng.uniform(3, 9)))
    grain = rng.normal(0, rng.uniform(0.5, 2.0), smooth.shape).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 0.7)
    return np.clip(smooth.astype(np.float32) + grain, 0, 255).astype(np.uint8)


ARTEFACTS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "down_up": _down_up,
    "transposed_conv": _transposed_conv,
    "resynthesise": _resynthesise,
}


def artefact_patch(image: np.ndarray, points: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray | None:
    """The face patch after ``kind`` was applied to the whole face region of the frame."""
    pts = np.asarray(points)[:, :2]
    x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 4
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 4
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    out = image.copy()
    out[y0:y1, x0:x1] = ARTEFACTS[kind](np.ascontiguousarray(image[y0:y1, x0:x1]), rng)
    return face_patch(out, points)


def fit_spectral(paths: list[Path], out: Path, seed: int = 0, per_clip: int = 120,
                 progress: Callable[..., None] | None = None, is_cancelled: Callable[[], bool] | None = None) -> dict:
    """Fit the spectral classifier on real faces in ``paths`` vs synthetic artefacts; write JSON."""
    from sklearn.metrics import roc_auc_score

    from toolkit.detection import calibration
    from toolkit.detection.calibration import LogisticCalibration
    from toolkit.detection.train_blend import collect_faces

    start = time.time()
    rng = np.random.default_rng(seed)
    faces = collect_faces(paths, val_fraction=0.2, max_faces_per_clip=per_clip, progress=progress,
                          is_cancelled=is_cancelled)
    kinds = list(ARTEFACTS)

    def rows(items) -> tuple[list[np.ndarray], list[int], list[str]]:
        X, y, k = [], [], []
        for face in items:
            q = int(rng.integers(60, 96))
            real = face_patch(face.image, face.points)
            if real is None:
                continue
            X.append(profile(_jpeg(real, q)))
            y.append(0)
            k.append("real")
            kind = kinds[int(rng.integers(len(kinds)))]
            fake = artefact_patch(face.image, face.points, kind, rng)
            if fake is not None:
                X.append(profile(_jpeg(fake, q)))
                y.append(1)
                k.append(kind)
        return X, y, k

    Xtr, ytr, _ = rows(faces.train)
    Xva, yva, kva = rows(faces.val)
    if len(set(ytr)) < 2:
        raise ModelError("not enough face patches (faces must be at least ~75 px wide) to fit the spectral detector")
    names = [f"bin{i:02d}" for i in range(BINS)]
    model = LogisticCalibration.fit(names, np.array(Xtr), np.array(ytr), C=0.5)
    val: dict = {}
    if len(set(yva)) == 2:
        p = model.score(np.array(Xva))
        yva_a, kva_a = np.array(yva), np.array(kva)
        val = {"patches": len(yva), "auc": round(float(roc_auc_score(yva_a, p)), 4),
               "real_mean": round(float(p[yva_a == 0].mean()), 4)}
        for kind in kinds:
            sel = (kva_a == kind) | (kva_a == "real")
            if (kva_a == kind).any():
                val[f"auc_{kind}"] = round(float(roc_auc_score(yva_a[sel], p[sel])), 4)
    model.record = {
        "method": "azimuthal average of the log power spectrum (Durall et al. 2020) + logistic regression",
        "trained_by": "dftk train-detector spectral",
        "data": faces.sources,
        "train_patches": int(len(ytr)),
        "artefacts": kinds,
        "validation": val,
        "seconds": round(time.time() - start, 1),
        "seed": seed,
    }
    calibration.save(model, out, {"patch": {"bins": BINS, "min": MIN_PATCH, "max": MAX_PATCH,
                                            "fraction": PATCH_FRACTION}})
    return model.record


def write_spectral_card(params: Path, record: dict, note: str | None = None) -> None:
    from toolkit.detection.model_card import read_card, write_card

    files = record["data"]
    card = {
        "name": "spectral (azimuthal power spectrum + logistic regression)",
        "summary": ("Logistic regression on the 1-D azimuthally averaged log power spectrum of a native-resolution "
                    "inner-face patch; fitted on real faces vs training-free generator-like artefacts."),
        "intended_use": ["One signal among several in `dftk detect`: upsampling and re-synthesised texture."],
        "limitations": [
            f"Fitted on faces from {', '.join(sorted(files))}{': ' + note if note else ''}; few identities and cameras.",
            "The artefacts are our own imitations of generator traces, not outputs of real generators.",
            "Video compression removes much of the high-frequency band this method reads; expect weak "
            "scores on heavily compressed clips.",
        ],
        "parameters": {"file": Path(params).name, "bins": BINS, "patch": f"{MIN_PATCH}-{MAX_PATCH} px native"},
        "training": record,
    }
    old = read_card(params)
    if "benchmark" in old:
        card["benchmark_previous_parameters"] = old["benchmark"]
    write_card(params, card)
