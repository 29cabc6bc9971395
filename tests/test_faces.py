"""The face pass on real sample media: detectors, mesh, alignment, tracking, masks,
paste-back, odd containers, and the ``dftk faces`` command."""

from __future__ import annotations

import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from toolkit.errors import PluginError
from toolkit.faces import (
    FacePipeline,
    FaceTracker,
    align_face,
    available_backends,
    detect_faces,
    face_mask,
    get_backend,
    get_detector,
    get_landmarker,
    paste_back,
    template,
    warp_to_frame,
)
from toolkit.faces import mesh_topology as topo
from toolkit.faces.geometry import iou
from toolkit.media import Frame, VideoReader, probe, read_image


def _psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        diff = diff[mask]
    return float(10 * np.log10(255.0**2 / max(diff.mean(), 1e-12)))


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from toolkit.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def sample(samples):
    """``sample("single_face.mp4")`` -> path of a verified sample (shared conftest cache)."""
    return samples.__getitem__


@pytest.fixture(scope="module", autouse=True)
def builtin_face_plugins():
    """Only this package's face plugins, so other installed plugins cannot change results."""
    import plugins.faces_mediapipe
    import plugins.faces_mtcnn
    from toolkit.plugins import PluginHost, get_host, set_host

    previous = get_host()
    host = PluginHost(load_entry_points=False)
    host.register(plugins.faces_mediapipe, "faces_mediapipe", "builtin")
    host.register(plugins.faces_mtcnn, "faces_mtcnn", "builtin")
    set_host(host)
    yield host
    set_host(previous)


@pytest.fixture(scope="module")
def single_face_frames(sample) -> list[Frame]:
    return list(VideoReader(sample("single_face.mp4")))


@pytest.fixture(scope="module")
def photo(sample):
    """single_face.jpg, its static face pass, and MTCNN's detection of it."""
    image = read_image(sample("single_face.jpg"))
    result = detect_faces(image)
    assert len(result.faces) == 1 and result.faces[0].mesh is not None
    mtcnn = get_detector("mtcnn").detect(image)
    assert len(mtcnn) == 1
    return image, result.faces[0], mtcnn[0]


# -- backends -------------------------------------------------------------------------
def test_builtin_backends_are_declared_as_entry_points():
    import importlib.metadata

    declared = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="dftk")}
    assert declared["faces_mediapipe"] == "plugins.faces_mediapipe"
    assert declared["faces_mtcnn"] == "plugins.faces_mtcnn"


def test_builtin_backends_are_registered_and_selectable():
    assert [b.name for b in available_backends("detector")] == ["mediapipe", "mtcnn"]
    assert [b.name for b in available_backends("landmarker")] == ["mediapipe_mesh"]
    assert get_detector().name == "mediapipe"  # highest priority
    assert get_backend("detector", "mtcnn").name == "mtcnn"
    with pytest.raises(PluginError, match="no face detector called 'nope'.*mediapipe"):
        get_detector("nope")
    with pytest.raises(PluginError, match="no face embedder"):
        get_backend("embedder")  # none among the builtin face plugins


def test_a_plugin_backend_with_higher_priority_wins(builtin_face_plugins):
    from toolkit.hookspecs import hookimpl
    from toolkit.plugins import PluginHost, set_host

    class Fake:
        name, kind, priority = "fake_detector", "detector", 1000

        def detect(self, image):
            return []

    class Broken:  # claims to be a landmarker but has none of its methods
        name, kind, priority = "broken_mesh", "landmarker", 1000

    class Plugin:
        @hookimpl
        def register_face_backends(self, register):
            register(Fake())
            register(Broken())

    host = PluginHost(load_entry_points=False)
    for name in builtin_face_plugins.info:
        host.register(builtin_face_plugins.pm.get_plugin(name), name, "builtin")
    host.register(Plugin(), "fake")
    set_host(host)
    try:
        assert get_detector().name == "fake_detector"
        assert get_detector("mediapipe").name == "mediapipe"
        assert get_landmarker().name == "mediapipe_mesh"  # the broken one is left out ...
        assert any(f.plugin == "fake" and "broken_mesh" in f.error for f in host.failures)  # ... and reported
    finally:
        set_host(builtin_face_plugins)


