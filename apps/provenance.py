"""Provenance of a file for people: ``dftk verify``'s report (C2PA manifest and invisible
watermark side by side, :func:`toolkit.verify.verify_file`) as Markdown and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def verify_report(path: Path) -> Any:
    from toolkit.verify import verify_file

    return verify_file(path)


def report_json(report: Any) -> dict:
    """The report without server paths or the raw manifest store."""
    data = report.to_dict()
    data.pop("path", None)
    c2pa = data.get("c2pa") or {}
    c2pa.pop("path", None)
    c2pa.pop("manifest_json", None)
    return {"file": Path(report.path).name, **data}


def report_markdown(report: Any) -> str:
    from toolkit.verify import AGREEMENT

    c2pa = report.c2pa
    lines = [f"**{report.summary}**"]
    if c2pa.state is None:
        lines.append("**C2PA:** no manifest.")
    else:
        signer = c2pa.signer.subject if c2pa.signer else "unknown signer"
        lines.append(f"**C2PA:** {c2pa.state}, signed by {signer}"
                     + (f"; status codes: {', '.join(f'`{c}`' for c in c2pa.status_codes)}" if c2pa.status_codes else "")
                     + ".")
        if c2pa.ai_generated:
            lines.append(f"**AI-generated:** yes ({c2pa.digital_source_type}).")
        if c2pa.consent is not None:
            by = f", attested by {c2pa.consent.operator}" if c2pa.consent.operator else ""
            lines.append(f"**Consent record:** `{c2pa.consent.record_id}` ({c2pa.consent.kind}{by}).")
    mark = report.watermark
    if mark is None:
        lines.append("**Watermark:** not applicable (no pixels).")
    elif mark.found:
        lines.append(f"**Watermark:** found, output ID `{mark.payload_hex}` ({mark.key} key, {mark.frames} frames).")
    else:
        lines.append("**Watermark:** none found.")
    lines.append(f"**Agreement:** {AGREEMENT[report.agreement]}.")
    return "\n\n".join(lines)
