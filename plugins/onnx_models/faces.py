"""Five-point landmarks, alignment templates and paste-back for the ONNX adapters.

TEMPORARY: landmarks come straight from MediaPipe Face Mesh here. When the core face
backends (``toolkit.faces``) are merged, :class:`Landmarker` should ask them instead.
"""

from __future__ import annotations

import cv2
import numpy as np

# ArcFace's canonical 5 points (left eye, right eye, nose tip, left and right mouth
# corner, image left first) in a 112x112 crop; inswapper's 128 crop shifts them by 8 px.
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
ARCFACE_128 = ARCFACE_112 + np.array([8.0, 0.0], np.float32)

_IRIS_CENTRES, _NOSE_TIP, _MOUTH_CORNERS = (468, 473), 1, (61, 291)


class Landmarker:
    """MediaPipe Face Mesh (478 points, refined irises) for one face per image."""

    def __init__(self, video: bool):
        import mediapipe as mp

        self._video = video
        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=not video, max_num_faces=1,
                                                     refine_landmarks=True, min_detection_confidence=0.5)
        self._crop_mesh = None
        self._detector = None

    @staticmethod
    def _points(result, w: int, h: int) -> np.ndarray | None:
        if not result.multi_face_landmarks:
            return None
        return np.array([[p.x * w, p.y * h] for p in result.multi_face_landmarks[0].landmark], np.float32)

    def mesh(self, rgb: np.ndarray) -> np.ndarray | None:
        """All 478 points in pixels, or None when no face is found."""
        h, w = rgb.shape[:2]
        points = self._points(self._mesh.process(np.ascontiguousarray(rgb)), w, h)
        if points is None and not self._video:
            points = self._mesh_of_largest_face(rgb)
        return points

    def _mesh_of_largest_face(self, rgb: np.ndarray) -> np.ndarray | None:
        """Photos with small faces: find the largest with the full-range detector, mesh its crop."""
        import mediapipe as mp

        if self._detector is None:
            self._detector = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
            self._crop_mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                              refine_landmarks=True, min_detection_confidence=0.3)
        found = self._detector.process(np.ascontiguousarray(rgb)).detections
        if not found:
            return None
        h, w = rgb.shape[:2]
        box = max((d.location_data.relative_bounding_box for d in found), key=lambda b: b.width * b.height)
        cx, cy, side = (box.xmin + box.width / 2) * w, (box.ymin + box.height / 2) * h, max(box.width * w, box.height * h) * 2
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        points = self._points(self._crop_mesh.process(crop), x1 - x0, y1 - y0)
        return None if points is None else points + np.array([x0, y0], np.float32)

    def close(self) -> None:
        self._mesh.close()
        if self._detector is not None:
            self._detector.close()
            self._crop_mesh.close()


def five_points(mesh: np.ndarray) -> np.ndarray:
    eyes = sorted((mesh[i] for i in _IRIS_CENTRES), key=lambda p: p[0])
    mouth = sorted((mesh[i] for i in _MOUTH_CORNERS), key=lambda p: p[0])
    return np.array([eyes[0], eyes[1], mesh[_NOSE_TIP], mouth[0], mouth[1]], np.float32)


def align(rgb: np.ndarray, points5: np.ndarray, template: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Warp the face onto ``template`` (similarity transform); returns (crop, 2x3 matrix)."""
    matrix, _ = cv2.estimateAffinePartial2D(points5, template, method=cv2.LMEDS)
    crop = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return crop, matrix


def box_mask(size: int, blur: float = 0.3) -> np.ndarray:
    """A square mask that fades out towards the crop's border (like FaceFusion's box mask)."""
    mask = np.ones((size, size), np.float32)
    edge = max(1, int(size * blur * 0.5))
    mask[:edge // 2 + 1] = mask[-(edge // 2 + 1):] = 0
    mask[:, :edge // 2 + 1] = mask[:, -(edge // 2 + 1):] = 0
    return cv2.GaussianBlur(mask, (0, 0), edge * 0.25)


def paste_back(frame: np.ndarray, crop: np.ndarray, mask: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Blend ``crop`` (aligned with ``matrix``) back into ``frame`` through ``mask``."""
    h, w = frame.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    back = cv2.warpAffine(crop, inverse, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    weight = cv2.warpAffine(mask, inverse, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    out = frame.astype(np.float32) * (1 - weight) + back.astype(np.float32) * weight
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