# -- detection and mesh -----------------------------------------------------------------
def test_single_face_both_detectors_agree(single_face_frames):
    mp_det, mtcnn = get_detector("mediapipe"), get_detector("mtcnn")
    for frame in single_face_frames[::24]:  # 3 frames across the clip (MTCNN is slow on CPU)
        a, b = mp_det.detect(frame.image), mtcnn.detect(frame.image)
        assert len(a) == 1 and len(b) == 1, f"frame {frame.index}: {len(a)} / {len(b)} faces"
        assert iou(a[0].box, b[0].box) > 0.6
        size = b[0].width
        for eye in ("right_eye", "left_eye"):
            gap = np.hypot(*np.subtract(a[0].keypoints[eye], b[0].keypoints[eye]))
            assert gap < 0.1 * size, f"{eye} differs by {gap:.1f}px"
        # Subject's right eye appears on the image's left.
        assert a[0].keypoints["right_eye"][0] < a[0].keypoints["left_eye"][0]
        assert b[0].keypoints["right_eye"][0] < b[0].keypoints["left_eye"][0]


def test_several_faces_in_group_photo(sample):
    image = read_image(sample("multi_face.jpg"))
    for detector in ("mediapipe", "mtcnn"):
        result = FacePipeline(detector=detector).process_image(image)
        assert len(result.faces) == 5, detector  # five people face the camera
        boxes = [f.box for f in result.faces]
        assert max(iou(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]) < 0.1
        assert all(f.mesh is not None for f in result.faces)


def test_mesh_has_478_points_inside_the_face_box(photo):
    image, face, det = photo
    pts = face.mesh.landmarks
    assert pts.shape == (topo.NUM_LANDMARKS, 3) == (478, 3)
    x0, y0, x1, y1 = det.box
    mx, my = 0.25 * (x1 - x0), 0.25 * (y1 - y0)  # the mesh reaches the forehead, above MTCNN's box
    assert np.all((pts[:, 0] > x0 - mx) & (pts[:, 0] < x1 + mx) & (pts[:, 1] > y0 - my) & (pts[:, 1] < y1 + my))
    assert iou(face.mesh.box, det.box) > 0.5
    # Irises sit between their eye corners.
    for corners, iris in ((topo.RIGHT_EYE_CORNERS, topo.RIGHT_IRIS_CENTER), (topo.LEFT_EYE_CORNERS, topo.LEFT_IRIS_CENTER)):
        xs = sorted(pts[list(corners), 0])
        assert xs[0] < pts[iris, 0] < xs[1]


# -- alignment --------------------------------------------------------------------------
@pytest.mark.parametrize("size,padding", [(112, 0.0), (256, 0.25), (384, 0.1)])
def test_alignment_puts_eye_centres_on_the_template(photo, size, padding):
    image, face, mtcnn_face = photo
    # Also on a copy rotated by 25 degrees: alignment must undo the roll.
    h, w = image.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0)
    rotated = cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REFLECT101)
    rotated_face = detect_faces(rotated).faces[0]
    target = template(size, padding)
    for img, f in ((image, face), (rotated, rotated_face)):
        aligned = align_face(img, f, size=size, padding=padding)
        assert aligned.image.shape == (size, size, 3)
        eyes = topo.five_points(aligned.to_crop(f.mesh.points))
        for eye in ("right_eye", "left_eye"):
            err = np.hypot(*np.subtract(eyes[eye], target[eye]))
            assert err < 0.03 * size, f"{eye} is {err:.1f}px off at size {size}"
        # The inverse warp takes the crop back onto the face.
        back = warp_to_frame(aligned.image, aligned.matrix, img.shape)
        covered = warp_to_frame(np.full((size, size), 255, np.uint8), aligned.matrix, img.shape) == 255
        hull = (face_mask(f, img.shape, "hull") > 0) & covered
        assert hull.sum() > 0.5 * (face_mask(f, img.shape, "hull") > 0).sum()
        assert _psnr(back, img, hull) > 28


