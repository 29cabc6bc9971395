"""Verify tab: C2PA provenance (and the invisible mark) of any uploaded file."""

from __future__ import annotations

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from apps.provenance import c2pa_lines, c2pa_report
from apps.uploads import PROVENANCE_TYPES, check_file_type


def build(ctx: WebContext) -> None:
    gr.Markdown("Upload any image, video or WAV file to check its C2PA manifest.")
    with gr.Row():
        upload = gr.File(label="File to verify (" + ", ".join(PROVENANCE_TYPES) + ")", elem_id="verify-file")
        with gr.Column():
            summary = gr.Markdown(elem_id="verify-summary")
            details = gr.JSON(label="Details")
    button = gr.Button("Verify", variant="primary", elem_id="verify-run")

    @user_errors
    def verify(path: str | None) -> tuple[str, dict]:
        checked = check_file_type(path, PROVENANCE_TYPES, ctx.limits)
        report = c2pa_report(checked)
        return "\n\n".join(c2pa_lines(report)), report

    button.click(verify, inputs=upload, outputs=[summary, details], api_name="verify")
