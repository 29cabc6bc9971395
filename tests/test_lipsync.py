"""Lip-sync mouth motion: text and audio paths, the learned per-person model, landmarks, sync.

Speech is real espeak-ng output; landmarks are MediaPipe's face mesh of a real photo.
None of the sample clips shows someone speaking, so the learned path is tested on
constructed data: espeak-ng speech paired with the mouth-opening curve the text path
derives from its phonemes, trained on one paragraph and evaluated on another.
"""

from __future__ import annotations

import ctypes.util

import numpy as np
import pytest

from toolkit.errors import InputError, ModelError

pytestmark = pytest.mark.skipif(
    ctypes.util.find_library("espeak-ng") is None, reason="libespeak-ng (apt package espeak-ng) is not installed"
)

FPS = 25
BILABIAL_TEXT = "Papa bought a bomb. Bob made a map. My mom's palm, a pop of bubbles."

TRAIN_TEXT = (
    "Our neighbour painted the garden gate a cheerful green. The train to the coast leaves at half past nine. "
    "She folded the map and put it back in her pocket. A cold wind blew across the empty parking lot. "
    "Thomas bought fresh bread and a jar of honey. We watched the boats drift slowly past the harbour. "
    "The teacher asked everyone to open their books. Please remember to water the plants on Friday. "
    "His old bicycle squeaks whenever it rains. The museum was quiet except for our footsteps. "
    "Mix the flour with butter until it looks like sand. Only a few stars were visible above the city. "
    "They moved the piano up three flights of stairs. My brother forgot his umbrella at the office. "
    "The soup needs more pepper and a little lemon. Owls hunt at night and sleep through the day."
)
HELD_OUT_TEXT = (
    "My grandmother keeps a small boat by the lake. We often walk to the market on Sunday mornings. "
    "Who would have thought the movie could be so good? Please open the window, it is warm in here. "
    "Bright yellow paint covered the old wooden fence."
)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture(scope="module")
def bilabial_track():
    from toolkit.lipsync import mouth_track_from_text

    return mouth_track_from_text(BILABIAL_TEXT, FPS)


@pytest.fixture(scope="module")
def face_landmarks(samples) -> np.ndarray:
    """478 face-mesh points (pixels, x y z) of the real sample photo."""
    import mediapipe as mp

    from toolkit.media import read_image

    image = read_image(samples["single_face.jpg"])
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as mesh:
        found = mesh.process(image).multi_face_landmarks
    assert found, "MediaPipe found no face in the sample photo"
    h, w = image.shape[:2]
    return np.array([[p.x * w, p.y * h, p.z * w] for p in found[0].landmark], np.float64)


# --- text path ---------------------------------------------------------------------------


def test_text_phonemes_and_visemes_are_monotone_and_cover_the_speech(bilabial_track):
    from toolkit.lipsync.visemes import keyframes, phoneme_visemes

    track = bilabial_track
    duration = len(track.audio) / track.audio_rate
    phonemes = track.phonemes
    assert track.audio.dtype == np.float32 and track.audio_rate == 22050 and 2.0 < duration < 10.0
    assert np.abs(track.audio).max() <= 1.0
    # contiguous, strictly increasing segments from 0 to the end of the audio
    assert phonemes[0].start == 0.0 and phonemes[-1].end == pytest.approx(duration)
    assert all(p.end > p.start for p in phonemes)
    assert all(a.end == b.start for a, b in zip(phonemes, phonemes[1:]))
    spoken = [p for p in phonemes if p.symbol]
    assert len(spoken) >= 30 and {"p", "b", "m"} <= {p.symbol for p in spoken}
    assert all("sil" not in phoneme_visemes(p.symbol) for p in spoken)
    frames = keyframes(phonemes)
    times = [f.time for f in frames]
    assert times == sorted(times) and 0.0 <= times[0] and times[-1] <= duration
    # the phoneme timing matches the audio: pauses are quiet, phonemes are not
    rate = track.audio_rate

    def rms(p):
        seg = track.audio[int(p.start * rate) : int(p.end * rate)]
        return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0

    vowels = [p for p in spoken if phoneme_visemes(p.symbol)[0] in ("aa", "E", "oh")]
    pauses = [p for p in phonemes if not p.symbol and p.end - p.start > 0.1]
    assert pauses and min(rms(p) for p in vowels) > 10 * max(rms(p) for p in pauses)
    # one frame per 1/fps of audio, every parameter within range
    assert track.n_frames == int(np.ceil(duration * FPS - 1e-6))
    assert track.params.shape == (track.n_frames, 3) and track.params.dtype == np.float32
    assert track.open.min() >= 0 and track.open.max() <= 1 and np.abs(track.width).max() <= 1


