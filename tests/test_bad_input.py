"""Bad input gives a typed error, a one-line message, a non-zero exit and no partial file."""

from __future__ import annotations

import pytest

from media_factory import audio_only_m4a, huge_image, speech_wav, truncated_copy
from toolkit.errors import InputError, MediaTooLargeError, NoVideoStreamError, UnsupportedMediaError
from toolkit.media import VideoReader, probe


def _assert_clean_failure(run_cli, args, expected_code=2):
    code, out, err = run_cli(*args)
    assert code == expected_code
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err + out
    return lines[0]


def test_zero_byte_file(tmp_path, run_cli):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        probe(empty)
    assert "empty" in _assert_clean_failure(run_cli, ["probe", empty])


def test_missing_file(tmp_path, run_cli):
    assert "no such file" in _assert_clean_failure(run_cli, ["probe", tmp_path / "nope.mp4"])


def test_non_media_file(tmp_path, run_cli):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(UnsupportedMediaError):
        probe(text)
    assert "not a media file" in _assert_clean_failure(run_cli, ["probe", text])


@pytest.mark.parametrize("fraction", [0.05, 0.5])
def test_truncated_files(samples, tmp_path, run_cli, fraction):
    # 5% cuts into the sample data after a front index; 50% of a re-muxed copy loses the
    # tail index. Either way the user hears "truncated", not a decoder error.
    cut = truncated_copy(samples["WolfgangLanger_Pexels.mp4"], tmp_path / "cut.mp4", fraction)
    with pytest.raises(InputError, match="truncated"):
        probe(cut)
    assert "truncated" in _assert_clean_failure(run_cli, ["probe", cut])


def test_truncated_file_with_index_at_the_end(samples, tmp_path):
    # single_face.mp4 keeps its moov box at the end: cutting it loses the index.
    cut = truncated_copy(samples["single_face.mp4"], tmp_path / "cut.mp4", 0.5)
    with pytest.raises(InputError, match="truncated"):
        VideoReader(cut)


def test_audio_only_input(tmp_path, run_cli):
    m4a = audio_only_m4a(tmp_path / "speech.m4a", speech_wav(tmp_path / "speech.wav"))
    with pytest.raises(NoVideoStreamError, match="audio only"):
        VideoReader(m4a)
    # probe itself describes audio-only files; consumers that need video refuse them.
    code, out, err = run_cli("probe", "--json", m4a)
    assert code == 0 and '"video": null' in out


def test_huge_dimensions(tmp_path, run_cli):
    big = huge_image(tmp_path / "wide.png")
    with pytest.raises(MediaTooLargeError):
        probe(big)
    assert "exceeds" in _assert_clean_failure(run_cli, ["probe", big])


def test_json_mode_reports_errors_as_json(tmp_path, run_cli):
    import json

    text = tmp_path / "x.mov"
    text.write_text("nope")
    code, out, _ = run_cli("probe", "--json", text)
    assert code == 2
    assert json.loads(out) == {"error": "unsupported_media", "message": "x.mov: not a media file that can be decoded"}
