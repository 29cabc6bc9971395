"""Builtin detector: provenance -- any C2PA manifest, and dftk's invisible watermark.

Not a statistical detector: it reads what the file declares. A valid C2PA manifest that
labels the content AI-generated (IPTC ``trainedAlgorithmicMedia`` and kin), or dftk's
invisible watermark found in the frames, is proof the file was (declared) generated: score
1.0, and the suite's verdict is "manipulated" whatever the other detectors say. A manifest
that fails validation is reported as such (score 0.5: tampered, or edited after signing).
Absence of provenance is *not* evidence of authenticity (most real and most fake media
carry none): score 0.0, and the fusion ignores this detector (``fused = False``).
"""

from __future__ import annotations

import numpy as np

from toolkit.detection import ClipAnalysis, Detector, DetectorResult, Evidence
from toolkit.errors import InputError
from toolkit.hookspecs import hookimpl

# Frames fed to the watermark decoder (it accumulates evidence across frames).
MAX_WATERMARK_FRAMES = 48


def c2pa_summary(report) -> dict:
    return {
        "has_manifest": report.has_manifest,
        "state": report.state,
        "ai_generated": report.ai_generated,
        "digital_source_type": report.digital_source_type,
        "signer": report.signer.subject if report.signer else None,
        "issuer": report.signer.issuer if report.signer else None,
        "claim_generator": report.claim_generator,
        "title": report.title,
        "watermark_id": report.watermark_id,
        "consent": report.consent.to_dict() if report.consent else None,
        "generator": report.generator,
        "actions": [a.get("action") for a in report.actions],
        "status_codes": report.status_codes[:12],
        "training_mining": report.training_mining,
    }


def watermark_check(clip: ClipAnalysis) -> dict:
    """Run dftk's watermark decoder over the analysed frames (see :mod:`watermark.invisible`)."""
    try:
        from watermark.invisible import WatermarkDecoder
    except ImportError:
        return {"available": False, "found": False, "note": "the watermark decoder is not installed in this build"}
    decoder = WatermarkDecoder()
    picks = np.linspace(0, len(clip.frames) - 1, min(len(clip.frames), MAX_WATERMARK_FRAMES)).round().astype(int)
    for i in sorted(set(picks.tolist())):
        decoder.add(clip.frames[i].image)
    result = decoder.result()
    out = {"available": True, "found": bool(result.found), "frames": int(len(set(picks.tolist())))}
    out.update({k: v for k, v in result.to_dict().items() if k != "found"})
    return out


class ProvenanceDetector(Detector):
    name = "provenance"
    description = "Reads any C2PA manifest (AI-generation labels, signer, validity) and dftk's invisible watermark."
    version = "1"
    fused = False

    def analyze(self, clip: ClipAnalysis) -> DetectorResult:
        from watermark.c2pa_read import read_provenance

        c2pa_facts: dict
        try:
            report = read_provenance(clip.path)
            c2pa_facts = c2pa_summary(report)
        except InputError as exc:  # a format the C2PA library does not read
            c2pa_facts = {"has_manifest": False, "state": None, "error": exc.message}
        mark = watermark_check(clip)
        evidence = [Evidence("fact", "C2PA manifest", c2pa_facts), Evidence("fact", "dftk invisible watermark", mark)]
        state = c2pa_facts.get("state")
        declared_ai = bool(c2pa_facts.get("ai_generated")) and state in ("Trusted", "Valid")
        if mark.get("found") or declared_ai:
            reasons = []
            if declared_ai:
                reasons.append(f"a {state.lower()} C2PA manifest signed by "
                               f"{c2pa_facts.get('signer') or 'an unnamed signer'} declares it AI-generated "
                               f"({(c2pa_facts.get('digital_source_type') or '').rsplit('/', 1)[-1]})")
            if mark.get("found"):
                reasons.append(f"dftk's invisible watermark is present (ID {mark.get('watermark_id') or mark.get('id')})")
            score, explanation = 1.0, "provenance: " + "; ".join(reasons)
        elif state == "Invalid":
            score = 0.5
            explanation = ("provenance: a C2PA manifest is present but does not validate "
                           f"({', '.join(c2pa_facts.get('status_codes', [])[:3]) or 'unreadable'}): edited after "
                           "signing, or tampered")
        elif c2pa_facts.get("has_manifest"):
            score = 0.0
            explanation = (f"provenance: a {str(state).lower()} C2PA manifest signed by {c2pa_facts.get('signer')} "
                           "declares no AI generation")
        else:
            score = 0.0
            explanation = ("provenance: no C2PA manifest and no dftk watermark; absence of provenance is not "
                           "evidence of authenticity")
        if not mark.get("available"):
            explanation += " (watermark check unavailable)"
        return self.result(clip_score=score, evidence=evidence, explanation=explanation,
                           details={"declared_ai": declared_ai, "watermark_found": bool(mark.get("found")),
                                    "c2pa_state": state})


@hookimpl
def register_detectors(register):
    register(ProvenanceDetector)
