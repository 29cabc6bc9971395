"""Consent tab: record consent from the webcam (or an upload) against a fresh challenge
phrase, see every capture check's result; attest a release for existing footage; list
and revoke records. All through :mod:`toolkit.consent`."""

from __future__ import annotations

from typing import Any

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from apps.jobs import run_tracked, session_key, wire_cancel
from apps.tabs.common import markdown_table, sample_files
from apps.uploads import check_file_type, check_upload
from toolkit.generation import SCOPES

TAB = "consent"
RELEASE_TYPES = (".pdf", ".png", ".jpg", ".jpeg", ".txt", ".md", ".odt", ".docx")


def checks_markdown(report: Any) -> str:
    rows = [(c.name, "pass" if c.passed else "**FAIL**", c.value, c.threshold, c.message or "")
            for c in report.checks]
    return markdown_table(["check", "result", "measured", "needed", "what to do"], rows)


def records_markdown() -> str:
    from toolkit.consent import ConsentRegistry, check

    rows = []
    for stored in ConsentRegistry().list():
        status = check(stored)
        record = stored.record
        if record is None:
            rows.append((stored.id, "?", "?", "?", "?", f"{status.state}: {status.reason}"))
            continue
        state = status.state if status.valid else f"{status.state}: {status.reason}"
        rows.append((record.id, record.subject, record.kind + (f" by {record.operator}" if record.operator else ""),
                     ", ".join(record.scopes), record.expires, state))
    if not rows:
        return "No consent records yet."
    return markdown_table(["id", "subject", "kind", "scopes", "expires", "status"], rows)


def _record_line(record: Any) -> str:
    return (f"Consent record **{record.id}** stored for **{record.subject}** ({record.kind}; "
            f"{', '.join(record.scopes)}; expires {record.expires}).")


def _record_ids() -> list[str]:
    from toolkit.consent import ConsentRegistry

    return [s.id for s in ConsentRegistry().list()]


def build(ctx: WebContext) -> None:
    gr.Markdown("No face is animated without a valid consent record of its owner. Record one live "
                "(the subject reads a statement with a fresh challenge phrase on camera), or attest a "
                "release signed elsewhere for existing footage.")
    with gr.Tab("Record (webcam or upload)", elem_id="consent-capture"):
        _capture_section(ctx)
    with gr.Tab("Attest existing footage", elem_id="consent-attest"):
        _attest_section(ctx)
    with gr.Tab("Records", elem_id="consent-records") as records_tab:
        _records_section(ctx, records_tab)


