"""Draw a face pass onto its frame (boxes, track ids, mesh points) for analysis views."""

from __future__ import annotations

import cv2
import numpy as np

from toolkit.faces.records import FrameFaces

# Distinct, colour-blind-friendly colours (Okabe-Ito), cycled by track id.
_PALETTE = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
            (204, 121, 167)]


def track_color(track_id: int) -> tuple[int, int, int]:
    return _PALETTE[track_id % len(_PALETTE)]


def annotate(image: np.ndarray, frame: FrameFaces, mesh: bool = True) -> np.ndarray:
    """A copy of ``image`` with each face's box, ``#id score`` label and mesh points."""
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 500))
    for face in frame.faces:
        color = track_color(face.track_id)
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), color, thick, cv2.LINE_AA)
        if mesh and face.mesh is not None:
            pts = np.round(face.mesh.points).astype(np.int32)
            inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
            pts = pts[inside]
            out[pts[:, 1], pts[:, 0]] = (255, 255, 255)
        for x, y in face.keypoints.values():
            cv2.circle(out, (int(round(x)), int(round(y))), thick + 1, color, -1, cv2.LINE_AA)
        label = f"#{face.track_id} {face.score:.2f}" + ("" if face.detected else " (tracked)")
        scale = 0.4 * thick
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = max(y0 - 4, th + 2)
        cv2.rectangle(out, (x0, ty - th - 2), (x0 + tw + 2, ty + base - 1), color, -1)
        cv2.putText(out, label, (x0 + 1, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out
