"""The example detector's own tests, written with dftk's conformance kit on real clips."""

import numpy as np
import pytest

import dftk_blink
from toolkit.samples import sample_path
from toolkit.testing import check_detector, check_plugin, clip_analysis

LONG_CLIP = "WolfgangLanger_Pexels.mp4"  # a real 20 s clip of a woman who blinks now and then
WINDOW = 120  # analysed frames: 5 s from the middle of the clip, enough to count blinks


def test_plugin_conforms():
    assert check_plugin(dftk_blink).registered["detectors"] == ["blink"]


def test_contract_and_bad_input():
    # The kit's default: a 0.8 s segment of a real clip. Too short to count blinks, so the
    # detector must say so rather than guess; faceless, silent and still variants too.
    run = check_detector(dftk_blink.BlinkDetector, expect_applicable=False)
    assert "4 s" in run.result.reason
    assert run.bad_input["no faces"].reason == "no face found"
    assert "still image" in run.bad_input["a one-frame still image"].reason


def test_counts_the_blinks_of_a_real_clip():
    run = check_detector(dftk_blink.BlinkDetector, sample_path(LONG_CLIP), max_frames=WINDOW, expect_applicable=True)
    facts = next(e.data for e in run.result.evidence if e.kind == "fact")
    assert 2 <= facts["blinks"] <= 4 and 4.5 < facts["seconds"] < 5.5  # a normal 17/min or so
    assert run.result.clip_score == 0.5  # blinking is no evidence either way


def _freeze_lids(points: np.ndarray, reference: np.ndarray) -> None:
    """Put every eyelid point where it was on the reference frame, relative to the eye's corners."""
    for p1, p2, p3, p4, p5, p6 in (dftk_blink.RIGHT_EYE, dftk_blink.LEFT_EYE):
        def basis(pts):
            u = pts[p4, :2] - pts[p1, :2]
            return pts[p1, :2], np.array([u, [-u[1], u[0]]])
        ref_origin, ref_basis = basis(reference)
        origin, frame_basis = basis(points)
        for i in (p2, p3, p5, p6):
            coords = np.linalg.solve(ref_basis.T, reference[i, :2] - ref_origin)
            points[i, :2] = origin + frame_basis.T @ coords


def test_eyes_that_never_close_raise_the_score():
    clip = clip_analysis(sample_path(LONG_CLIP), max_frames=WINDOW)
    reference = clip.frames[0].faces[0].landmarks.copy()  # eyes open
    for frame in clip.frames:
        for face in frame.faces:
            if face.landmarks is not None:
                _freeze_lids(face.landmarks, reference)
    result = check_detector(dftk_blink.BlinkDetector, clip, expect_applicable=True).result
    assert result.explanation.startswith("blinks: 0 in")
    # five seconds without a blink is only weak evidence: Poisson odds of 4.5/min against 1/min
    assert result.clip_score == pytest.approx(1 / (1 + np.exp(-(4.5 - 1.0) * 5.0 / 60)), abs=0.01)


def test_the_score_follows_the_blink_count():
    assert dftk_blink.manipulation_score(17, 60.0) == 0.5  # a resting rate: no evidence
    assert dftk_blink.manipulation_score(0, 60.0) > 0.95  # a minute without a blink
    assert dftk_blink.manipulation_score(0, 20.0) < dftk_blink.manipulation_score(0, 40.0)
