"""Verify tab: C2PA provenance (and the invisible mark) of any uploaded file."""

from __future__ import annotations

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from apps.uploads import PROVENANCE_TYPES, check_file_type


def _summary(report: dict) -> str:
    lines = []
    state = report.get("state")
    if state is None:
        lines.append("**C2PA:** no manifest (the file carries no provenance).")
    else:
        signer = (report.get("signer") or {}).get("subject") or "unknown signer"
        lines.append(f"**C2PA:** {state}, signed by {signer}.")
        if report.get("status_codes"):
            lines.append("Status codes: " + ", ".join(f"`{c}`" for c in report["status_codes"]))
        if report.get("ai_generated"):
            lines.append(f"**AI-generated:** yes ({report.get('digital_source_type')}).")
        consent = report.get("consent")
        if consent:
            lines.append(f"**Consent record:** `{consent['record_id']}` ({consent['kind']}).")
        if report.get("watermark_id"):
            lines.append(f"**Watermark ID in manifest:** `{report['watermark_id']}`.")
    return "\n\n".join(lines)


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
        from watermark.c2pa_read import read_provenance

        checked = check_file_type(path, PROVENANCE_TYPES, ctx.limits)
        report = read_provenance(checked).to_dict()
        report.pop("manifest_json", None)
        report.pop("path", None)  # a server path means nothing to the user
        report = {"file": checked.name, **report}
        return _summary(report), report

    button.click(verify, inputs=upload, outputs=[summary, details], api_name="verify")
