"""Media I/O on the real samples and on containers/codecs made from them."""

from __future__ import annotations

import numpy as np
import pytest

from media_factory import rotated_copy, speech_wav, transcode, variable_rate_clip
from toolkit.media import VideoReader, VideoWriter, probe, read_audio, read_image, write_image


def test_probe_describes_the_samples(samples):
    info = probe(samples["WolfgangLanger_Pexels.mp4"])
    assert info.video.codec == "h264"
    assert (info.video.width, info.video.height) == (640, 360)
    assert info.video.fps == pytest.approx(23.976, abs=0.01)
    assert info.video.frame_count == 472
    assert info.audio is not None and info.audio.sample_rate == 48000
    mov = probe(samples["face_noface.mov"])
    assert mov.video.codec == "hevc"


def test_reader_streams_every_frame_with_increasing_times(samples):
    reader = VideoReader(samples["single_face.mp4"])
    times = []
    for frame in reader:
        assert frame.image.shape == (360, 640, 3) and frame.image.dtype == np.uint8
        times.append(frame.time)
    assert len(times) == 72
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(71 / 30, abs=1e-3)


def test_reader_time_range_and_downscale(samples):
    frames = list(VideoReader(samples["WolfgangLanger_Pexels.mp4"], start=5.0, end=6.0, max_side=320))
    assert 22 <= len(frames) <= 25
    assert frames[0].time >= 5.0 - 1e-6 and frames[-1].time < 6.0
    assert frames[0].image.shape == (180, 320, 3)


def test_rotation_metadata_is_applied(samples, tmp_path):
    rotated = rotated_copy(samples["single_face.mp4"], tmp_path / "rot.mp4")
    info = probe(rotated)
    assert info.video.rotation == 90 and (info.video.width, info.video.height) == (360, 640)
    upright = next(iter(VideoReader(rotated))).image
    original = next(iter(VideoReader(samples["single_face.mp4"]))).image
    assert upright.shape == (640, 360, 3)
    assert np.array_equal(upright, np.rot90(original, 1))


def test_variable_frame_rate_timestamps(samples, tmp_path):
    clip = variable_rate_clip(samples["single_face.mp4"], tmp_path / "vfr.mp4")
    assert probe(clip).video.variable_frame_rate
    assert not probe(samples["single_face.mp4"]).video.variable_frame_rate
    gaps = np.diff([f.time for f in VideoReader(clip)])
    assert gaps.min() == pytest.approx(1 / 30, abs=1e-3)
    assert gaps.max() == pytest.approx(3 / 30, abs=1e-3)


@pytest.mark.parametrize(
    "name,codec",
    [("clip.mkv", "libx264"), ("clip.webm", "libvpx-vp9"), ("clip.mov", "libx265"), ("clip.mp4", "libx265")],
)
def test_decodes_containers_and_codecs(samples, tmp_path, name, codec):
    path = transcode(samples["single_face.mp4"], tmp_path / name, codec, max_frames=12)
    info = probe(path)
    assert info.video.codec == {"libx264": "h264", "libvpx-vp9": "vp9", "libx265": "hevc"}[codec]
    frames = list(VideoReader(path))
    assert len(frames) == 12
    reference = next(iter(VideoReader(samples["single_face.mp4"]))).image.astype(float)
    assert np.abs(frames[0].image.astype(float) - reference).mean() < 8  # same picture after lossy coding


def test_writer_keeps_source_audio(samples, tmp_path):
    src = samples["single_face.mp4"]
    out = tmp_path / "out.mp4"
    with VideoWriter(out, fps=30, audio=src) as writer:
        for frame in VideoReader(src):
            writer.write(frame.image)
    info = probe(out)
    assert info.video.frame_count == 72 and info.video.codec == "h264"
    assert info.audio is not None and info.audio.codec == "aac"
    assert info.audio.duration == pytest.approx(2.4, abs=0.1)
    assert not list(tmp_path.glob(".*part*"))


def test_writer_replaces_audio_with_speech(samples, tmp_path):
    wav = speech_wav(tmp_path / "speech.wav", "Hello there, this replaces the audio.")
    speech = read_audio(wav, sample_rate=16000)
    assert np.abs(speech).max() > 0.1
    out = tmp_path / "speech.mp4"
    frames = list(VideoReader(samples["single_face.mp4"]))
    with VideoWriter(out, fps=30, audio=speech, audio_rate=16000) as writer:
        for frame in frames:
            writer.write(frame.image)
    back = read_audio(out, sample_rate=16000)
    assert back.size == pytest.approx(2.4 * 16000, rel=0.05)  # trimmed to the video
    n = min(back.size, speech.size)
    corr = np.corrcoef(np.abs(back[:n]), np.abs(speech[:n]))[0, 1]
    assert corr > 0.5


def test_writer_pads_odd_sizes_and_aborts_cleanly(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, fps=10) as writer:
        for _ in range(5):
            writer.write(np.full((101, 51, 3), 128, np.uint8))
    assert (probe(out).video.width, probe(out).video.height) == (52, 102)

    failed = tmp_path / "failed.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(failed, fps=10) as writer:
            writer.write(np.zeros((64, 64, 3), np.uint8))
            raise RuntimeError("generator crashed")
    assert not failed.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["odd.mp4"]


def test_images_round_trip(samples, tmp_path):
    image = read_image(samples["single_face.jpg"])
    assert image.shape == (562, 572, 3)
    write_image(tmp_path / "copy.png", image)
    assert np.array_equal(read_image(tmp_path / "copy.png"), image)
    frames = list(VideoReader(samples["multi_face.jpg"]))
    assert len(frames) == 1 and frames[0].image.shape == (667, 1000, 3)
