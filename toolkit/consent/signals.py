"""Liveness and sync signals from 478-point face meshes and the audio track.

Pure numpy on per-frame landmark arrays ``(T, 478, 3)`` (pixels; NaN rows for frames
without a face), so every measure can be tested on real clips and on constructed series.

* Eye aspect ratio (Soukupova & Cech 2016) from six mesh points per eye; blinks are dips
  well below the subject's own open-eye level that reopen.
* Head pose relative to the clip's mean face: rigid 3-D Procrustes (Kabsch) fit of the
  upper face (forehead, eyes, nose; the mouth and jaw move with speech), as yaw / pitch /
  roll in degrees.
* Mouth aperture: :func:`toolkit.lipsync.sync.mouth_aperture` (inner-lip gap over the
  eye-corner distance, scale-free), shared with the lip-sync generator and detectors.
* Audio envelope: RMS per video frame in dBFS, and a voice-activity mask against the
  clip's own noise floor.
* Audio-visual sync: :func:`toolkit.lipsync.sync.av_sync`, the best Pearson correlation
  of the envelope and the aperture within a few frames of lag either way (speech leads or
  trails lip motion by up to ~0.2 s).
* Face-shape signature: the pose-normalised upper-face geometry, to notice a different
  person appearing mid-recording when no embedder is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Mesh indices (subject's view, as MediaPipe names them).
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)  # corner, 2 upper lid, corner, 2 lower lid
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)
EYE_OUTER_CORNERS = (33, 263)
NOSE_BRIDGE_BOTTOM = 2  # just under the nose: the upper face lies above it

# Blinks: the lids close to below BLINK_CLOSED of the open level and come back above
# BLINK_OPEN of it; the open level is a high percentile of the clip's own EAR.
BLINK_CLOSED = 0.65
BLINK_OPEN = 0.75
OPEN_PERCENTILE = 80
MAX_BLINK_S = 1.5  # longer closures (eyes shut while talking) are not counted as blinks

SYNC_MAX_LAG_S = 0.2


# --- eyes ------------------------------------------------------------------------------------


def _ear_one(points: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    p = points[:, idx, :2]
    vertical = np.linalg.norm(p[:, 1] - p[:, 5], axis=-1) + np.linalg.norm(p[:, 2] - p[:, 4], axis=-1)
    horizontal = np.linalg.norm(p[:, 0] - p[:, 3], axis=-1)
    return vertical / np.maximum(2.0 * horizontal, 1e-6)


def eye_aspect_ratio(landmarks: np.ndarray) -> np.ndarray:
    """Mean EAR of both eyes per frame ``(T,)``; NaN where there is no face."""
    lm = np.asarray(landmarks, dtype=np.float64)
    return (_ear_one(lm, RIGHT_EYE_EAR) + _ear_one(lm, LEFT_EYE_EAR)) / 2.0


@dataclass(frozen=True)
class Blink:
    start: int  # first closed frame
    end: int  # last closed frame
    depth: float  # lowest EAR / open level


def detect_blinks(ear: np.ndarray, fps: float) -> list[Blink]:
    """Closures below ``BLINK_CLOSED`` x open level that reopen within ``MAX_BLINK_S``.

    Frames without a face (NaN) end any closure in progress without counting it.
    """
    ear = np.asarray(ear, dtype=np.float64)
    valid = np.isfinite(ear)
    if valid.sum() < 3:
        return []
    open_level = float(np.percentile(ear[valid], OPEN_PERCENTILE))
    if open_level <= 0:
        return []
    rel = ear / open_level
    blinks: list[Blink] = []
    max_len = max(1, int(round(MAX_BLINK_S * fps)))
    state, start, low, seen_open = "open", 0, 1.0, False
    for i, r in enumerate(rel):
        if not np.isfinite(r):
            state, seen_open = "open", False
            continue
        if state == "open":
            if r >= BLINK_OPEN:
                seen_open = True
            elif r < BLINK_CLOSED and seen_open:
                state, start, low = "closed", i, r
        else:
            low = min(low, r)
            if r >= BLINK_OPEN:
                if i - start <= max_len:
                    blinks.append(Blink(start, i - 1, float(low)))
                state, seen_open = "open", True
    return blinks


# --- head pose -------------------------------------------------------------------------------


def _normalise_shape(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    return centred / max(np.sqrt((centred**2).sum(axis=1).mean()), 1e-9)


def _kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation R minimising ||src @ R.T - dst|| (both centred), no reflection."""
    h = src.T @ dst
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def _upper_face(mean_shape: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mean_shape[:468, 1] < mean_shape[NOSE_BRIDGE_BOTTOM, 1])


