"""Spectral detector: the azimuthally averaged power spectrum of the face (Durall et al. 2020).

Generators build faces by upsampling (transposed convolutions, interpolation) and by
re-synthesising texture, and every pipeline warps its output back into the frame; all of
this changes how power falls off towards high frequencies and can leave periodic peaks.
We take square patches at the frame's native resolution (never resized, so no resampling
of our own enters the measurement), compute the 2-D log power spectrum with a Hann window,
average it over rings of equal frequency between 0 and 0.5 cycles per pixel, and subtract
the mean level. Features: the :data:`BINS`-bin profile of the inner face, and the
difference between the :data:`LOCAL_BINS`-bin profiles of a patch below the mouth and a
patch between the brows (lip-sync generators re-make only the lower face). A logistic
regression on them gives the frame score.

The classifier is fitted without any generator (:func:`fit_spectral`,
``dftk train-detector spectral``): real face patches against the same patches carrying
generator-like artefacts we make ourselves, on the whole face or only below the nose --
down-and-up sampling (bilinear, bicubic, nearest), zero-insertion upsampling with a random
small kernel (the checkerboard of transposed convolutions), edge-preserving re-synthesis
(denoising that replaces skin texture), and resampling through a small random affine warp
(the paste-back every pipeline does). Both sides get the same JPEG recompression. The
fitted parameters (a few hundred numbers) ship as JSON.
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
LOCAL_BINS = 12
MIN_PATCH = 40
MAX_PATCH = 96
PATCH_FRACTION = 0.55  # inner-face patch side / mesh box width
LOCAL_FRACTION = 0.32  # brow and chin patch side / mesh box width
MAX_LOCAL = 64
N_FEATURES = BINS + LOCAL_BINS


def _patch(image: np.ndarray, centre: np.ndarray, side: int) -> np.ndarray | None:
    x0, y0 = int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2))
    h, w = image.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + side > w or y0 + side > h:
        return None
    patch = image[y0:y0 + side, x0:x0 + side]
    return cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY) if patch.ndim == 3 else patch


def face_patch(image: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """Grey inner-face patch (eyes to mouth, cheek to cheek) at native resolution, or None if too small."""
    pts = np.asarray(points)[:, :2]
    side = int(min(MAX_PATCH, float(np.ptp(pts[:, 0])) * PATCH_FRACTION))
    if side < MIN_PATCH:
        return None
    # Centre between the eyes and the mouth: points 6 (nose bridge) and 164 (above the lip).
    return _patch(image, (pts[6] + pts[164]) / 2, side)


def local_patches(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(between the brows, below the mouth) grey patches of equal size, or None."""
    pts = np.asarray(points)[:, :2]
    side = int(min(MAX_LOCAL, float(np.ptp(pts[:, 0])) * LOCAL_FRACTION))
    if side < 24:
        return None
    upper = _patch(image, (pts[9] + pts[151]) / 2, side)  # glabella / low forehead
    lower = _patch(image, (pts[14] + pts[152]) / 2, side)  # lower lip to chin
    return None if upper is None or lower is None else (upper, lower)


@lru_cache(maxsize=64)
def _rings(side: int, bins: int) -> tuple[np.ndarray, np.ndarray]:
    f = np.fft.fftshift(np.fft.fftfreq(side))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    radius = np.sqrt(fx ** 2 + fy ** 2)
    edges = np.linspace(0, 0.5, bins + 1)
    index = np.minimum(np.digitize(radius, edges) - 1, bins - 1)  # ring number; 0.5 itself is the last ring
    index[(radius == 0) | (radius > 0.5)] = -1
    counts = np.bincount(index[index >= 0].ravel(), minlength=bins)
    return index, np.maximum(counts, 1)


@lru_cache(maxsize=64)
def _window(side: int) -> np.ndarray:
    w = np.hanning(side)
    return np.outer(w, w)


def profile(patch: np.ndarray, bins: int = BINS) -> np.ndarray:
    """``(bins,)`` azimuthal average of the log power spectrum, mean level removed."""
    side = patch.shape[0]
    x = patch.astype(np.float64)
    x = (x - x.mean()) * _window(side)
    power = np.abs(np.fft.fftshift(np.fft.fft2(x))) ** 2
    logp = np.log10(power + 1e-3)
    index, counts = _rings(side, bins)
    sums = np.bincount(index[index >= 0].ravel(), weights=logp[index >= 0].ravel(), minlength=bins)
    prof = sums / counts
    return (prof - prof.mean()).astype(np.float32)


