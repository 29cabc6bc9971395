"""``dftk demo`` (what ``make run`` runs) end to end on the real samples, with the ``tiny`` preset.

It makes an attested record for the Pexels woman, trains her personal model, writes a
reenactment, a lip-sync and a swap through the core job, and verifies each file. A second
run reuses the record and the model.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from toolkit.verify import verify_file


def _demo(tmp_path: Path) -> tuple[int, dict]:
    from toolkit.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo", "--preset", "tiny", "--out", str(tmp_path), "--json"])
    text = out.getvalue().strip()
    return code, (json.loads(text) if text else {})


def test_demo_makes_three_signed_marked_outputs_and_reuses_its_model(samples, tmp_path):
    code, summary = _demo(tmp_path / "first")
    assert code == 0, summary
    assert [o["generator"] for o in summary["outputs"]] == ["reenact", "lipsync", "swap"]
    for row in summary["outputs"]:
        path = Path(row["path"])
        assert path.is_file() and path.parent == tmp_path / "first"
        report = verify_file(path)  # re-read from disk, not the demo's own summary
        assert report.c2pa.state == "Trusted" and report.c2pa.ai_generated
        assert report.c2pa.consent.record_id == summary["record"] and report.c2pa.consent.kind == "attested"
        assert report.watermark.found and report.watermark.payload_hex == row["watermark_id"]
        assert report.agreement == "match"
        assert row["frames"] > 10
    assert any("ATTESTED" in n for n in summary["notes"])

    code, again = _demo(tmp_path / "second")
    assert code == 0 and again["record"] == summary["record"] and again["model"] == summary["model"]
    assert any("(cached)" in n for n in again["notes"])
