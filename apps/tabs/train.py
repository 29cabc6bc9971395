"""Train tab: the consenting subject's personal model, with a progress bar and preview
frames (real crops over what the model renders) while it learns.

Runs :func:`toolkit.jobs.train.run_training` (consent check, the recording bound to the
record, the personal GAN, then the audio-to-mouth model when the recording holds speech) in
a worker thread, so the handler can stream the previews; Cancel stops the job at its next
step and keeps a checkpoint to resume from.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from apps.jobs import progress_feeder, session_key, tracked, wire_cancel
from apps.tabs.common import consent_choices, markdown_table, sample_files
from apps.uploads import check_upload
from toolkit.errors import InputError

TAB = "train"
PRESET_HELP = {
    "tiny": "tiny: seconds; a smoke test, not a usable model",
    "quick": "quick: about 10 minutes on 2 CPU cores",
    "standard": "standard: hours on a CPU, minutes on a GPU",
}


def card_markdown(result: dict) -> str:
    """The finished job's result (``run_training``'s ``model``, ``video_match``, ``card``,
    ``lipsync``, ``notes``) as Markdown."""
    card = result.get("card") or {}
    metrics = card.get("metrics") or {}
    rows = []
    for name in ("gan", "warp_only"):
        m = metrics.get(name) or {}
        if m:
            rows.append((name, *(f"{m[k]:.3f}" if isinstance(m.get(k), (int, float)) else "-"
                                 for k in ("ssim", "l1", "psnr"))))
    table = markdown_table(["held-out frames (face)", "SSIM", "L1", "PSNR dB"], rows) if rows else ""
    steps = (card.get("training") or {}).get("steps")
    notes = "".join(f"\n* {note}" for note in result.get("notes") or [])
    return (f"Model trained for consent record **{result['consent_id']}** ({result['preset']} preset, "
            f"{steps} steps) on {result.get('video_match')}.\n\n{table}\n{notes}")


def build(ctx: WebContext) -> None:
    from toolkit.gan import PRESETS

    gr.Markdown("Train the personal models of a consenting subject from their own footage: leave the video "
                "empty to use a captured record's kept consent recording; for an attested record give the "
                "footage it was made from (other footage needs a face-embedder plugin to match the face). "
                "The face GAN is trained, then the audio-to-mouth model when the recording holds speech. "
                "Generators use these models.")
    with gr.Row():
        with gr.Column():
            with gr.Row():
                consent = gr.Dropdown(choices=consent_choices(), label="Consent record", allow_custom_value=True,
                                      elem_id="train-consent", scale=4)
                refresh = gr.Button("Refresh records", scale=1)
            footage = gr.Video(sources=["upload"], label="The subject's footage (optional for a captured record)",
                               elem_id="train-footage")
            examples = sample_files("WolfgangLanger_Pexels.mp4")
            if examples:
                gr.Examples([[e] for e in examples], inputs=[footage], label="Sample footage")
            preset = gr.Radio([(PRESET_HELP.get(p, p), p) for p in PRESETS], value="quick", label="Preset",
                              elem_id="train-preset")
            with gr.Row():
                run = gr.Button("Train", variant="primary", elem_id="train-run", scale=3)
                cancel = gr.Button("Cancel", variant="stop", elem_id="train-cancel", scale=1)
        with gr.Column():
            preview = gr.Image(label="While it learns: real face crops (top), the model's renders (bottom)",
                               interactive=False, format="jpeg", elem_id="train-preview")
            status = gr.Markdown(elem_id="train-status")
    refresh.click(lambda: gr.update(choices=consent_choices()), outputs=consent, queue=False,
                  api_visibility="private")

    @user_errors
    def train(consent_id: str | None, video: str | None, which: str, request: gr.Request,
              progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, str]]:
        from toolkit.jobs.train import run_training

        if not consent_id:
            raise InputError("choose the consent record of the subject to train")
        path = check_upload(video, ("video",), ctx.limits, what="footage")[0] if video else None
        shared: dict[str, Any] = {"progress": (0, None, "starting"), "preview": None}
        finished = threading.Event()
        feed = progress_feeder(progress, "train")

        with tracked(ctx.jobs, session_key(request, TAB)) as on_start:
            def worker() -> None:
                try:
                    shared["record"] = run_training(
                        consent_id, video=path, preset=which, host=ctx.host,
                        on_progress=lambda d, t=None, m="": shared.__setitem__("progress", (d, t, m)),
                        on_start=lambda job: (shared.__setitem__("job", job), on_start(job)),
                        preview=lambda step, image: shared.__setitem__("preview", (step, image)))
                except BaseException as exc:  # handed to the handler thread below
                    shared["error"] = exc
                finally:
                    finished.set()

            thread = threading.Thread(target=worker, name="dftk-train", daemon=True)
            thread.start()
            shown = None
            try:
                while not finished.wait(0.5):
                    feed(*shared["progress"])
                    if shared["preview"] is not shown:
                        shown = shared["preview"]
                        step, image = shown
                        yield image, f"Training: step {step}; {shared['progress'][2]}"
            finally:
                if not finished.is_set() and "job" in shared:  # the browser went away: stop, keep the checkpoint
                    shared["job"].cancel()
        if "error" in shared:
            raise shared["error"]
        result = shared["record"].result
        last = shared["preview"][1] if shared["preview"] else None
        yield last, card_markdown(result)

    event = run.click(train, inputs=[consent, footage, preset], outputs=[preview, status], api_name="train",
                      concurrency_id="dftk-heavy")
    wire_cancel(cancel, ctx.jobs, TAB, [event])