def _capture_section(ctx: WebContext) -> None:
    with gr.Row():
        subject = gr.Textbox(label="Subject's full name", elem_id="capture-subject")
        scopes = gr.CheckboxGroup(list(SCOPES), value=["reenact", "lipsync"], label="Uses consented to",
                                  elem_id="capture-scopes")
        days = gr.Number(value=365, precision=0, minimum=1, label="Valid for (days)")
    with gr.Row():
        challenge_button = gr.Button("1. Get a challenge phrase", elem_id="capture-challenge")
        challenge_id = gr.Textbox(label="Challenge id", interactive=False, elem_id="capture-challenge-id")
    phrase = gr.Markdown(elem_id="capture-phrase")
    recording = gr.Video(sources=["webcam", "upload"], include_audio=True, format="mp4",
                         label="2. Record the subject reading the statement aloud (5-180 s; blink and turn the "
                               "head a little), or upload the recording", elem_id="capture-video")
    with gr.Row():
        submit = gr.Button("3. Check the recording and create the record", variant="primary",
                           elem_id="capture-submit", scale=4)
        cancel = gr.Button("Cancel", variant="stop", elem_id="capture-cancel", scale=1)
    status = gr.Markdown(elem_id="capture-status")
    checks = gr.Markdown(elem_id="capture-checks")

    @user_errors
    def new_challenge(name: str, wanted: list[str], valid_days: float | None) -> tuple[str | None, str]:
        from toolkit.consent import issue_challenge
        from toolkit.consent.challenge import CHALLENGE_TTL

        ch = issue_challenge(name, wanted or [], days=int(valid_days or 365))
        minutes = int(CHALLENGE_TTL.total_seconds() // 60)
        text = (f"### Challenge phrase: **{ch.phrase}**\n\nRead this aloud, alone, facing the camera "
                f"(usable for {minutes} minutes, until {ch.expires}):\n\n> {ch.statement}")
        return ch.id, text

    challenge_button.click(new_challenge, inputs=[subject, scopes, days], outputs=[challenge_id, phrase],
                           api_name="consent_challenge", queue=False)

    @user_errors
    def create(challenge: str | None, video: str | None, request: gr.Request,
               progress: gr.Progress = gr.Progress()) -> tuple[str, str]:
        from toolkit.consent import create_captured
        from toolkit.consent.create import CaptureRejected
        from toolkit.errors import InputError

        if not challenge:
            raise InputError("get a challenge phrase first (step 1)")
        path, _ = check_upload(video, ("video",), ctx.limits, what="recording")

        made: dict[str, Any] = {}

        def work(job) -> dict:
            made["record"], made["report"] = create_captured(
                challenge, path, on_progress=lambda d, t=None: job.progress(d, t), is_cancelled=job.is_cancelled)
            return {"record_id": made["record"].id,
                    "checks": {c.name: c.passed for c in made["report"].checks}}

        try:
            run_tracked("consent", {"challenge": challenge, "recording": path.name}, work,
                        jobs=ctx.jobs, key=session_key(request, TAB), progress=progress)
        except CaptureRejected as exc:
            gr.Warning("The recording failed some checks; see the table.")
            return f"**Rejected.** {exc.message}", checks_markdown(exc.report)
        return _record_line(made["record"]), checks_markdown(made["report"])

    event = submit.click(create, inputs=[challenge_id, recording], outputs=[status, checks],
                         api_name="consent_create")
    wire_cancel(cancel, ctx.jobs, TAB, [event])


def _attest_section(ctx: WebContext) -> None:
    gr.Markdown("For footage that already exists: an operator attests that the subject signed a release "
                "elsewhere. Only the release's sha256 is kept, and every output made with the record says "
                "it was attested.")
    with gr.Row():
        subject = gr.Textbox(label="Subject's full name", elem_id="attest-subject")
        operator = gr.Textbox(label="Operator (who attests)", elem_id="attest-operator")
        scopes = gr.CheckboxGroup(list(SCOPES), value=["reenact", "lipsync"], label="Uses consented to",
                                  elem_id="attest-scopes")
        days = gr.Number(value=365, precision=0, minimum=1, label="Valid for (days)")
    with gr.Row():
        release = gr.File(label="Signed release (" + ", ".join(RELEASE_TYPES) + ")", elem_id="attest-release")
        face = gr.File(label="Photo or clip of the subject (the footage itself)", elem_id="attest-face")
    examples = sample_files("WolfgangLanger_Pexels.mp4", "single_face.jpg")
    if examples:
        gr.Examples([[e] for e in examples], inputs=[face], label="Sample footage")
    attest = gr.Button("Store the attested record", variant="primary", elem_id="attest-submit")
    status = gr.Markdown(elem_id="attest-status")

    @user_errors
    def create(name: str, who: str, wanted: list[str], valid_days: float | None, release_file: str | None,
               face_file: str | None) -> str:
        from toolkit.consent import create_attested

        release_path = check_file_type(release_file, RELEASE_TYPES, ctx.limits, what="release document")
        face_path, _ = check_upload(face_file, ("video", "image"), ctx.limits, what="photo or clip")
        record = create_attested(name, who, release_path, face_path, wanted or [], days=int(valid_days or 365))
        return _record_line(record)

    attest.click(create, inputs=[subject, operator, scopes, days, release, face], outputs=status,
                 api_name="consent_attest", concurrency_id="dftk-heavy")


def _records_section(ctx: WebContext, tab: Any) -> None:
    table = gr.Markdown(elem_id="consent-table")
    with gr.Row():
        refresh = gr.Button("Refresh")
        record_id = gr.Dropdown(choices=[], label="Record to revoke", allow_custom_value=False)
        reason = gr.Textbox(label="Reason")
        revoke = gr.Button("Revoke", variant="stop")

    def refreshed() -> tuple[str, Any]:
        return records_markdown(), gr.update(choices=_record_ids())

    for trigger in (refresh.click, tab.select):
        trigger(refreshed, outputs=[table, record_id], queue=False, api_visibility="private")

    @user_errors
    def do_revoke(rid: str | None, why: str) -> tuple[str, Any]:
        from toolkit.consent import revoke as revoke_record
        from toolkit.errors import InputError

        if not rid:
            raise InputError("choose a record to revoke")
        revoke_record(rid, why or "")
        gr.Info(f"{rid} revoked; it can no longer authorise any generation.")
        return refreshed()

    revoke.click(do_revoke, inputs=[record_id, reason], outputs=[table, record_id], api_name="consent_revoke")
