"""Small helpers shared by tabs: consent-record choices, Markdown tables."""

from __future__ import annotations

from typing import Iterable


def markdown_table(headers: list[str], rows: Iterable[Iterable[object]]) -> str:
    def cell(value: object) -> str:
        return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ") or "-"

    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def consent_choices(scope: str | None = None) -> list[tuple[str, str]]:
    """(label, record id) for every valid record (granting ``scope`` when given)."""
    from toolkit.consent import ConsentRegistry, check

    out = []
    for stored in ConsentRegistry().list():
        record = stored.record
        if record is None or not check(stored).valid:
            continue
        if scope and scope not in record.scopes:
            continue
        out.append((f"{record.subject} ({record.kind}, {', '.join(record.scopes)}) {record.id}", record.id))
    return out


def sample_files(*names: str) -> list[str]:
    """Paths of the real sample media (fetched and sha256-checked on first use), for gr.Examples.

    An offline machine without the cached samples gets no examples rather than an error.
    """
    from toolkit.errors import DftkError
    from toolkit.samples import fetch_samples

    try:
        return [str(p) for p in fetch_samples(list(names)).values()]
    except DftkError:
        return []