def features(image: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """``(N_FEATURES,)``: inner-face profile, then chin-minus-brow local profile; None if the face is too small."""
    face = face_patch(image, points)
    local = local_patches(image, points)
    if face is None or local is None:
        return None
    return np.concatenate([profile(face), profile(local[1], LOCAL_BINS) - profile(local[0], LOCAL_BINS)])


def load_model(path: Path | str):
    """The fitted :class:`~toolkit.detection.calibration.LogisticCalibration` over the profile bins."""
    from toolkit.detection import calibration

    model = calibration.load(path)
    if len(model.names) != N_FEATURES or not isinstance(model, calibration.LogisticCalibration):
        raise ModelError(f"{Path(path).name}: spectral parameters for a different profile size")
    return model


# -- training-free artefacts --------------------------------------------------------------------
def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of an RGB image."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) if ok else img


def _down_up(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = region.shape[:2]
    f = rng.uniform(1.3, 4.0)
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


def _resample(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small random affine warp with bilinear interpolation (how a generated crop is pasted back)."""
    h, w = region.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2 + rng.uniform(-1, 1), h / 2 + rng.uniform(-1, 1)), rng.uniform(-4, 4),
                                rng.uniform(0.92, 1.08))
    m[:, 2] += rng.uniform(-0.5, 0.5, 2)
    return cv2.warpAffine(region, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


ARTEFACTS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "down_up": _down_up,
    "transposed_conv": _transposed_conv,
    "resynthesise": _resynthesise,
    "resample": _resample,
}
REGIONS = ("face", "lower_face")


def apply_artefact(image: np.ndarray, points: np.ndarray, kind: str, region: str,
                   rng: np.random.Generator) -> np.ndarray | None:
    """A copy of ``image`` with artefact ``kind`` on the whole face or below the nose (soft edge)."""
    pts = np.asarray(points)[:, :2]
    x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 4
    x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 4
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    out = image.copy()
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    changed = ARTEFACTS[kind](crop, rng)
    if region == "lower_face":
        # Below the nose tip, fading in over a tenth of the face height (Wav2Lip-style lower half).
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        edge = pts[1, 1] + rng.uniform(-0.05, 0.05) * (y1 - y0)
        alpha = np.clip((ys - edge) / max(0.1 * (y1 - y0), 1.0) + 0.5, 0, 1)[..., None]
        changed = np.clip(crop * (1 - alpha) + changed * alpha + 0.5, 0, 255).astype(np.uint8)
    out[y0:y1, x0:x1] = changed
    return out


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
            image, points = face.image, face.points
            q = int(rng.integers(60, 96))  # the same recompression on both sides
            real = features(_jpeg(image, q), points)
            if real is None:
                continue
            X.append(real)
            y.append(0)
            k.append("real")
            kind = kinds[int(rng.integers(len(kinds)))]
            region = REGIONS[int(rng.integers(len(REGIONS)))]
            fake_image = apply_artefact(image, points, kind, region, rng)
            fake = None if fake_image is None else features(_jpeg(fake_image, q), points)
            if fake is not None:
                X.append(fake)
                y.append(1)
                k.append(f"{kind}/{region}")
        return X, y, k

    Xtr, ytr, _ = rows(faces.train)
    Xva, yva, kva = rows(faces.val)
    if len(set(ytr)) < 2:
        raise ModelError("not enough face patches (faces must be at least ~75 px wide) to fit the spectral detector")
    names = [f"face_bin{i:02d}" for i in range(BINS)] + [f"chin_minus_brow_bin{i:02d}" for i in range(LOCAL_BINS)]
    model = LogisticCalibration.fit(names, np.array(Xtr), np.array(ytr), C=0.5)
    val: dict = {}
    if len(set(yva)) == 2:
        p = model.score(np.array(Xva))
        yva_a, kva_a = np.array(yva), np.array(kva)
        val = {"patches": len(yva), "auc": round(float(roc_auc_score(yva_a, p)), 4),
               "real_mean": round(float(p[yva_a == 0].mean()), 4)}
        for kind in sorted(set(kva_a.tolist()) - {"real"}):
            sel = (kva_a == kind) | (kva_a == "real")
            val[f"auc_{kind}"] = round(float(roc_auc_score(yva_a[sel], p[sel])), 4)
    model.record = {
        "method": "azimuthal average of the log power spectrum (Durall et al. 2020) + logistic regression",
        "trained_by": "dftk train-detector spectral",
        "data": faces.sources,
        "train_patches": int(len(ytr)),
        "artefacts": kinds,
        "artefact_regions": list(REGIONS),
        "validation": val,
        "seconds": round(time.time() - start, 1),
        "seed": seed,
    }
    calibration.write_params(model, out, {"patch": {"bins": BINS, "local_bins": LOCAL_BINS, "min": MIN_PATCH,
                                            "max": MAX_PATCH, "fraction": PATCH_FRACTION,
                                            "local_fraction": LOCAL_FRACTION}})
    return model.record


def write_spectral_card(params: Path, record: dict, note: str | None = None) -> None:
    from toolkit.detection.model_card import read_card, write_card

    files = record["data"]
    card = {
        "name": "spectral (azimuthal power spectrum + logistic regression)",
        "summary": ("Logistic regression on the 1-D azimuthally averaged log power spectrum of a native-resolution "
                    "inner-face patch and on the chin-minus-brow difference of two small patches; fitted on real "
                    "faces vs training-free generator-like artefacts (whole face or lower face)."),
        "intended_use": ["One signal among several in `dftk detect`: upsampling and re-synthesised texture."],
        "limitations": [
            f"Fitted on faces from {', '.join(sorted(files))}{': ' + note if note else ''}; few identities and cameras.",
            "The artefacts are our own imitations of generator traces, not outputs of real generators.",
            "Video compression removes much of the high-frequency band this method reads; expect weak "
            "scores on heavily compressed clips.",
        ],
        "parameters": {"file": Path(params).name, "bins": BINS, "local_bins": LOCAL_BINS,
                       "patch": f"{MIN_PATCH}-{MAX_PATCH} px native"},
        "training": record,
    }
    old = read_card(params)
    if "benchmark" in old:
        card["benchmark_previous_parameters"] = old["benchmark"]
    write_card(params, card)
