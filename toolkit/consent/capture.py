"""Live consent capture: does this recording show one live person reading the statement?

:func:`observe` runs the shared face pass (:class:`toolkit.faces.FacePipeline`) and the
audio decode once over the recording; :func:`evaluate` turns what was measured into
named checks, each with its value, threshold and, when it fails, what to do about it:

=================  ==========================================================================
``duration``       at least :data:`MIN_DURATION_S` seconds (and at most :data:`MAX_DURATION_S`)
``one_face``       exactly one face in >= :data:`MIN_ONE_FACE_FRACTION` of the frames
``blinks``         at least :data:`MIN_BLINKS` blink (eye aspect ratio from the mesh)
``head_motion``    yaw or pitch spans >= :data:`MIN_HEAD_MOTION_DEG` degrees
``speech``         speech in the audio for >= :data:`MIN_SPEECH_FRACTION` of the recording
``mouth_sync``     the mouth moves (aperture spread >= :data:`MIN_APERTURE_SPREAD`) and with
                   the speech (envelope/aperture correlation >= :data:`MIN_AV_CORRELATION`)
``same_person``    one unbroken face track, no splice (consecutive aligned faces correlate
                   >= :data:`MIN_FACE_CONTINUITY`, no frame jump over :data:`MAX_FRAME_JUMP`),
                   and, when an embedder is installed, every sampled frame's embedding matches
                   the reference face
=================  ==========================================================================

docs/consent.md explains the thresholds and what they do not catch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from toolkit.consent import signals
from toolkit.consent.identity import face_pipeline, reference_crop, subject_faces, usable_embedder
from toolkit.errors import InputError
from toolkit.hashing import sha256_file

MIN_DURATION_S = 5.0
MAX_DURATION_S = 180.0
MIN_ONE_FACE_FRACTION = 0.95
MIN_BLINKS = 1
MIN_HEAD_MOTION_DEG = 5.0
MIN_SPEECH_FRACTION = 0.3
MIN_APERTURE_SPREAD = 0.02
MIN_AV_CORRELATION = 0.35
MIN_FACE_CONTINUITY = 0.5
MAX_FRAME_JUMP = 40.0  # mean absolute grey-level change between consecutive thumbnails (0-255)
MIN_TRACK_FRACTION = 0.95
EMBED_SAMPLES = 8

DETECT_EVERY = 5  # the face detector re-counts faces at least this often (frames)
# Below this fraction of frames with a face, the face-based checks are not measurable.
MIN_MEASURABLE_FRACTION = 0.5
ANALYSIS_MAX_SIDE = 720
_CONTINUITY_CROP = 64
_THUMB = (64, 36)
AUDIO_RATE = 16000

CHECKS = ("duration", "one_face", "blinks", "head_motion", "speech", "mouth_sync", "same_person")


@dataclass
class CaptureObservations:
    """What one pass over a recording measured (per-frame series, plus the reference face)."""

    path: str
    sha256: str
    fps: float
    n_frames: int
    duration: float
    face_counts: np.ndarray  # (T,) subject-sized faces per frame
    main_track: int | None
    track_ids: np.ndarray  # (T,) track id of the largest face, -1 when none
    landmarks: np.ndarray  # (T, 478, 3) the main track's mesh, NaN elsewhere
    face_continuity: np.ndarray  # (T-1,) NCC of consecutive aligned main-face crops, NaN if missing
    frame_jump: np.ndarray  # (T-1,) mean |difference| of consecutive frame thumbnails
    audio_db: np.ndarray  # (T,) RMS level per frame
    has_audio: bool
    reference_index: int | None = None
    reference_crop: np.ndarray | None = field(default=None, repr=False)
    embedder: str | None = None
    embed_threshold: float | None = None  # the embedder's match threshold
    embedding_similarities: list[float] = field(default_factory=list)  # sampled frames vs reference


@dataclass
class CheckResult:
    name: str
    passed: bool
    value: str  # what was measured, for people
    threshold: str
    message: str  # why it failed and what to do; empty when passed
    measures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CaptureReport:
    checks: list[CheckResult]
    observations: CaptureObservations = field(repr=False)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def summary(self) -> dict:
        """What a captured record stores about its evidence (rounded, JSON-safe)."""
        obs = self.observations
        return {
            "duration_s": round(obs.duration, 2),
            "frames": obs.n_frames,
            "fps": round(obs.fps, 3),
            "checks": {c.name: {"passed": c.passed, **_round(c.measures)} for c in self.checks},
            "embedder": obs.embedder,
            "reference_frame": obs.reference_index,
        }

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks], "summary": self.summary()}


def _round(measures: dict) -> dict:
    out = {}
    for k, v in measures.items():
        if isinstance(v, (float, np.floating)):
            out[k] = round(float(v), 4) if np.isfinite(v) else None
        elif isinstance(v, (np.integer,)):
            out[k] = int(v)
        else:
            out[k] = v
    return out


# --- the pass over the recording ---------------------------------------------------------------


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _frontal_score(landmarks: np.ndarray) -> float:
    """Lower is better for a reference frame: nose centred between the cheeks, eyes open,
    mouth nearly closed."""
    lm = landmarks[None]
    x_nose, x_r, x_l = landmarks[1, 0], landmarks[234, 0], landmarks[454, 0]
    yaw_offset = abs((x_nose - x_r) / max(x_l - x_r, 1e-6) - 0.5)
    ear = float(signals.eye_aspect_ratio(lm)[0])
    aperture = float(signals.mouth_aperture(lm)[0])
    return yaw_offset + 0.5 * aperture - 0.5 * min(ear, 0.35)


def observe(path: Path | str, host: Any = None, on_progress: Callable[[int, int | None], None] | None = None,
            is_cancelled: Callable[[], bool] | None = None) -> CaptureObservations:
    """One pass over the recording: faces, meshes, continuity, audio level, reference face."""
    import cv2

    from toolkit.errors import JobCancelled
    from toolkit.faces import align_face, embedder_crop
    from toolkit.media import VideoReader, read_audio
    from toolkit.plugins import get_host

    path = Path(path)
    host = host or get_host()
    reader = VideoReader(path, max_side=ANALYSIS_MAX_SIDE)
    if reader.info.is_image:
        raise InputError(f"{path.name}: a consent capture is a video recording, not a still image")
    fps = reader.fps or 30.0
    if reader.info.duration > MAX_DURATION_S:
        raise InputError(f"{path.name}: the recording is {reader.info.duration:.0f} s long; record only the "
                         f"statement (at most {MAX_DURATION_S:.0f} s)")
    pipeline = face_pipeline(host, detect_every=DETECT_EVERY, keep_images=True)
    embedder, _ = usable_embedder(host)
    crop_size, crop_padding = embedder_crop(embedder) if embedder else (0, 0.0)
    expected = max(reader.frame_count, 1)
    embed_at = set(np.linspace(0, expected - 1, EMBED_SAMPLES).round().astype(int).tolist()) if embedder else set()

    counts, track_of_main, meshes = [], [], []
    continuity, jumps = [], []
    prev_crop = prev_thumb = None
    best = (np.inf, None, None, None)  # score, index, image, keypoints
    embeddings: list[np.ndarray] = []
    for n, result in enumerate(pipeline.run(reader)):
        if is_cancelled and is_cancelled():
            raise JobCancelled("the consent capture was cancelled")
        subjects = subject_faces([f for f in result.faces if f.mesh is not None])
        counts.append(len(subjects))
        main = max(subjects, key=lambda f: f.width * f.height) if subjects else None
        track_of_main.append(main.track_id if main else -1)
        meshes.append(main.mesh.landmarks if main else np.full((478, 3), np.nan, np.float32))
        image = result.image
        thumb = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        if prev_thumb is not None:
            jumps.append(float(np.abs(thumb - prev_thumb).mean()))
        prev_thumb = thumb
        crop = None
        if main is not None:
            crop = cv2.cvtColor(align_face(image, main.mesh.keypoints, size=_CONTINUITY_CROP, padding=0.1).image,
                                cv2.COLOR_RGB2GRAY).astype(np.float32)
            score = _frontal_score(main.mesh.landmarks)
            if score < best[0]:
                best = (score, n, image, main.mesh.keypoints)
            if n in embed_at:
                aligned = align_face(image, main.mesh.keypoints, size=crop_size, padding=crop_padding).image
                embeddings.append(np.asarray(embedder.embed(aligned), np.float64).reshape(-1))
        if n > 0:
            continuity.append(_ncc(crop, prev_crop) if crop is not None and prev_crop is not None else np.nan)
        prev_crop = crop
        if on_progress:
            on_progress(n + 1, expected)
    n_frames = len(counts)
    if n_frames == 0:
        raise InputError(f"{path.name}: no video frames could be read")
    samples = read_audio(path, sample_rate=AUDIO_RATE)
    has_audio = samples.size > 0
    audio_db = signals.frame_rms_db(samples, AUDIO_RATE, fps, n_frames)
    ids = np.asarray(track_of_main)
    valid_ids = ids[ids >= 0]
    main_track = int(np.bincount(valid_ids).argmax()) if valid_ids.size else None
    ref_crop = reference_crop(best[2], best[3]) if best[1] is not None else None
    sims: list[float] = []
    if embeddings and ref_crop is not None:
        from toolkit.consent.identity import REFERENCE_PADDING, REFERENCE_SIZE, recrop
        from toolkit.consent.record import FaceReference

        geometry = FaceReference("", REFERENCE_SIZE, REFERENCE_PADDING, "")
        ref_vec = np.asarray(embedder.embed(recrop(ref_crop, geometry, crop_size, crop_padding)),
                             np.float64).reshape(-1)
        ref_vec /= max(np.linalg.norm(ref_vec), 1e-12)
        sims = [float(v @ ref_vec / max(np.linalg.norm(v), 1e-12)) for v in embeddings]
    return CaptureObservations(
        path=str(path),
        sha256=sha256_file(path),
        fps=float(fps),
        n_frames=n_frames,
        duration=n_frames / fps,
        face_counts=np.asarray(counts),
        main_track=main_track,
        track_ids=ids,
        landmarks=np.stack(meshes).astype(np.float64),
        face_continuity=np.asarray(continuity, dtype=np.float64),
        frame_jump=np.asarray(jumps, dtype=np.float64),
        audio_db=audio_db,
        has_audio=has_audio,
        reference_index=best[1],
        reference_crop=ref_crop,
        embedder=getattr(embedder, "name", None),
        embed_threshold=getattr(embedder, "match_threshold", None) if embedder else None,
        embedding_similarities=sims,
    )


# --- the checks ---------------------------------------------------------------------------------


def _check(name: str, passed: bool, value: str, threshold: str, message: str, **measures: Any) -> CheckResult:
    return CheckResult(name, bool(passed), value, threshold, "" if passed else message, measures)


def check_duration(obs: CaptureObservations) -> CheckResult:
    return _check("duration", obs.duration >= MIN_DURATION_S, f"{obs.duration:.1f} s", f">= {MIN_DURATION_S:.0f} s",
                  f"the recording is only {obs.duration:.1f} s; read the whole statement "
                  f"(at least {MIN_DURATION_S:.0f} s)", seconds=obs.duration)


def check_one_face(obs: CaptureObservations) -> CheckResult:
    counts = obs.face_counts
    one = float(np.mean(counts == 1))
    none = float(np.mean(counts == 0))
    many = float(np.mean(counts > 1))
    if none >= many:
        message = (f"no face in {none:.0%} of the frames; keep your face in view, facing the camera, "
                   "in good light")
    else:
        message = (f"{int(np.max(counts))} faces in {many:.0%} of the frames; only the subject may be "
                   "in view while recording")
    return _check("one_face", one >= MIN_ONE_FACE_FRACTION, f"{one:.0%} of frames",
                  f">= {MIN_ONE_FACE_FRACTION:.0%}", message,
                  one_face=one, no_face=none, several_faces=many, max_faces=int(np.max(counts)))


def _unmeasurable(name: str, obs: CaptureObservations, threshold: str) -> CheckResult | None:
    """A failed check when too few frames show a face to measure anything."""
    with_face = float(np.mean(np.isfinite(obs.landmarks).all(axis=(1, 2))))
    if with_face >= MIN_MEASURABLE_FRACTION:
        return None
    return _check(name, False, f"face in {with_face:.0%} of frames", threshold,
                  "cannot be checked: no face in most of the recording", face_fraction=with_face)


def check_blinks(obs: CaptureObservations) -> CheckResult:
    if (failed := _unmeasurable("blinks", obs, f">= {MIN_BLINKS}")) is not None:
        return failed
    ear = signals.eye_aspect_ratio(obs.landmarks)
    blinks = signals.detect_blinks(ear, obs.fps)
    valid = ear[np.isfinite(ear)]
    open_level = float(np.percentile(valid, signals.OPEN_PERCENTILE)) if valid.size else float("nan")
    return _check("blinks", len(blinks) >= MIN_BLINKS, f"{len(blinks)} blink(s)", f">= {MIN_BLINKS}",
                  "no blink was seen; look at the camera and blink naturally while reading "
                  "(a photo or a frozen video cannot blink)",
                  blinks=len(blinks), open_ear=open_level)


def check_head_motion(obs: CaptureObservations) -> CheckResult:
    if (failed := _unmeasurable("head_motion", obs, f">= {MIN_HEAD_MOTION_DEG:.0f}°")) is not None:
        return failed
    spread = signals.pose_range(signals.head_pose(obs.landmarks))
    moved = float(max(spread[0], spread[1]))
    return _check("head_motion", moved >= MIN_HEAD_MOTION_DEG, f"{moved:.1f}°", f">= {MIN_HEAD_MOTION_DEG:.0f}°",
                  f"the head hardly moved ({moved:.1f}°); turn your head a little left and right while reading",
                  yaw_range_deg=float(spread[0]), pitch_range_deg=float(spread[1]), roll_range_deg=float(spread[2]))


def _speech(obs: CaptureObservations) -> signals.SpeechActivity:
    return signals.speech_activity(obs.audio_db)


def check_speech(obs: CaptureObservations) -> CheckResult:
    if not obs.has_audio:
        return _check("speech", False, "no audio track", f">= {MIN_SPEECH_FRACTION:.0%} speech",
                      "the recording has no audio track; record with the microphone on and read the "
                      "statement aloud")
    act = _speech(obs)
    fraction = float(act.active.mean()) if act.active.size else 0.0
    message = ("no speech was heard (the audio is silent); read the statement aloud, close to the microphone"
               if act.peak_db <= signals.SPEECH_ABS_FLOOR_DB or fraction == 0 else
               f"speech was heard in only {fraction:.0%} of the recording; read the whole statement aloud")
    return _check("speech", fraction >= MIN_SPEECH_FRACTION, f"{fraction:.0%} of the recording",
                  f">= {MIN_SPEECH_FRACTION:.0%}", message,
                  speech_fraction=fraction, floor_db=act.floor_db, peak_db=act.peak_db)


def speech_envelope(level_db: np.ndarray, activity: signals.SpeechActivity) -> np.ndarray:
    """Level above the speech threshold (dB, 0 in pauses): the loudness contour that the
    mouth follows, without the room tone under it."""
    return np.clip(np.asarray(level_db, np.float64) - activity.threshold_db, 0.0, None)


def check_mouth_sync(obs: CaptureObservations) -> CheckResult:
    if (failed := _unmeasurable("mouth_sync", obs, f">= {MIN_AV_CORRELATION}")) is not None:
        return failed
    aperture = signals.mouth_aperture(obs.landmarks)
    valid = aperture[np.isfinite(aperture)]
    spread = float(np.percentile(valid, 95) - np.percentile(valid, 5)) if valid.size else 0.0
    act = _speech(obs)
    if not obs.has_audio or not act.active.any():
        return _check("mouth_sync", False, "no speech", f">= {MIN_AV_CORRELATION}",
                      "the mouth cannot be matched with speech because none was heard",
                      aperture_spread=spread, correlation=0.0, lag_s=0.0)
    envelope = speech_envelope(obs.audio_db, act)
    corr, lag = signals.av_sync(aperture, envelope, obs.fps)
    if spread < MIN_APERTURE_SPREAD:
        message = f"the mouth barely moves ({spread:.3f}); a photo or a still image cannot read the statement"
    else:
        message = (f"the mouth does not move with the speech (correlation {corr:.2f}); the voice must be "
                   "the person on camera, recorded at the same time")
    passed = spread >= MIN_APERTURE_SPREAD and corr >= MIN_AV_CORRELATION
    return _check("mouth_sync", passed, f"r = {corr:.2f}", f">= {MIN_AV_CORRELATION}", message,
                  aperture_spread=spread, correlation=corr, lag_s=lag)


def check_same_person(obs: CaptureObservations, embed_threshold: float | None = None) -> CheckResult:
    embed_threshold = obs.embed_threshold if embed_threshold is None else embed_threshold
    from toolkit.consent.identity import DEFAULT_MATCH_THRESHOLD

    if (failed := _unmeasurable("same_person", obs, f"track >= {MIN_TRACK_FRACTION:.0%}")) is not None:
        return failed
    ids = obs.track_ids
    with_face = ids >= 0
    on_main = float(np.mean(ids[with_face] == obs.main_track)) if with_face.any() else 0.0
    cont = obs.face_continuity[np.isfinite(obs.face_continuity)]
    min_cont = float(cont.min()) if cont.size else float("nan")
    max_jump = float(obs.frame_jump.max()) if obs.frame_jump.size else 0.0
    sims = obs.embedding_similarities
    threshold = DEFAULT_MATCH_THRESHOLD if embed_threshold is None else embed_threshold
    min_sim = float(min(sims)) if sims else float("nan")
    problems = []
    if on_main < MIN_TRACK_FRACTION:
        problems.append(f"the face track broke (the main face is in only {on_main:.0%} of the frames with a face)")
    if cont.size and min_cont < MIN_FACE_CONTINUITY:
        at = int(np.nanargmin(obs.face_continuity)) + 1
        problems.append(f"the face changes abruptly at {at / obs.fps:.1f} s (continuity {min_cont:.2f})")
    if max_jump > MAX_FRAME_JUMP:
        at = int(np.argmax(obs.frame_jump)) + 1
        problems.append(f"the picture cuts at {at / obs.fps:.1f} s")
    if sims and min_sim < threshold:
        problems.append(f"the face does not match itself across the recording (similarity {min_sim:.2f})")
    message = ("; ".join(problems) + "; record one continuous take of the subject alone") if problems else ""
    value = f"track {on_main:.0%}, continuity {min_cont:.2f}" + (f", identity {min_sim:.2f}" if sims else "")
    return _check("same_person", not problems, value,
                  f"track >= {MIN_TRACK_FRACTION:.0%}, continuity >= {MIN_FACE_CONTINUITY}"
                  + (f", identity >= {threshold:.2f}" if sims else " (no embedder: continuity only)"),
                  message, main_track_fraction=on_main, min_continuity=min_cont, max_frame_jump=max_jump,
                  min_identity_similarity=min_sim if sims else None, embedder=obs.embedder)


def evaluate(obs: CaptureObservations, embed_threshold: float | None = None) -> CaptureReport:
    checks = [
        check_duration(obs),
        check_one_face(obs),
        check_blinks(obs),
        check_head_motion(obs),
        check_speech(obs),
        check_mouth_sync(obs),
        check_same_person(obs, embed_threshold),
    ]
    return CaptureReport(checks, obs)


def analyse_capture(path: Path | str, host: Any = None,
                    on_progress: Callable[[int, int | None], None] | None = None,
                    is_cancelled: Callable[[], bool] | None = None) -> CaptureReport:
    """Observe and evaluate a recording (does not store anything)."""
    from toolkit.plugins import get_host

    host = host or get_host()
    obs = observe(path, host, on_progress, is_cancelled)
    return evaluate(obs, obs.embed_threshold)
