"""The detection report as one self-contained HTML page.

Inline CSS, every image a base64 ``data:`` URI, no scripts and no external references, so
the file can be mailed, archived or opened offline. Sections: verdict and plain-language
summary, per-detector breakdown, score timeline, faces (boxes, crops, heatmaps), signal
traces, provenance, caveats, technical details (with the JSON report embedded).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from toolkit.detection import plots
from toolkit.media.atomic import atomic_path

if TYPE_CHECKING:
    from toolkit.detection.suite import DetectionReport

BAND_COLORS = {"authentic": "#2e7d32", "suspicious": "#ef6c00", "manipulated": "#c62828", "inconclusive": "#546e7a"}

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2329}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 10px;border-bottom:1px solid #d5d9de;padding-bottom:4px}
.file{color:#56606b;font-size:13px;word-break:break-all}
.verdict{border-radius:10px;padding:18px 20px;color:#fff;margin:16px 0}
.verdict .band{font-size:26px;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.verdict .prob{font-size:15px;opacity:.95}
.summary{background:#fff;border-radius:8px;padding:14px 16px;line-height:1.5}
table{border-collapse:collapse;width:100%;background:#fff;border-radius:8px;overflow:hidden;font-size:13px}
th,td{padding:7px 9px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{background:#eef0f3;font-weight:600}
.bar{background:#e6e8eb;border-radius:4px;height:10px;width:120px;position:relative}
.bar span{display:block;height:10px;border-radius:4px}
.na{color:#8a939c}
.grid{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:10px;font-size:12px}
.card img{display:block;max-width:100%;border-radius:4px}
.caveats li{margin-bottom:6px;line-height:1.45}
pre{background:#fff;padding:10px;border-radius:8px;font-size:11px;overflow:auto;max-height:420px}
.muted{color:#56606b;font-size:12px}
"""


def _b64(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _img(data: bytes | None, alt: str, mime: str = "image/png", width: int | None = None) -> str:
    if not data:
        return ""
    w = f' width="{width}"' if width else ""
    return f'<img src="{_b64(data, mime)}" alt="{html.escape(alt)}"{w}>'


def _e(value) -> str:
    return html.escape(str(value))


def _bar(score: float | None, color: str) -> str:
    if score is None:
        return '<span class="na">-</span>'
    return (f'<div class="bar"><span style="width:{score * 100:.0f}%;background:{color}"></span></div>'
            f'<div class="muted">{score:.2f}</div>')


def _detector_table(report: "DetectionReport") -> str:
    contrib = {c.detector: c for c in report.verdict.contributions}
    rows = []
    for r in report.results:
        c = contrib.get(r.detector)
        color = plots.COLORS.get(r.detector, "#455a64")
        weight = f"{c.weight:+.2f}" if c else "override" if r.detector == "provenance" else "-"
        share = f"{c.contribution:+.2f}" if c and r.applicable else "-"
        expl = _e(r.explanation) if r.applicable else f'<span class="na">not applicable: {_e(r.reason)}</span>'
        rows.append(f"<tr><td><b>{_e(r.detector)}</b><div class='muted'>v{_e(r.version)}</div></td>"
                    f"<td>{_bar(r.clip_score if r.applicable else None, color)}</td><td>{weight}</td><td>{share}</td>"
                    f"<td>{expl}</td></tr>")
    return ("<table><tr><th>detector</th><th>clip score</th><th>fusion weight</th><th>adds to logit</th>"
            "<th>finding</th></tr>" + "".join(rows) + "</table>"
            f"<p class='muted'>Fused logit = intercept {report.verdict.intercept:+.2f} + the sum of the contributions. "
            "Each contribution is the weight times the logit of the detector's clip score; a detector that could "
            "not judge the file adds 0.</p>")


def _faces_section(report: "DetectionReport") -> str:
    clip = report.analysis
    if clip is None or not clip.has_faces:
        return "<p class='muted'>No face was found in the analysed frames.</p>"
    cards = []
    blend = report.result("blend")
    heatmaps = [e for e in (blend.evidence if blend and blend.applicable else []) if e.kind == "heatmap"]
    for e in heatmaps:
        crop, overlay = plots.heatmap_overlay(clip, e.data)
        frame = plots.frame_with_boxes(clip, int(e.data["frame"]))
        cards.append(
            f"<div class='card'>{_img(plots.jpeg(frame), 'frame', 'image/jpeg', 300)}"
            f"<div class='grid' style='margin-top:6px'>{_img(plots.png(crop), 'face crop', width=146)}"
            f"{_img(plots.png(overlay), 'blend heatmap', width=146)}</div>"
            f"<div>{_e(e.label)}: score {float(e.data.get('score', 0)):.2f}</div></div>")
    if not cards:  # no heatmaps: show where the faces are
        with_faces = [i for i, f in enumerate(clip.frames) if f.faces]
        for pos in [with_faces[int(i)] for i in np.linspace(0, len(with_faces) - 1, min(3, len(with_faces)))]:
            frame = plots.frame_with_boxes(clip, pos)
            cards.append(f"<div class='card'>{_img(plots.jpeg(frame), 'frame', 'image/jpeg', 300)}"
                         f"<div>{clip.frames[pos].time:.2f} s</div></div>")
    tracks = "".join(f"<li>face {t['track_id']}: {t['frames']} frames ({t['first_time']:.1f}-{t['last_time']:.1f} s), "
                     f"{t['frames_with_mesh']} with a face mesh</li>" for t in report.faces.get("tracks", []))
    legend = ("<p class='muted'>Heatmaps: where the blending-boundary network locates a blend in the face crop "
              "(red = strong). They show the crops it scored highest.</p>" if heatmaps else "")
    return f"<div class='grid'>{''.join(cards)}</div>{legend}<ul class='muted'>{tracks}</ul>"


def _signals_section(report: "DetectionReport") -> str:
    cards = []
    for r in report.results:
        if not r.applicable or r.detector in ("blend", "provenance"):
            continue
        traces = [e for e in r.evidence if e.kind == "trace"]
        if r.detector == "temporal":  # jitter and flicker on separate axes
            groups = [[e] for e in traces[:2]]
        elif r.detector == "avsync":
            groups = [traces[:1], traces[1:2]]
        else:
            groups = [traces[:4]]
        for g in groups:
            png = plots.trace(g, f"{r.detector}: {g[0].label}" if g else r.detector) if g else None
            if png:
                cards.append(f"<div class='card'>{_img(png, r.detector, width=440)}</div>")
        facts = [e for e in r.evidence if e.kind == "fact"]
        for f in facts:
            items = "".join(f"<li>{_e(k)}: {_e(_fmt(v))}</li>" for k, v in f.data.items())
            cards.append(f"<div class='card'><b>{_e(f.label)}</b><ul>{items}</ul></div>")
    return f"<div class='grid'>{''.join(cards)}</div>" if cards else "<p class='muted'>No signal traces.</p>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _provenance_section(report: "DetectionReport") -> str:
    prov = report.result("provenance")
    if prov is None:
        return "<p class='muted'>The provenance check did not run.</p>"
    if not prov.applicable:
        return f"<p class='muted'>Not checked: {_e(prov.reason)}</p>"
    blocks = [f"<p>{_e(prov.explanation)}</p>"]
    for e in prov.evidence:
        rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(json.dumps(v) if isinstance(v, (dict, list)) else v)}</td></tr>"
                       for k, v in e.data.items() if v not in (None, [], {}, ""))
        blocks.append(f"<h3 style='font-size:14px'>{_e(e.label)}</h3><table>{rows}</table>")
    return "".join(blocks)


