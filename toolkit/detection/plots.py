"""Figures for the detection report (matplotlib, Agg backend) returned as PNG bytes."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from toolkit.detection.contract import ClipAnalysis, DetectorResult, Evidence

COLORS = {"blend": "#d62728", "spectral": "#9467bd", "temporal": "#1f77b4", "rppg": "#2ca02c", "avsync": "#ff7f0e"}


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    return plt, fig, ax


def _png(plt, fig) -> bytes:
    """Render the figure to RGB pixels and PNG-encode them in memory (nothing touches disk)."""
    fig.tight_layout()
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return png(np.ascontiguousarray(rgba[..., :3]))


def timeline(results: list[DetectorResult], duration: float, bands: dict[str, float]) -> bytes | None:
    """Per-detector frame scores over time (max over faces per frame)."""
    series = []
    for r in results:
        if not r.applicable or not r.frame_scores:
            continue
        per_time: dict[float, float] = {}
        for fs in r.frame_scores:
            per_time[fs.time] = max(per_time.get(fs.time, 0.0), fs.score)
        t = np.array(sorted(per_time))
        series.append((r.detector, t, np.array([per_time[x] for x in t])))
    if not series:
        return None
    plt, fig, ax = _figure(9, 3.2)
    ax.axhspan(bands["manipulated"], 1.0, color="#d62728", alpha=0.06)
    ax.axhspan(bands["suspicious"], bands["manipulated"], color="#ff7f0e", alpha=0.06)
    for name, t, s in series:
        style = "-" if len(t) > 1 else "o"
        ax.plot(t, s, style, color=COLORS.get(name), label=name, lw=1.6, ms=5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, max(duration, max(t.max() for _, t, _ in series) + 1e-3))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("score (1 = manipulated)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", ncol=len(series), fontsize=8, frameon=False)
    return _png(plt, fig)


def trace(evidence: list[Evidence], title: str) -> bytes | None:
    """One small plot of trace evidence items (values and optional reference over time or frequency)."""
    items = [e for e in evidence if e.kind == "trace"]
    if not items:
        return None
    plt, fig, ax = _figure(4.4, 2.4)
    for e in items:
        x = np.asarray(e.data.get("times", e.data.get("x", [])), np.float64)
        y = np.asarray(e.data["values"], np.float64)
        if len(x) != len(y) or not len(y):
            continue
        ax.plot(x, y, lw=1.2, label=e.label.rsplit(", face", 1)[0])
        if e.data.get("reference") is not None and len(e.data["reference"]) == len(x):
            ax.plot(x, np.asarray(e.data["reference"], np.float64), lw=1.0, ls="--", color="0.4",
                    label=e.data.get("reference_label", "reference"))
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("cycles/pixel" if "x" in items[0].data else "time (s)", fontsize=8)
    ax.set_ylabel(items[0].data.get("unit", ""), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, frameon=False)
    return _png(plt, fig)


def png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    return buf.tobytes() if ok else b""


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else b""


def frame_with_boxes(clip: ClipAnalysis, pos: int, max_side: int = 480) -> np.ndarray:
    frame = clip.frames[pos]
    img = frame.image.copy()
    h, w = img.shape[:2]
    thick = max(1, int(round(max(h, w) / 300)))
    for face in frame.faces:
        x0, y0, x1, y1 = (int(round(v)) for v in face.box)
        cv2.rectangle(img, (x0, y0), (x1, y1), (255, 200, 0), thick)
        cv2.putText(img, f"face {face.track_id}", (x0, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thick, (255, 200, 0), thick, cv2.LINE_AA)
    scale = max_side / max(h, w)
    if scale < 1:
        img = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    return img


def heatmap_overlay(clip: ClipAnalysis, data: dict[str, Any], size: int = 192) -> tuple[np.ndarray, np.ndarray]:
    """(face crop, crop with the heatmap blended in) for a heatmap evidence item."""
    from toolkit.detection.crops import cut, resize

    frame = clip.frames[int(data["frame"])]
    crop = resize(cut(frame.image, np.asarray(data["box"], np.int64)), size)
    heat = np.asarray(data["map"], np.float32)
    heat = cv2.resize(heat, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    colored = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
    alpha = (0.15 + 0.6 * heat)[..., None]
    overlay = (crop * (1 - alpha) + colored * alpha).astype(np.uint8)
    return crop, overlay
