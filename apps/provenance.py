"""One-paragraph provenance summary of a file (C2PA, and the invisible mark when the
watermark module is installed), shared by the Create and Verify tabs."""

from __future__ import annotations

from pathlib import Path


def c2pa_lines(report: dict) -> list[str]:
    lines = []
    state = report.get("state")
    if state is None:
        return ["**C2PA:** no manifest (the file carries no provenance)."]
    signer = (report.get("signer") or {}).get("subject") or "unknown signer"
    lines.append(f"**C2PA:** {state}, signed by {signer}.")
    if report.get("status_codes"):
        lines.append("Status codes: " + ", ".join(f"`{c}`" for c in report["status_codes"]))
    if report.get("ai_generated"):
        lines.append(f"**AI-generated:** yes ({report.get('digital_source_type')}).")
    consent = report.get("consent")
    if consent:
        by = f", attested by {consent['operator']}" if consent.get("operator") else ""
        lines.append(f"**Consent record:** `{consent['record_id']}` ({consent['kind']}{by}).")
    if report.get("watermark_id"):
        lines.append(f"**Watermark ID in manifest:** `{report['watermark_id']}`.")
    return lines


def c2pa_report(path: Path) -> dict:
    from watermark.c2pa_read import read_provenance

    report = read_provenance(path).to_dict()
    report.pop("manifest_json", None)
    report.pop("path", None)  # a server path means nothing to the user
    return {"file": Path(path).name, **report}
