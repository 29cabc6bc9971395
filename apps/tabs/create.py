"""Create tab: reenactment, lip-sync and face swap with any registered generator.

Each scope gets a sub-tab; each generator of that scope gets a form built from its
declared ``inputs``. A run goes through :func:`toolkit.jobs.generate.run_generation`
(consent gate, identity check, generator, core output writer that marks and signs), and
only the file that writer produced is offered for download.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import gradio as gr

from apps.context import WebContext
from apps.errors import user_errors
from apps.jobs import run_tracked_generation, session_key, wire_cancel
from apps.provenance import report_markdown, verify_report
from apps.tabs.common import consent_choices, sample_files
from apps.uploads import VIDEO_TYPES, check_text, check_upload
from toolkit.errors import InputError
from toolkit.output import OutputRecord

SAMPLE_VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4")
SAMPLE_IMAGES = ("single_face.jpg",)
SCOPE_TITLES = {"reenact": "Reenact", "lipsync": "Lip-sync", "swap": "Face swap"}
SCOPE_HELP = {
    "reenact": "Another video's facial motion drives the consenting subject's face.",
    "lipsync": "The subject's mouth follows new speech: an audio upload, the sound of a video, or typed text.",
    "swap": "The consenting subject's face goes into other footage.",
}


def input_kinds(name: str, description: str) -> tuple[str, ...]:
    """What a declared generator input accepts, from its name and description."""
    text = f"{name} {description}".lower()
    if "audio" in text or "speech" in text:
        return ("audio", "video")
    if "photo" in text or "image" in text:
        return ("image", "video")
    return ("video", "image")


def text_replaces(declared: dict[str, str]) -> str | None:
    """The declared input that option ``text`` may replace: its description says so
    (lipsync's ``audio``: "... (or give option 'text' instead)")."""
    return next((k for k, d in declared.items() if "option 'text'" in d), None)


def _input_component(name: str, description: str, elem_id: str) -> Any:
    label = f"{name}: {description}"
    kinds = input_kinds(name, description)
    if kinds[0] == "audio":
        return gr.Audio(sources=["upload", "microphone"], type="filepath", label=label, elem_id=elem_id)
    if kinds[0] == "image":
        return gr.Image(sources=["upload", "webcam"], type="filepath", label=label, elem_id=elem_id)
    return gr.Video(sources=["upload", "webcam"], label=label, elem_id=elem_id)


def output_record(result: dict) -> OutputRecord:
    fields = OutputRecord.__dataclass_fields__
    return OutputRecord(**{k: result.get(k) for k in fields})


def _output_path(ctx: WebContext, generator: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return ctx.outputs_dir / "outputs" / f"{generator}-{stamp}-{secrets.token_hex(3)}.mp4"


def build(ctx: WebContext) -> None:
    generators = ctx.host.generators()
    gr.Markdown("Every file made here is invisibly watermarked and C2PA-signed by the core output writer, "
                "and only after the chosen consent record authorises the generator's scope.")
    with gr.Tabs():
        for scope in SCOPE_TITLES:
            with gr.Tab(SCOPE_TITLES[scope], elem_id=f"create-{scope}"):
                gr.Markdown(SCOPE_HELP[scope])
                _scope_section(ctx, scope, {n: g for n, g in generators.items() if getattr(g, "scope", "") == scope})


def _scope_section(ctx: WebContext, scope: str, generators: dict[str, Any]) -> None:
    if not generators:
        gr.Markdown(f"No {SCOPE_TITLES[scope].lower()} generator is installed (see the Plugins tab).")
        return
    with gr.Row():
        consent = gr.Dropdown(choices=consent_choices(scope), label=f"Consent record (must grant {scope})",
                              elem_id=f"create-{scope}-consent", scale=4,
                              # API clients name records made after the page was built; the
                              # consent gate checks every id anyway.
                              allow_custom_value=True)
        refresh = gr.Button("Refresh records", scale=1)
    refresh.click(lambda: gr.update(choices=consent_choices(scope)), outputs=consent, queue=False,
                  api_visibility="private")
    if scope == "reenact" and "reenact" in generators:
        with gr.Accordion("Live: drive the subject with your webcam", open=False, elem_id="create-live"):
            _live_section(ctx, consent)
    for name, cls in sorted(generators.items()):
        with gr.Group():
            gr.Markdown(f"#### {name}\n{getattr(cls, 'description', '')}")
            _generator_form(ctx, scope, name, cls, consent)


def _generator_form(ctx: WebContext, scope: str, name: str, cls: Any, consent: Any) -> None:
    declared: dict[str, str] = dict(getattr(cls, "inputs", {}) or {})
    base = f"create-{name}"
    with gr.Row():
        fields = [_input_component(key, desc, f"{base}-{key}") for key, desc in declared.items()]
    # The audio picker takes sound files and the microphone only; speech is often in a video.
    speech_videos = {key: gr.File(file_types=list(VIDEO_TYPES), label=f"...or the {key} from a video's sound track",
                                  elem_id=f"{base}-{key}-video")
                     for key, desc in declared.items() if input_kinds(key, desc)[0] == "audio"}
    for (key, desc), field in zip(declared.items(), fields):
        kind = input_kinds(key, desc)[0]
        samples = sample_files(*(SAMPLE_IMAGES if kind == "image" else SAMPLE_VIDEOS)) if kind != "audio" else []
        if samples:
            gr.Examples([[s] for s in samples], inputs=[field], label=f"Sample media for {key}")
    text = None
    if scope == "lipsync":
        text = gr.Textbox(label="...or type the words to say (spoken with espeak-ng)", lines=2,
                          elem_id=f"{base}-text")
    with gr.Row():
        run = gr.Button(f"Create with {name}", variant="primary", elem_id=f"{base}-run", scale=4)
        cancel = gr.Button("Cancel", variant="stop", elem_id=f"{base}-cancel", scale=1)
    with gr.Row():
        video = gr.Video(label="Result (marked and signed)", interactive=False, elem_id=f"{base}-video")
        with gr.Column():
            provenance = gr.Markdown(elem_id=f"{base}-provenance")
            download = gr.DownloadButton("Download the marked, signed file", elem_id=f"{base}-download")
    tab = f"create_{name}"

    @user_errors
    def create(values: dict, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:
        from toolkit.generation import GenerationRequest

        consent_id = values[consent]
        if not consent_id:
            raise InputError(f"choose a consent record that grants {scope}")
        files = [values[f] for f in fields]
        words = values[text] if text is not None else None
        inputs: dict[str, str] = {}
        options: dict[str, Any] = {}
        for (key, desc), value in zip(declared.items(), files):
            if value:
                inputs[key] = str(check_upload(value, input_kinds(key, desc), ctx.limits, what=key)[0])
        for key, component in speech_videos.items():
            if values[component]:
                if key in inputs:
                    raise InputError(f"give the {key} either as an audio file or as a video, not both")
                inputs[key] = str(check_upload(values[component], ("video",), ctx.limits, what=key,
                                               need_audio=True)[0])
        replaced = None
        if words and words.strip():
            said = check_text(words, ctx.limits, what="text")
            audio_key = next((k for k, d in declared.items() if input_kinds(k, d)[0] == "audio"), None)
            if audio_key and audio_key in inputs:
                raise InputError("give the new speech either as audio or as typed text, not both")
            replaced = text_replaces(declared)
            if replaced:  # the generator speaks text itself (e.g. lipsync: visemes from the words)
                options["text"] = said
            elif audio_key:  # otherwise speak it here and hand over the audio
                inputs[audio_key] = str(_speak(ctx, said))
        missing = [k for k in declared if k not in inputs and k != replaced]
        if missing:
            raise InputError(f"{name} needs {', '.join(missing)}")
        request_ = GenerationRequest(generator=name, consent_id=consent_id, output=_output_path(ctx, name),
                                     inputs=inputs, options=options)
        record = run_tracked_generation(request_, jobs=ctx.jobs, key=session_key(request, tab), progress=progress,
                                        host=ctx.host)
        offered = ctx.downloads.offer_output(output_record(record.result))
        served = ctx.downloads.resolve(offered.path)
        summary = (f"Job `{record.id}`: {record.result.get('frames')} frames, watermark ID "
                   f"`{record.result.get('watermark_id')}`.\n\n" + report_markdown(verify_report(offered.path)))
        return served, summary, served

    event = run.click(create, inputs={consent, *fields, *speech_videos.values(), *([text] if text is not None else [])},
                      outputs=[video, provenance, download], api_name=f"create_{name}", concurrency_id="dftk-heavy")
    wire_cancel(cancel, ctx.jobs, tab, [event])


# The webcam posts a frame this often; Gradio's server keeps only the newest one that arrived
# while the handler was busy (each post replaces the event's data), so a slow handler drops
# frames instead of building up latency.
LIVE_STREAM_EVERY_S = 0.05


def _live_section(ctx: WebContext, consent: Any) -> None:
    """Webcam frames stream to :class:`apps.live.LiveReenactor` (the consent record chosen
    above, its personal model, the watermark on every returned frame)."""
    gr.Markdown("Start the webcam: your facial motion drives the consenting subject (the record above must "
                "grant reenact and have a trained model). Every frame shown is invisibly watermarked; use the "
                "form below to make a signed file.")
    with gr.Row():
        camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", format="jpeg", label="Your webcam",
                          elem_id="create-live-camera")
        shown = gr.Image(label="The subject (live, watermarked)", type="numpy", format="jpeg", interactive=False,
                         elem_id="create-live-output")

    @user_errors
    def live_frame(frame: Any, consent_id: str | None, request: gr.Request) -> Any:
        return ctx.live(frame, consent_id, session_key(request, "live")[0])

    # trigger_mode must stay Gradio's default for streams ("multiple"): with "always_last" the
    # browser defers every frame after the first while the stream's submission is open (the
    # whole time_limit), so the stream stalls after one frame.
    camera.stream(live_frame, inputs=[camera, consent], outputs=shown, stream_every=LIVE_STREAM_EVERY_S,
                  time_limit=600, concurrency_limit=None, show_progress="hidden", api_visibility="private",
                  trigger_mode="multiple")


def _speak(ctx: WebContext, words: str) -> Path:
    """Typed words -> speech (espeak-ng via toolkit.lipsync), for generators that take audio.

    An intermediate input only: it is never offered for download; the generated video that
    carries it is marked and signed by the output writer."""
    import wave

    import numpy as np

    from toolkit.lipsync import synthesize
    from toolkit.media import atomic_path

    speech = synthesize(words)
    out = ctx.outputs_dir / "speech" / f"speech-{secrets.token_hex(4)}.wav"
    pcm = (np.clip(speech.samples, -1.0, 1.0) * 32767).astype("<i2")
    with atomic_path(out) as tmp, wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(int(speech.rate))
        wav.writeframes(pcm.tobytes())
    return out
