"""Invisible watermark: payload and keys, round trips on real sample media, real attacks
(libx264 re-encode, JPEG, crop, downscale, brightness), unmarked media, wrong keys, PSNR."""

from __future__ import annotations

import math
import os
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from toolkit.errors import InputError, UnsupportedMediaError
from toolkit.paths import samples_dir
from toolkit.samples import sample_path
from watermark import attacks
from watermark.detect import detect_file, detect_frames, detect_image
from watermark.ecc import ConvolutionalCode
from watermark.falsealarm import MAX_FALSE_RATE, bits_bound, score_bound, thresholds
from watermark.invisible import WatermarkDecoder, WatermarkEmbedder
from watermark.keys import (
    ENV_VAR,
    PUBLIC_KEY,
    WatermarkKey,
    create_private_key,
    detection_keys,
    embedding_key,
)
from watermark.payload import Payload, PayloadError, installation_id, new_output_id
from watermark.pattern import CODE, CODED_BITS, PAYLOAD_BITS

# Tests below point DFTK_HOME at a temporary directory; keep using the shared sample cache.
os.environ.setdefault("DFTK_SAMPLES_DIR", str(samples_dir()))

ID = Payload(installation=0x5A5A5, serial=0x0123456789)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def read_frames(name: str, count: int) -> list[np.ndarray]:
    with av.open(str(sample_path(name))) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                break
    return frames


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.open(sample_path("single_face.jpg")).convert("RGB"))


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return read_frames("single_face.mp4", 24)


@pytest.fixture(scope="module")
def marked_photo(photo) -> np.ndarray:
    return WatermarkEmbedder(ID, PUBLIC_KEY, profile="image")(photo)


@pytest.fixture(scope="module")
def marked_clip(clip) -> list[np.ndarray]:
    embedder = WatermarkEmbedder(ID, PUBLIC_KEY)
    return [embedder(f) for f in clip]