def test_open_vowels_open_the_mouth_and_bilabials_close_it(bilabial_track):
    from toolkit.lipsync import mouth_curve
    from toolkit.lipsync.visemes import keyframes

    track = bilabial_track
    frames = keyframes(track.phonemes)
    closures = [f for f in frames if f.viseme == "PP"]
    # full open vowels (>= 100 ms; a reduced "a" squeezed between two closures cannot open wide)
    open_vowels = [f for f in frames if f.viseme == "aa" and f.spread >= 0.05]
    assert len(closures) >= 12 and len(open_vowels) >= 5
    closed = mouth_curve(track.phonemes, np.array([f.time for f in closures]))[:, 0]
    opened = mouth_curve(track.phonemes, np.array([f.time for f in open_vowels]))[:, 0]
    assert closed.max() < 0.12, closed
    assert opened.min() > 0.45, opened
    # at video rate every p/b/m still shows a nearly closed frame next to its closure
    for f in closures:
        i = int(round(f.time * FPS))
        assert track.open[max(i - 1, 0) : i + 2].min() < 0.12, (f, track.open[i - 1 : i + 2])
    # rounding: "who" rounds and protrudes, "see" spreads
    from toolkit.lipsync import mouth_track_from_text

    oo = mouth_track_from_text("Who? Who? Who?", FPS)
    ee = mouth_track_from_text("See. See. See.", FPS)
    assert oo.width.min() < -0.6 and oo.protrude.max() > 0.6
    assert ee.width.max() > 0.4 and ee.protrude.max() < 0.1


def test_text_errors_are_input_errors():
    from toolkit.lipsync import mouth_track_from_text

    for bad in ("", "   "):
        with pytest.raises(InputError):
            mouth_track_from_text(bad, FPS)
    with pytest.raises(InputError, match="voice"):
        mouth_track_from_text("hello", FPS, voice="no-such-voice")
    with pytest.raises(InputError, match="frame rate"):
        mouth_track_from_text("hello", 0)


# --- training-free audio path ------------------------------------------------------------


def test_envelope_path_opens_during_speech_and_closes_in_silence(bilabial_track, samples):
    from toolkit.lipsync import mouth_track_from_audio, speech_seconds
    from toolkit.lipsync.features import resample
    from toolkit.media import read_audio

    # real room noise (single_face.mp4 has no speech), 10x louder: speech at ~17 dB SNR
    room = read_audio(samples["single_face.mp4"], sample_rate=16000)
    assert room.size > 16000 and speech_seconds(room, 16000) == 0.0
    assert mouth_track_from_audio(room, 16000, FPS).open.max() == 0.0
    speech = resample(bilabial_track.audio, bilabial_track.audio_rate, 16000)
    pad = 1.0
    audio = 10 * np.resize(room, len(speech) + int(2 * pad * 16000))
    audio[int(pad * 16000) : int(pad * 16000) + len(speech)] += speech
    snr = 10 * np.log10(np.mean(speech**2) / np.mean((10 * room) ** 2))
    assert 12 < snr < 22

    track = mouth_track_from_audio(audio, 16000, FPS)
    assert track.source == "envelope" and track.n_frames == int(np.ceil(len(audio) / 16000 * FPS - 1e-6))
    lead = int(pad * FPS)
    spoken = track.open[lead : lead + bilabial_track.n_frames]
    margin = int(0.3 * FPS)
    assert track.open[: lead - margin].max() < 0.02
    assert track.open[lead + bilabial_track.n_frames + margin :].max() < 0.02
    assert spoken.mean() > 0.2 and spoken.max() > 0.5
    # it follows the phonetic opening curve, if loosely
    assert corr(spoken, bilabial_track.open) > 0.45


