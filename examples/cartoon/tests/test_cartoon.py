"""The example plugin's own tests, written with dftk's conformance kit."""

import numpy as np
import pytest

import dftk_cartoon
from toolkit.media import VideoReader
from toolkit.samples import sample_path
from toolkit.testing import check_generator, check_plugin, check_refused_without_consent, pending_ok


@pytest.fixture(scope="module")
def clip():
    return sample_path("single_face.mp4")


def test_plugin_conforms():
    assert check_plugin(dftk_cartoon).registered["generators"] == ["cartoon"]


def test_frames_are_cartoons_and_nothing_is_written(clip):
    run = check_generator(dftk_cartoon.CartoonGenerator, {"video": clip}, {"levels": 4}, max_frames=5)
    original = next(iter(VideoReader(clip))).image
    out = run.frames[0]
    assert out.shape == original.shape
    # 4 levels per channel and black ink: at most 4**3 + 1 colours, far fewer than the clip has
    colours = np.unique(out.reshape(-1, 3), axis=0)
    assert len(colours) <= 65 < len(np.unique(original.reshape(-1, 3), axis=0))
    assert (out.reshape(-1, 3) == 0).all(axis=1).mean() > 0.01  # ink lines


def test_refused_without_consent(clip):
    pending_ok(check_refused_without_consent, dftk_cartoon.CartoonGenerator, {"video": clip})
