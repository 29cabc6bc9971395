"""``dftk demo``: the whole consented pipeline on the real sample clips.

1. An **attested** consent record for the woman in ``WolfgangLanger_Pexels.mp4`` (Pexels
   footage under the Pexels licence; none of the samples shows anyone giving consent on
   camera), attested by operator "dftk demo" with a release text written to
   ``<data dir>/demo/release.txt`` that says exactly that. One record per preset, reused
   while it is valid.
2. Her **personal model** trained on that clip (the clip her record's face reference came
   from, so no embedder is needed to bind it to her), cached: reused when present.
3. Three outputs through the core generation job (consent gate, watermark, C2PA):
   ``reenact`` driven by ``single_face.mp4`` (a man's expressions move her face),
   ``lipsync`` of her clip speaking typed text (espeak-ng), ``swap`` of her face into
   ``single_face.mp4`` (the man's clip is only the destination; the subject, whose face is
   generated, is the consenting woman).
4. ``dftk verify`` on each output.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable

from toolkit.generation import SCOPES

SUBJECT_CLIP = "WolfgangLanger_Pexels.mp4"
OTHER_CLIP = "single_face.mp4"
OPERATOR = "dftk demo"
SUBJECT = "the woman in WolfgangLanger_Pexels.mp4 (Pexels sample, demo)"
# Seconds of her clip where nothing covers her mouth (her hand does from about 3.5 s to 9.3 s).
LIPSYNC_SPAN = {"start": 9.6, "end": 18.5}
TEXT = "Hello. I agreed to this demo. Everything dftk makes is watermarked and signed."
RELEASE = """dftk demo release (not a legal document)

This file stands in for the signed release an operator keeps when they attest consent with
`dftk consent attest`. The demo animates the woman filmed in the Pexels stock clip
WolfgangLanger_Pexels.mp4 (Pexels licence: free to use and modify). She did not sign
anything for dftk: the record made from this file is ATTESTED by the operator "dftk demo",
and every output says so in its C2PA manifest. Do not publish the demo outputs as real.
"""


def _state_path(root: Path) -> Path:
    return root / "state.json"


def _demo_record(preset: str, root: Path, subject_clip: Path, say: Callable[[str], None]):
    """The preset's demo record if it is still valid, else a new attested one."""
    from toolkit.consent import ConsentRegistry, check, create_attested

    state_file = _state_path(root)
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    registry = ConsentRegistry()
    record_id = state.get(preset)
    if record_id:
        stored = registry.get(record_id)
        if stored is not None and check(stored).valid and set(stored.record.scopes) == set(SCOPES):
            return stored.record, False
    release = root / "release.txt"
    release.write_text(RELEASE)
    record = create_attested(SUBJECT, OPERATOR, release, subject_clip, list(SCOPES), days=30)
    state[preset] = record.id
    state_file.write_text(json.dumps(state, indent=2))
    say(f"attested consent record {record.id} for {SUBJECT} (operator {OPERATOR!r}, release {release})")
    return record, True


def _verify_row(path: Path) -> dict:
    from toolkit.verify import verify_file

    report = verify_file(path)
    c = report.c2pa
    return {
        "state": c.state or "no manifest",
        "ai_label": "composite" if c.digital_source_type and "composite" in c.digital_source_type
        else ("synthetic" if c.ai_generated else "none"),
        "consent": f"{c.consent.kind} {c.consent.record_id}" if c.consent else "-",
        "watermark": report.agreement,
        "summary": report.summary,
    }


def run_demo(preset: str = "quick", out: Path | None = None, say: Callable[[str], None] = print,
             on_start: Any = None, progress: Callable[[str], Any] | None = None) -> dict:
    """Run the demo; returns ``{"record", "model", "outputs": [...], "notes": [...]}``."""
    from toolkit.gan import PersonalModel, preset_config
    from toolkit.gan.model import model_path
    from toolkit.generation import GenerationRequest
    from toolkit.jobs.generate import run_generation
    from toolkit.jobs.train import run_training
    from toolkit.paths import subdir
    from toolkit.samples import fetch_samples

    preset_config(preset)
    progress = progress or (lambda stage: contextlib.nullcontext(lambda *a, **k: None))
    root = subdir("demo")
    out = Path(out) if out else root
    out.mkdir(parents=True, exist_ok=True)
    samples = fetch_samples()
    subject_clip, other_clip = samples[SUBJECT_CLIP], samples[OTHER_CLIP]
    record, _ = _demo_record(preset, root, subject_clip, say)
    notes = [f"consent: {record.id}, ATTESTED by {OPERATOR!r} for {SUBJECT}"]

    path = model_path(record.id)
    model_ok = False
    if path.is_file():
        with contextlib.suppress(Exception):
            model_ok = PersonalModel.load(path).card.preset == preset
    if model_ok:
        say(f"reusing the personal model {path}")
        notes.append(f"model: {path} (cached)")
    else:
        say(f"training her personal model ({preset} preset) on {SUBJECT_CLIP}")
        with progress("training") as on_progress:
            job = run_training(record.id, subject_clip, preset, on_progress=on_progress, on_start=on_start)
        notes.append(f"model: {path} (trained in {job.result['card']['training']['total_seconds']:.0f} s)")
        notes += [f"  {n}" for n in job.result["notes"]]

    runs = [
        ("reenact", {"driver": other_clip}, {}, f"{OTHER_CLIP} drives her face"),
        ("lipsync", {"video": subject_clip}, {"text": TEXT, **LIPSYNC_SPAN}, f"her clip speaks: {TEXT!r}"),
        ("swap", {"target": other_clip}, {}, f"her face on the person in {OTHER_CLIP}"),
    ]
    outputs = []
    for generator, inputs, options, what in runs:
        dest = out / f"demo_{generator}.mp4"
        say(f"{generator}: {what}")
        request = GenerationRequest(generator, record.id, dest, {k: str(v) for k, v in inputs.items()}, options)
        with progress(generator) as on_progress:
            job = run_generation(request, on_progress=on_progress, on_start=on_start)
        outputs.append({"generator": generator, "what": what, "path": str(dest), "job_id": job.id,
                        "frames": job.result["frames"], "watermark_id": job.result["watermark_id"],
                        "verify": _verify_row(dest)})
    return {"record": record.id, "model": str(path), "preset": preset, "outputs": outputs, "notes": notes}