def test_alignment_from_detector_keypoints(photo):
    image, face, mtcnn_face = photo
    target = template(256)
    for name, det in (("mediapipe", get_detector("mediapipe").detect(image)[0]), ("mtcnn", mtcnn_face)):
        aligned = align_face(image, det, size=256)
        eyes = topo.five_points(aligned.to_crop(face.mesh.points))
        for eye in ("right_eye", "left_eye"):
            assert np.hypot(*np.subtract(eyes[eye], target[eye])) < 0.04 * 256, name


def test_embed_face_aligns_to_the_embedders_crop(photo):
    from toolkit.faces import embed_face

    image, face, _ = photo

    class PixelEmbedder:  # stands in for a real model: the aligned pixels, coarsely
        name, kind, priority = "pixels", "embedder", 0
        input_size, crop_padding = 96, 0.1
        seen: list = []

        def embed(self, aligned):
            self.seen.append(aligned.shape)
            return cv2.resize(aligned, (12, 12), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() - 128

    embedder = PixelEmbedder()
    # The same face moved 40 px right and 25 px down: alignment must cancel the move.
    moved = np.ascontiguousarray(np.roll(image, (25, 40), axis=(0, 1)))
    moved_face = detect_faces(moved).faces[0]
    a, b = embed_face(image, face, embedder), embed_face(moved, moved_face, embedder)
    assert embedder.seen == [(96, 96, 3), (96, 96, 3)]
    assert abs(np.linalg.norm(a) - 1) < 1e-5
    assert float(a @ b) > 0.98
    # A different region of the photo is a different "identity".
    assert float(a @ embed_face(image, {"right_eye": (60.0, 60.0), "left_eye": (120.0, 60.0)}, embedder)) < 0.9


# -- masks and paste-back ------------------------------------------------------------------
def test_masks_are_nested_and_in_place(photo):
    image, face, mtcnn_face = photo
    aligned = align_face(image, face, size=256)
    for shape, matrix in ((image.shape, None), (aligned.image.shape, aligned.matrix)):
        hull = face_mask(face, shape, "hull", matrix) > 0
        mouth = face_mask(face, shape, "mouth", matrix) > 0
        eyes = face_mask(face, shape, "eyes", matrix) > 0
        assert hull.shape == shape[:2]
        assert mouth.sum() > 100 and eyes.sum() > 50 and hull.sum() > 20 * mouth.sum() / 2
        assert not (mouth & ~hull).any() and not (eyes & ~hull).any()
        assert not (mouth & eyes).any()
        assert np.nonzero(mouth)[0].mean() > np.nonzero(eyes)[0].mean()  # mouth below the eyes
        # Two separate eye blobs.
        count, _ = cv2.connectedComponents(eyes.astype(np.uint8))
        assert count - 1 == 2


def test_paste_back_of_unmodified_crop_reproduces_frame(photo):
    image, face, mtcnn_face = photo
    aligned = align_face(image, face, size=256)
    mask = face_mask(face, aligned.image.shape, "hull", aligned.matrix)
    out = paste_back(image, aligned.image, aligned.matrix, mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    hull = face_mask(face, image.shape, "hull") > 0
    assert _psnr(out, image, hull) > 35
    assert _psnr(out, image) > 40
    assert np.array_equal(out[~cv2.dilate(hull.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)],
                          image[~cv2.dilate(hull.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)])


def test_colour_matching_pulls_a_tinted_crop_towards_the_frame(photo):
    image, face, mtcnn_face = photo
    aligned = align_face(image, face, size=256)
    mask = face_mask(face, aligned.image.shape, "hull", aligned.matrix)
    tinted = np.clip(aligned.image.astype(np.int16) + np.array([45, -25, -25]), 0, 255).astype(np.uint8)
    hull = face_mask(face, image.shape, "hull") > 0
    target = image[hull].mean(axis=0)
    raw = paste_back(image, tinted, aligned.matrix, mask, color_match=False)[hull].mean(axis=0)
    matched = paste_back(image, tinted, aligned.matrix, mask, color_match=True)[hull].mean(axis=0)
    assert np.linalg.norm(raw - target) > 20
    assert np.linalg.norm(matched - target) < 0.25 * np.linalg.norm(raw - target)


# -- tracking ---------------------------------------------------------------------------
def test_track_id_is_stable_over_a_segment(sample):
    # 6.5-9.5 s holds a hand over the mouth (frames ~175-179) that hides the face briefly.
    frames = list(FacePipeline().run(sample("WolfgangLanger_Pexels.mp4"), start=6.5, end=9.5))
    assert len(frames) >= 70
    ids = {f.track_id for fr in frames for f in fr.faces}
    assert ids == {0}
    assert sum(bool(fr.faces) for fr in frames) >= 0.9 * len(frames)
    assert all(len(fr.faces) <= 1 for fr in frames)


def test_a_face_that_leaves_for_a_few_frames_gets_its_id_back(single_face_frames):
    frames = [Frame(f.index, f.time, f.image) for f in single_face_frames[:30]]
    blank = np.full_like(frames[0].image, 128)
    for i in range(12, 16):  # four frames without the face
        frames[i] = Frame(i, frames[i].time, blank)
    results = list(FacePipeline(detect_every=5).run(frames))
    assert all(not results[i].faces for i in range(12, 16))
    assert all(len(results[i].faces) == 1 for i in list(range(12)) + list(range(20, 30)))
    assert {f.track_id for r in results for f in r.faces} == {0}


def test_several_faces_keep_their_own_ids_while_the_camera_pans(sample):
    image = read_image(sample("multi_face.jpg"))
    frames = [Frame(i, i / 25, np.ascontiguousarray(np.roll(image, 6 * i, axis=1))) for i in range(12)]
    results = list(FacePipeline(detect_every=4).run(frames))
    first = {f.track_id: f.box for f in results[0].faces}
    assert len(first) == 5
    for i, result in enumerate(results):
        assert {f.track_id for f in result.faces} == set(first)
        for f in result.faces:  # each id follows its own face, 6 px per frame to the right
            assert np.allclose(f.box[[0, 2]], first[f.track_id][[0, 2]] + 6 * i, atol=6)


def test_tracker_forgets_after_max_missed():
    tracker = FaceTracker(max_missed=2)
    box = np.array([100, 100, 200, 200])
    assert tracker.update([box]) == [0]
    tracker.update([])
    tracker.update([])
    assert tracker.update([box + 5]) == [0]  # back after two missing frames
    for _ in range(3):
        tracker.update([])
    assert tracker.update([box]) == [1]  # gone too long: a new identity
    assert tracker.update([box, box + 300]) == [1, 2]


# -- awkward inputs -------------------------------------------------------------------------
def test_hevc_quicktime_with_variable_frame_rate(sample):
    path = sample("face_noface.mov")
    video = probe(path).video
    assert (video.codec, video.width, video.height, video.variable_frame_rate) == ("hevc", 960, 540, True)
    results = list(FacePipeline().run(path))
    assert len(results) >= 150
    times = [r.time for r in results]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert all(len(r.faces) == 1 for r in results[:60])  # a face, ...
    assert not any(r.faces for r in results[-60:])  # ... then none
    assert {f.track_id for r in results for f in r.faces} == {0}
    assert results[0].width == 960 and results[0].faces[0].width > 100


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary")
def test_rotated_clip_is_processed_upright(sample, tmp_path, single_face_frames):
    sideways, rotated = tmp_path / "sideways.mp4", tmp_path / "rotated.mp4"
    src = sample("single_face.mp4")
    # Store the pixels turned 90 degrees clockwise, and tag the stream to be shown upright.
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", "0.5", "-vf", "transpose=1",
                    "-c:v", "libx264", "-crf", "18", "-an", str(sideways)], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(sideways), "-metadata:s:v", "rotate=90",
                    "-c", "copy", str(rotated)], check=True)
    assert probe(rotated).video.rotation == 90
    results = list(FacePipeline().run(rotated, max_frames=10))
    reference = list(FacePipeline().run(single_face_frames[:10]))
    for got, want in zip(results, reference):
        assert (got.width, got.height) == (640, 360)
        assert len(got.faces) == 1
        assert iou(got.faces[0].box, want.faces[0].box) > 0.85


