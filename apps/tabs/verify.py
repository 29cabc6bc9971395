"""Verify tab: C2PA manifest and invisible watermark of any uploaded file (``dftk verify``)."""

from __future__ import annotations

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from apps.tabs.common import sample_files
from apps.provenance import report_json, report_markdown, verify_report
from apps.uploads import PROVENANCE_TYPES, check_file_type


def build(ctx: WebContext) -> None:
    gr.Markdown("Upload any image, video or WAV file: its C2PA manifest is validated and its pixels are "
                "searched for the dftk invisible watermark, and the two are compared.")
    with gr.Row():
        upload = gr.File(label="File to verify (" + ", ".join(PROVENANCE_TYPES) + ")", elem_id="verify-file")
        with gr.Column():
            summary = gr.Markdown(elem_id="verify-summary")
            details = gr.JSON(label="Details")
    button = gr.Button("Verify", variant="primary", elem_id="verify-run")
    examples = sample_files("single_face.jpg", "single_face.mp4")
    if examples:
        gr.Examples([[e] for e in examples], inputs=[upload], label="Sample media (real, unsigned)")

    @user_errors
    def verify(path: str | None) -> tuple[str, dict]:
        report = verify_report(check_file_type(path, PROVENANCE_TYPES, ctx.limits))
        return report_markdown(report), report_json(report)

    button.click(verify, inputs=upload, outputs=[summary, details], api_name="verify",
                 concurrency_id="dftk-heavy")