def test_envelope_path_in_pure_silence_keeps_the_mouth_closed():
    from toolkit.lipsync import mouth_track_from_audio

    track = mouth_track_from_audio(np.zeros(16000, np.float32), 16000, FPS)
    assert track.n_frames == FPS and np.all(track.params == 0)
    with pytest.raises(InputError):
        mouth_track_from_audio(np.zeros(0, np.float32), 16000, FPS)


# --- learned per-person path (constructed data) --------------------------------------------


def test_learned_path_beats_the_envelope_on_held_out_audio(tmp_path, face_landmarks):
    from toolkit.lipsync import (
        AudioToMouth, apply_mouth_track, mouth_track_from_audio, mouth_track_from_text, train_audio_to_mouth,
    )

    train = mouth_track_from_text(TRAIN_TEXT, FPS)
    held_out = mouth_track_from_text(HELD_OUT_TEXT, FPS)
    assert train.n_frames / FPS > 35 and held_out.n_frames / FPS > 12
    # the "recording": its audio plus face-mesh landmarks per frame whose mouth follows the
    # phonetic curve; a few frames lost the face (NaN), as happens with a real recording
    landmarks = apply_mouth_track(face_landmarks, train.params, neutral=face_landmarks)
    landmarks[::40] = np.nan
    model = train_audio_to_mouth(train.audio, train.audio_rate, FPS, landmarks, neutral=face_landmarks, steps=400, seed=0)
    report = model.report
    assert report.validation_frames > 150 and report.best_step > 0
    assert report.validation_open_corr > report.envelope_open_corr

    learned = mouth_track_from_audio(held_out.audio, held_out.audio_rate, FPS, model=model, n_frames=held_out.n_frames)
    envelope = mouth_track_from_audio(held_out.audio, held_out.audio_rate, FPS, n_frames=held_out.n_frames)
    r_learned, r_envelope = corr(learned.open, held_out.open), corr(envelope.open, held_out.open)
    # envelope ~0.6 here; an untrained net is ~0; the learned model must clearly beat both
    assert r_learned > 0.75 and r_learned > r_envelope + 0.1, (r_learned, r_envelope)
    assert corr(learned.width, held_out.width) > corr(envelope.width, held_out.width)

    path = model.save(tmp_path / "models" / "subject.pt")
    again = AudioToMouth.load(path)
    assert again.report == report
    np.testing.assert_allclose(
        again.predict(held_out.audio, held_out.audio_rate, FPS), model.predict(held_out.audio, held_out.audio_rate, FPS), atol=1e-6
    )
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelError):
        AudioToMouth.load(tmp_path / "junk.pt")


def test_learning_refuses_a_recording_without_speech():
    from toolkit.lipsync import train_audio_to_mouth

    with pytest.raises(InputError, match="too little speech"):
        train_audio_to_mouth(np.zeros(16000 * 10, np.float32), 16000, FPS, np.zeros((10 * FPS, 3)), steps=5)


# --- landmarks ---------------------------------------------------------------------------