# -- the command line ----------------------------------------------------------------------
def test_cli_no_face_exits_2_without_traceback(sample, tmp_path, capsys):
    out = tmp_path / "annotated.mp4"
    code, stdout, stderr = _run_cli(["faces", str(sample("no_face.mp4")), "--max-frames", "30", "--out", str(out)], capsys)
    assert code == 2
    assert stderr.strip().startswith("error: no_face.mp4: no face found")
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr + stdout
    assert list(tmp_path.iterdir()) == []  # no annotated file, no temporary left behind
    code, stdout, _ = _run_cli(["faces", str(sample("no_face.mp4")), "--max-frames", "30", "--json"], capsys)
    assert code == 2 and json.loads(stdout)["error"] == "no_face"


def test_cli_writes_annotated_video_and_json(sample, tmp_path, capsys):
    out = tmp_path / "annotated.mp4"
    code, stdout, stderr = _run_cli(["faces", str(sample("single_face.mp4")), "--max-frames", "20", "--json",
                                     "--out", str(out)], capsys)
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["summary"]["frames"] == 20 == len(data["frames"])
    assert data["summary"]["frames_with_faces"] == 20 and data["summary"]["track_count"] == 1
    assert data["backends"] == {"detector": "mediapipe", "landmarker": "mediapipe_mesh"}
    face = data["frames"][0]["faces"][0]
    assert face["track_id"] == 0 and len(face["box"]) == 4 and set(face["keypoints"]) >= {"right_eye", "left_eye"}
    info = probe(out)
    assert (info.video.codec, info.video.width, info.video.height, info.video.frame_count) == ("h264", 640, 360, 20)
    # The annotation is drawn on the frames: they differ from the source inside the face box.
    drawn = next(iter(VideoReader(out))).image
    source = next(iter(VideoReader(sample("single_face.mp4")))).image
    x0, y0, x1, y1 = (int(v) for v in face["box"])
    assert np.abs(drawn[y0:y1, x0:x1].astype(int) - source[y0:y1, x0:x1]).mean() > 5


def test_cli_human_table_and_annotated_image(sample, tmp_path, capsys):
    out = tmp_path / "faces.png"
    code, stdout, stderr = _run_cli(["faces", str(sample("single_face.jpg")), "--detector", "mtcnn", "--out", str(out)], capsys)
    assert code == 0, stderr
    assert "frames with faces" in stdout and "mtcnn + mediapipe_mesh" in stdout
    assert read_image(out).shape == read_image(sample("single_face.jpg")).shape
    code, _, stderr = _run_cli(["faces", str(sample("multi_face.jpg")), "--out", str(tmp_path / "x.mp4")], capsys)
    assert code == 2 and "must be an image" in stderr
    code, _, stderr = _run_cli(["faces", str(sample("single_face.mp4")), "--detector", "nope"], capsys)
    assert code == 3 and "no face detector called 'nope'" in stderr