@pytest.fixture(autouse=True)
def isolated_state(tmp_path, monkeypatch):
    monkeypatch.setenv("DFTK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(ENV_VAR, raising=False)


def assert_found(result, payload: Payload = ID) -> None:
    assert result.found, f"not found: score {result.score:.2f}/{result.score_threshold:.2f}, " \
                         f"bits {result.matching_bits}/{result.bit_threshold}"
    assert result.payload_hex == payload.hex
    assert result.payload == payload


# --- payload and keys -----------------------------------------------------------------------

def test_payload_build_and_parse():
    p = Payload(installation=0xABCDE, serial=123456789)
    assert p.version == 1 and len(p.hex) == 16
    assert p.hex == "1abcde00075bcd15"
    assert Payload.from_hex(p.hex) == p == Payload.from_int(p.value)
    assert Payload.from_hex("0x" + p.hex.upper()) == p
    for bad in ("123", "zz" * 8, "1" * 17):
        with pytest.raises(PayloadError):
            Payload.from_hex(bad)
    with pytest.raises(PayloadError):
        Payload(installation=1 << 20, serial=0)
    with pytest.raises(PayloadError):
        Payload.from_int(1 << 64)


def test_new_output_ids_are_unique_and_name_the_installation():
    ids = [new_output_id() for _ in range(5)]
    assert len({p.hex for p in ids}) == 5
    assert {p.installation for p in ids} == {installation_id()}
    serials = [p.serial for p in ids]
    assert serials == list(range(serials[0], serials[0] + 5))


def test_key_configuration(monkeypatch):
    assert detection_keys() == [PUBLIC_KEY] and embedding_key() == PUBLIC_KEY
    monkeypatch.setenv(ENV_VAR, "my secret")
    assert [k.name for k in detection_keys()] == ["private", "public"]
    assert embedding_key() == WatermarkKey("private", b"my secret")
    assert "my secret" not in repr(embedding_key())
    monkeypatch.delenv(ENV_VAR)
    created = create_private_key()
    assert detection_keys() == [created, PUBLIC_KEY]


# --- code and thresholds --------------------------------------------------------------------

def test_convolutional_code_corrects_noisy_soft_values():
    rng = np.random.default_rng(0)
    msg = rng.integers(0, 2, PAYLOAD_BITS)
    coded = CODE.encode(msg)
    assert coded.size == CODED_BITS == 512
    noisy = 0.8 * (2.0 * coded - 1.0) + rng.standard_normal(coded.size)  # ~21 % raw bit errors
    assert np.mean((noisy > 0) != coded) > 0.1
    assert np.array_equal(CODE.decode(noisy), msg)
    small = ConvolutionalCode((0o133, 0o171))
    assert np.array_equal(small.decode(2.0 * small.encode(msg) - 1.0), msg)


def test_thresholds_bound_false_detection_rate():
    for trials in (64, 128):
        th = thresholds(CODED_BITS, PAYLOAD_BITS, trials)
        assert th.false_rate_bound <= MAX_FALSE_RATE
        # Minimal: one bit fewer or a slightly lower score would break the half budget.
        assert bits_bound(th.bits - 1, CODED_BITS, PAYLOAD_BITS, trials) > MAX_FALSE_RATE / 2
        assert score_bound(th.score - 0.05, PAYLOAD_BITS, trials) > MAX_FALSE_RATE / 2


# --- still images ----------------------------------------------------------------------------

def test_still_round_trip_psnr_and_result_fields(photo, marked_photo):
    assert marked_photo.shape == photo.shape and marked_photo.dtype == np.uint8
    assert psnr(marked_photo, photo) >= 40.0
    result = detect_image(marked_photo)
    assert_found(result)
    assert result.key == "public" and result.profile == "image" and result.scale == 1.0
    assert result.bit_accuracy > 0.9 and result.frames == 1
    assert result.false_rate_bound <= MAX_FALSE_RATE


@pytest.mark.parametrize("name,attack", [
    ("crop 0.71", lambda im: attacks.center_crop(im, 0.71)),
    ("downscale 0.5", lambda im: attacks.resize(im, 0.5)),
    ("jpeg 40", lambda im: attacks.jpeg(im, 40)),
    ("brightness 0.5", lambda im: attacks.brightness(im, 0.5)),
    ("brightness 1.5", lambda im: attacks.brightness(im, 1.5)),
    ("mirror", lambda im: np.ascontiguousarray(im[:, ::-1])),
])
def test_still_survives(marked_photo, name, attack):
    attacked = attack(marked_photo)
    result = detect_image(attacked)
    assert_found(result)
    assert result.scale == (0.5 if name.startswith("downscale") else 1.0)
    assert result.mirrored == (name == "mirror")


# --- video -----------------------------------------------------------------------------------

def test_video_marks_are_static_and_keep_psnr(clip, marked_clip):
    # No flicker: wherever nothing clipped, every frame received exactly the same pattern.
    deltas = [m.astype(np.int16) - f for m, f in zip(marked_clip, clip)]
    unclipped = np.all([(f > 8) & (f < 247) for f in clip], axis=0)
    assert np.array_equal(deltas[0][unclipped], deltas[-1][unclipped])
    assert min(psnr(m, f) for m, f in zip(marked_clip, clip)) >= 40.0


def test_clip_survives_real_h264_reencode(marked_clip):
    reencoded = attacks.h264(marked_clip, crf=30)
    assert len(reencoded) == len(marked_clip)
    assert psnr(reencoded[5], marked_clip[5]) < 45  # the encoder really changed the frames
    result = detect_frames(reencoded)
    assert_found(result)
    assert result.profile == "video" and result.frames == len(marked_clip)


@pytest.mark.parametrize("attack", [
    lambda f: attacks.center_crop(f, 0.71),
    lambda f: attacks.resize(f, 0.5),
])
def test_clip_survives_crop_and_downscale(marked_clip, attack):
    assert_found(detect_frames([attack(f) for f in marked_clip]))


def test_streaming_decoder_accumulates_frames(marked_clip):
    decoder = WatermarkDecoder()
    decoder.add(attacks.h264(marked_clip[:2], crf=40)[0])
    one = decoder.result()
    for frame in attacks.h264(marked_clip, crf=40)[1:]:
        decoder.add(frame)
    many = decoder.result()
    assert many.frames == len(marked_clip)
    assert many.score > one.score


# --- no false detections, keys ----------------------------------------------------------------

def test_unmarked_sample_media_is_not_detected(photo):
    cases = {name: read_frames(name, 12) for name in ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "no_face.mp4")}
    cases["single_face.jpg"] = [photo]
    cases["multi_face.jpg"] = [np.asarray(Image.open(sample_path("multi_face.jpg")).convert("RGB"))]
    for name, frames in cases.items():
        result = detect_frames(frames)
        assert not result.found, name
        assert result.payload_hex is None and result.key is None
        assert result.score < result.score_threshold and result.matching_bits < result.bit_threshold
        assert 0.55 < result.bit_accuracy < result.bit_threshold / result.coded_bits


def test_private_key_marks_need_that_key(monkeypatch, clip):
    key_a = WatermarkKey("private", b"installation A")
    marked = [WatermarkEmbedder(ID, key_a)(f) for f in clip[:8]]
    assert not detect_frames(marked, keys=[WatermarkKey("private", b"installation B")]).found
    assert not detect_frames(marked, keys=[PUBLIC_KEY]).found
    monkeypatch.setenv(ENV_VAR, "installation A")
    result = detect_frames(marked)  # configured key first, then the public key
    assert_found(result)
    assert result.key == "private" and result.key_fingerprint == key_a.fingerprint


# --- files and inputs -------------------------------------------------------------------------

def test_detect_file_on_written_video_and_image(tmp_path, marked_clip, marked_photo, photo):
    video = tmp_path / "marked.mp4"
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "18"}
        for frame in marked_clip:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    assert_found(detect_file(video))
    png = tmp_path / "marked.png"
    Image.fromarray(marked_photo).save(png)
    assert_found(detect_file(png))
    plain = tmp_path / "plain.jpg"
    Image.fromarray(photo).save(plain, quality=90)
    assert not detect_file(plain).found


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(InputError):
        detect_file(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(UnsupportedMediaError):
        detect_file(junk)
    embedder = WatermarkEmbedder(ID)
    with pytest.raises(ValueError):
        embedder(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(ValueError):
        embedder(np.zeros((64, 64), np.uint8))
    with pytest.raises(PayloadError):
        WatermarkEmbedder("not hex")