def test_apply_mouth_moves_only_mouth_and_jaw_and_sets_the_aperture(face_landmarks):
    from mediapipe.python.solutions import face_mesh_connections as fmc

    from toolkit.lipsync import apply_mouth, mouth_aperture, mouth_params_from_landmarks, mouth_width
    from toolkit.lipsync.mesh import mouth_regions
    from toolkit.lipsync.params import OPEN_APERTURE

    lm = face_landmarks
    untouched = set()
    for region in (fmc.FACEMESH_LEFT_EYE, fmc.FACEMESH_RIGHT_EYE, fmc.FACEMESH_LEFT_EYEBROW,
                   fmc.FACEMESH_RIGHT_EYEBROW, fmc.FACEMESH_LEFT_IRIS, fmc.FACEMESH_RIGHT_IRIS):
        untouched |= {i for pair in region for i in pair}
    untouched |= {1, 4, 5, 6, 168, 10, 151}  # nose tip and bridge, forehead
    lips = set(mouth_regions().lips)

    apertures = []
    for value in (0.0, 0.2, 0.5, 0.8):
        out = apply_mouth(lm, (value, 0.0, 0.0))
        moved = set(np.flatnonzero(np.linalg.norm(out - lm, axis=1) > 1e-9))
        assert not moved & untouched
        assert moved & lips
        apertures.append(mouth_aperture(out))
        assert mouth_aperture(out) == pytest.approx(value * OPEN_APERTURE, abs=0.01)
    assert np.all(np.diff(apertures) > 0.04)
    # the jaw follows: the chin drops with the opening, the forehead does not
    wide = apply_mouth(lm, (0.8, 0.0, 0.0))
    closed = apply_mouth(lm, (0.0, 0.0, 0.0))
    scale = np.linalg.norm(lm[33, :2] - lm[263, :2])
    assert (wide[152, 1] - closed[152, 1]) / scale > 0.15
    # width and protrusion are measured back; deterministic
    spread = apply_mouth(lm, (0.3, 0.8, 0.0), neutral=lm)
    rounded = apply_mouth(lm, (0.3, -0.8, 0.8), neutral=lm)
    assert mouth_width(spread) > mouth_width(lm) > mouth_width(rounded)
    np.testing.assert_allclose(mouth_params_from_landmarks(rounded, neutral=lm), (0.3, -0.8, 0.8), atol=0.02)
    np.testing.assert_array_equal(apply_mouth(lm, (0.3, -0.8, 0.8), neutral=lm), rounded)
    with pytest.raises(InputError):
        apply_mouth(lm[:100], (0.5, 0, 0))


def test_apply_mouth_track_on_landmarks_reproduces_the_track(face_landmarks, bilabial_track):
    from toolkit.lipsync import apply_mouth_track, mouth_aperture
    from toolkit.lipsync.params import OPEN_APERTURE

    frames = apply_mouth_track(face_landmarks, bilabial_track.params[:40], neutral=face_landmarks)
    assert frames.shape == (40, 478, 3)
    np.testing.assert_allclose(mouth_aperture(frames), bilabial_track.open[:40] * OPEN_APERTURE, atol=0.01)


# --- sync measures -----------------------------------------------------------------------


@pytest.mark.parametrize("injected", [0, 3, -4])
def test_av_sync_finds_an_injected_lag(face_landmarks, injected):
    from toolkit.lipsync import apply_mouth_track, audio_envelope, av_sync, mouth_aperture, mouth_track_from_text

    track = mouth_track_from_text("Papa bought a bomb. Who knew she would see me? Open the window, Bob.", FPS)
    envelope = audio_envelope(track.audio, track.audio_rate, FPS, track.n_frames)
    aperture = mouth_aperture(apply_mouth_track(face_landmarks, track.params, neutral=face_landmarks))
    shifted = np.roll(aperture, injected)  # > 0: the mouth moves later than the sound
    if injected > 0:
        shifted[:injected] = aperture[0]
    elif injected < 0:
        shifted[injected:] = aperture[-1]
    result = av_sync(shifted, envelope, FPS, max_lag_frames=8)
    assert result.lag_frames == injected, result
    assert result.lag_seconds == pytest.approx(injected / FPS)
    assert result.correlation > 0.5 and set(result.correlations) == set(range(-8, 9))
    # an unrelated mouth (another sentence) correlates far worse
    other = mouth_track_from_text("Fine, thanks. Seven wives with sacks.", FPS)
    n = min(other.n_frames, track.n_frames)
    assert av_sync(other.open[:n], envelope[:n], FPS, max_lag_frames=8).correlation < result.correlation - 0.1
