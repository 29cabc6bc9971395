"""Model cards for the detectors' fitted parameters: a JSON record and a readable Markdown page.

Every shipped weights or parameter file has ``<stem>.card.json`` and ``<stem>.md`` beside
it, written from the training record by the command that trained it (and extended by the
benchmark with measured results).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolkit.media.atomic import atomic_path


def card_paths(weights: Path) -> tuple[Path, Path]:
    weights = Path(weights)
    return weights.with_name(weights.stem + ".card.json"), weights.with_name(weights.stem + ".md")


def read_card(weights: Path) -> dict[str, Any]:
    path = card_paths(weights)[0]
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def write_card(weights: Path, card: dict[str, Any]) -> tuple[Path, Path]:
    """Write the JSON card and render the Markdown page from it (both atomically)."""
    json_path, md_path = card_paths(weights)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(card, indent=2, default=str) + "\n")
    with atomic_path(md_path) as tmp:
        tmp.write_text(render_markdown(card))
    return json_path, md_path


def update_card(weights: Path, section: str, value: Any) -> None:
    card = read_card(weights)
    card[section] = value
    write_card(weights, card)


def _kv_table(d: dict[str, Any]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    for k, v in d.items():
        if isinstance(v, (dict, list)):
            v = json.dumps(v, default=str)
            if len(v) > 160:
                v = v[:157] + "..."
        lines.append(f"| {k} | {v} |")
    return lines


def render_markdown(card: dict[str, Any]) -> str:
    title = card.get("name", "model")
    lines = [f"# Model card: {title}", ""]
    for key in ("summary", "intended_use", "limitations"):
        if card.get(key):
            heading = key.replace("_", " ").capitalize()
            value = card[key]
            lines += [f"## {heading}", ""]
            lines += [f"- {v}" for v in value] if isinstance(value, list) else [str(value)]
            lines.append("")
    skip = {"name", "summary", "intended_use", "limitations", "history"}
    for key, value in card.items():
        if key in skip:
            continue
        lines += [f"## {key.replace('_', ' ').capitalize()}", ""]
        if isinstance(value, dict):
            lines += _kv_table(value)
        elif isinstance(value, list):
            lines += [f"- {json.dumps(v, default=str) if isinstance(v, (dict, list)) else v}" for v in value]
        else:
            lines.append(str(value))
        lines.append("")
    if card.get("history"):
        lines += ["## Training curve (every 25 steps, smoothed)", "", "| step | seconds | cls loss | map loss | train acc | lr |",
                  "|---|---|---|---|---|---|"]
        hist = card["history"]
        stride = max(1, len(hist) // 20)
        for h in hist[::stride] + ([hist[-1]] if (len(hist) - 1) % stride else []):
            lines.append(f"| {h['step']} | {h['seconds']} | {h['cls_loss']} | {h['map_loss']} | {h['train_acc']} | {h['lr']} |")
        lines.append("")
    return "\n".join(lines)