def mean_face(landmarks: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Generalised Procrustes mean of the valid frames' normalised 3-D meshes ``(478, 3)``."""
    lm = np.asarray(landmarks, dtype=np.float64)
    valid = np.flatnonzero(np.isfinite(lm).all(axis=(1, 2)))
    if valid.size == 0:
        raise ValueError("no frame has a face mesh")
    shapes = np.stack([_normalise_shape(lm[i]) for i in valid])
    ref = shapes[0]
    for _ in range(iterations):
        aligned = np.stack([s @ _kabsch(s, ref).T for s in shapes])
        ref = _normalise_shape(aligned.mean(axis=0))
    return ref


def head_pose(landmarks: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Per-frame ``(yaw, pitch, roll)`` in degrees relative to ``reference`` (default: the
    clip's mean face), fitted on the upper face; NaN rows where there is no face."""
    lm = np.asarray(landmarks, dtype=np.float64)
    out = np.full((len(lm), 3), np.nan)
    if not np.isfinite(lm).all(axis=(1, 2)).any():
        return out
    ref = mean_face(lm) if reference is None else reference
    idx = _upper_face(ref)
    ref_u = ref[idx] - ref[idx].mean(axis=0)
    for t in range(len(lm)):
        if not np.isfinite(lm[t]).all():
            continue
        cur = lm[t, idx] - lm[t, idx].mean(axis=0)
        r = _kabsch(cur, ref_u).T  # current = reference rotated by r
        yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1, 1)))
        pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
        out[t] = (yaw, pitch, roll)
    return out


def pose_range(pose: np.ndarray, low: float = 5, high: float = 95) -> np.ndarray:
    """Spread of yaw, pitch and roll between two percentiles (robust to mesh glitches)."""
    pose = np.asarray(pose, dtype=np.float64)
    valid = np.isfinite(pose).all(axis=1)
    if valid.sum() < 2:
        return np.zeros(3)
    return np.percentile(pose[valid], high, axis=0) - np.percentile(pose[valid], low, axis=0)


# --- mouth ---------------------------------------------------------------------------------


def mouth_aperture(landmarks: np.ndarray) -> np.ndarray:
    """Mouth opening per frame ``(T,)`` (0 = closed); NaN where there is no face."""
    from toolkit.lipsync.sync import mouth_aperture as lipsync_aperture

    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(lipsync_aperture(lm), dtype=np.float64).reshape(-1)


# --- audio -----------------------------------------------------------------------------------


def frame_rms_db(samples: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS level (dBFS) of the audio under each video frame ``(n_frames,)``; -120 where there is none."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    out = np.full(n_frames, -120.0)
    hop = rate / fps
    for i in range(n_frames):
        a, b = int(round(i * hop)), int(round((i + 1) * hop))
        chunk = x[a:b]
        if chunk.size:
            out[i] = 10 * np.log10(max(float(np.mean(chunk**2)), 1e-12))
    return out


@dataclass(frozen=True)
class SpeechActivity:
    active: np.ndarray  # bool per video frame
    floor_db: float  # the clip's noise floor
    peak_db: float  # its loud level
    threshold_db: float


# Speech must stand out from the clip's own floor by this much, and be above an absolute
# level that digital silence and quiet room tone never reach.
SPEECH_MARGIN_DB = 12.0
SPEECH_ABS_FLOOR_DB = -55.0


def speech_activity(level_db: np.ndarray) -> SpeechActivity:
    level = np.asarray(level_db, dtype=np.float64)
    if level.size == 0:
        return SpeechActivity(np.zeros(0, bool), -120.0, -120.0, 0.0)
    floor = float(np.percentile(level, 10))
    peak = float(np.percentile(level, 98))
    threshold = max(floor + SPEECH_MARGIN_DB, SPEECH_ABS_FLOOR_DB)
    return SpeechActivity(level > threshold, floor, peak, threshold)


def av_sync(aperture: np.ndarray, envelope: np.ndarray, fps: float,
            max_lag_s: float = SYNC_MAX_LAG_S) -> tuple[float, float]:
    """Best correlation of mouth aperture and audio envelope within ``max_lag_s`` either way:
    ``(correlation, lag_seconds)``, correlation 0 when undefined (a flat series)."""
    from toolkit.lipsync.sync import av_sync as lipsync_av_sync

    result = lipsync_av_sync(aperture, envelope, fps, max_lag_s=max_lag_s)
    r = result.correlation
    return (float(r) if np.isfinite(r) else 0.0), float(result.lag_seconds)


# --- who is it -------------------------------------------------------------------------------


def shape_signature(landmarks: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Pose-normalised upper-face shape of one frame, as a flat vector (identity geometry)."""
    idx = _upper_face(reference)
    cur = _normalise_shape(np.asarray(landmarks, dtype=np.float64)[idx])
    ref = _normalise_shape(reference[idx])
    return (cur @ _kabsch(cur, ref).T).reshape(-1)