def render(report: "DetectionReport") -> str:
    v = report.verdict
    color = BAND_COLORS.get(v.band, "#546e7a")
    from toolkit.detection.suite import percent

    prob = "no probability: nothing could be judged" if v.probability is None else (
        "declared or marked as generated (provenance)" if v.override else
        f"probability of manipulation {percent(v.probability)}")
    duration = float(report.media.get("duration") or 0.0)
    timeline = plots.timeline(report.results, duration, v.bands) if not report.media.get("is_image") else None
    timeline_html = (_img(timeline, "score timeline") if timeline else
                     "<p class='muted'>No per-frame scores to plot" + (" (a still image)." if report.media.get("is_image") else ".") + "</p>")
    caveats = "".join(f"<li>{_e(c)}</li>" for c in report.caveats)
    s = report.sampling
    t = report.timings
    details = (f"<p class='muted'>{s['analysed_frames']} of {s['source_frames']} frames analysed ({_e(s['policy'])}); "
               f"face pass: {_e(', '.join(f'{k} {v}' for k, v in report.faces.get('backends', {}).items()))}; "
               f"took {t['total_s']:.1f} s ({t['source_frames_per_s']:.1f} source frames/s); dftk {_e(report.version)}; "
               f"job {_e(report.job_id)}.</p>")
    data = json.dumps(report.to_dict(include_evidence=False), indent=1, default=str)
    name = Path(report.path).name
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>dftk detection report: {_e(name)}</title><style>{CSS}</style></head>
<body><main>
<h1>Deepfake detection report</h1><div class="file">{_e(report.path)}</div>
<div class="verdict" style="background:{color}"><div class="band">{_e(v.band)}</div><div class="prob">{_e(prob)}</div></div>
<div class="summary">{_e(report.summary)}</div>
<h2>Detectors</h2>{_detector_table(report)}
<h2>Score over time</h2>{timeline_html}
<h2>Faces</h2>{_faces_section(report)}
<h2>Signals</h2>{_signals_section(report)}
<h2>Provenance</h2>{_provenance_section(report)}
<h2>Caveats</h2><ul class="caveats">{caveats}</ul>
<h2>Technical details</h2>{details}<details><summary class="muted">JSON report (without per-frame data)</summary><pre>{_e(data)}</pre></details>
</main></body></html>
"""


def write_report(report: "DetectionReport", path: Path) -> Path:
    """Render and write atomically (no half-written report on failure)."""
    from toolkit.errors import InputError

    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{path.name}: the report is written as an .html file")
    text = render(report)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
