"""Detect tab: upload a clip or photo -> verdict, per-detector findings, a timeline of frame
scores, heatmaps, and the HTML/JSON report to download. Runs
:func:`toolkit.detection.run_detection` as a tracked job."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from apps.context import WebContext
from apps.errors import user_errors
from apps.jobs import progress_feeder, session_key, tracked, wire_cancel
from apps.tabs.common import markdown_table, sample_files
from apps.uploads import check_upload

TAB = "detect"


def verdict_markdown(report: Any) -> str:
    v = report.verdict
    prob = "no probability (nothing could be scored)" if v.probability is None else f"probability {v.probability:.2f}"
    head = f"## {v.band.upper()} ({prob})"
    return f"{head}\n\n{report.summary}"


def detectors_markdown(report: Any) -> str:
    contrib = {c.detector: c for c in report.verdict.contributions}
    rows = []
    for r in report.results:
        score = f"{r.clip_score:.2f}" if r.applicable and r.clip_score is not None else "n/a"
        c = contrib.get(r.detector)
        weight = f"{c.weight:+.2f}" if c else ("override" if r.detector == "provenance" else "-")
        rows.append((r.detector, score, weight, r.explanation))
    caveats = "\n".join(f"- {c}" for c in report.caveats)
    return markdown_table(["detector", "score", "weight", "finding"], rows) + f"\n\n**Caveats**\n{caveats}"


def _decode_png(data: bytes | None) -> np.ndarray | None:
    if not data:
        return None
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else image[..., ::-1]


def timeline_image(report: Any) -> np.ndarray | None:
    from toolkit.detection.plots import timeline

    duration = float(report.media.get("duration") or 0.0)
    return _decode_png(timeline(report.results, duration, report.verdict.bands))


def heatmap_gallery(report: Any) -> list[tuple[np.ndarray, str]]:
    """(frame with face boxes | face crop with the heatmap) for every heatmap evidence item."""
    from toolkit.detection.plots import frame_with_boxes, heatmap_overlay

    clip = report.analysis
    if clip is None:
        return []
    items = []
    for result in report.results:
        for evidence in result.evidence if result.applicable else []:
            if evidence.kind != "heatmap":
                continue
            _, overlay = heatmap_overlay(clip, evidence.data)
            frame = frame_with_boxes(clip, int(evidence.data["frame"]))
            score = evidence.data.get("score")
            caption = f"{result.detector}: {evidence.label}" + (f" (score {float(score):.2f})" if score is not None else "")
            items.append((frame, f"{evidence.label}: where the face is"))
            items.append((overlay, caption))
    return items


def write_reports(ctx: WebContext, report: Any, name: str) -> tuple[Path, Path]:
    """The detection report writer's HTML page and the report's JSON, side by side."""
    from toolkit.media import atomic_path

    stem = f"detect-{Path(name).stem}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder = ctx.outputs_dir / "reports"
    html = report.write_html(folder / f"{stem}.html")
    data = report.to_dict()
    data["path"] = name  # the user's file name, not the server's upload path
    json_path = folder / f"{stem}.json"
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return Path(html), json_path


def build(ctx: WebContext) -> None:
    gr.Markdown("Upload a video or photo: every installed detector runs over one shared decode and face pass, "
                "their scores are fused into a calibrated verdict, and the file's provenance (C2PA, dftk "
                "watermark) is checked. A lead for a closer look, not proof.")
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.File(label="Clip or photo (.mp4 .mov .mkv .webm .avi .jpg .png .webp)", elem_id="detect-file")
            examples = sample_files("single_face.mp4", "WolfgangLanger_Pexels.mp4", "multi_face.jpg", "no_face.mp4")
            if examples:
                gr.Examples([[e] for e in examples], inputs=[upload], label="Sample media (real)")
            with gr.Row():
                run = gr.Button("Detect", variant="primary", elem_id="detect-run", scale=3)
                cancel = gr.Button("Cancel", variant="stop", elem_id="detect-cancel", scale=1)
        with gr.Column(scale=2):
            verdict = gr.Markdown(elem_id="detect-verdict")
            with gr.Row():
                html_file = gr.DownloadButton("HTML report", elem_id="detect-html")
                json_file = gr.DownloadButton("JSON report", elem_id="detect-json")
    timeline = gr.Image(label="Frame scores over time (max over faces)", interactive=False, elem_id="detect-timeline",
                        format="png")
    heatmaps = gr.Gallery(label="Heatmaps: frame and face crop, red = where a blend was found", columns=4,
                          height="auto", elem_id="detect-heatmaps", format="png")
    findings = gr.Markdown(elem_id="detect-findings")

    @user_errors
    def detect(path: str | None, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple:
        from toolkit.detection import run_detection

        checked, _ = check_upload(path, ("video", "image"), ctx.limits, what="clip or photo")
        progress(0, desc="detect: starting")
        with tracked(ctx.jobs, session_key(request, TAB)) as on_start:
            report = run_detection(checked, on_progress=progress_feeder(progress, "detect"), on_start=on_start)
        html, json_path = write_reports(ctx, report, checked.name)
        html_url = ctx.downloads.resolve(ctx.downloads.offer_report(html).path)
        json_url = ctx.downloads.resolve(ctx.downloads.offer_report(json_path).path)
        return (verdict_markdown(report), html_url, json_url, timeline_image(report), heatmap_gallery(report),
                detectors_markdown(report))

    event = run.click(detect, inputs=upload, outputs=[verdict, html_file, json_file, timeline, heatmaps, findings],
                      api_name="detect", concurrency_id="dftk-heavy")
    wire_cancel(cancel, ctx.jobs, TAB, [event])
