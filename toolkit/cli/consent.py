"""``dftk consent``: challenge, create, attest, list, show, revoke."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from toolkit.cli import app
from toolkit.cli.output import console, print_json, progress_bar

consent_app = typer.Typer(help="Consent records: capture, attest, list, show, revoke.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")

_JSON = typer.Option(False, "--json", help="Machine-readable output.")
_SCOPES = typer.Option(..., "--scopes", "-s", help="Comma-separated: reenact, lipsync, swap.")
_EXPIRES = typer.Option(None, "--expires", help="Expiry date (YYYY-MM-DD, end of day UTC) or ISO date-time.")
_DAYS = typer.Option(None, "--days", help="Expire this many days from now (default 365).")

_KIND_LABEL = {
    "captured": "captured (the subject recorded their consent in dftk; capture checks passed)",
    "attested": "ATTESTED (an operator attests a release signed elsewhere; no capture checks)",
}


def _split(scopes: str) -> list[str]:
    return [s for s in scopes.replace(" ", ",").split(",") if s]


def _record_dict(stored, status) -> dict:
    record = stored.record
    data = {"id": stored.id, "status": status.state, "reason": status.reason}
    if record is None:
        return data
    data.update(record.document())
    data["sha256"] = record.sha256
    data["scopes"] = list(record.scopes)
    if stored.revocation is not None:
        data["revocation"] = stored.revocation.to_dict()
    return data


@consent_app.command("challenge")
def challenge_cmd(
    subject: str = typer.Option(..., "--subject", help="The subject's full name."),
    scopes: str = _SCOPES,
    expires: Optional[str] = _EXPIRES,
    days: Optional[int] = _DAYS,
    as_json: bool = _JSON,
) -> None:
    """Issue a challenge phrase and the statement the subject reads on camera."""
    from toolkit.consent import issue_challenge
    from toolkit.consent.challenge import CHALLENGE_TTL

    ch = issue_challenge(subject, _split(scopes), expires=expires, days=days)
    if as_json:
        print_json(ch.to_dict())
        return
    console.print(f"challenge [bold]{ch.id}[/bold] (use within {int(CHALLENGE_TTL.total_seconds() // 60)} min, "
                  f"until {ch.expires})")
    console.print(f"phrase: [bold]{ch.phrase}[/bold]\n")
    console.print("Record the subject, alone, facing the camera, reading this aloud; blink and turn the head a "
                  "little while reading:\n")
    console.print(f"  {ch.statement}\n")
    console.print(f"then: dftk consent create RECORDING --challenge {ch.id}")


def _checks_table(report) -> Table:
    table = Table("check", "result", "measured", "needed", "what to do")
    for c in report.checks:
        table.add_row(c.name, "[green]pass[/green]" if c.passed else "[red]FAIL[/red]", c.value, c.threshold,
                      c.message)
    return table


@consent_app.command("create")
def create_cmd(
    recording: Path = typer.Argument(..., help="Video of the subject reading the challenge statement."),
    challenge: str = typer.Option(..., "--challenge", "-c", help="Challenge id from `dftk consent challenge`."),
    as_json: bool = _JSON,
) -> None:
    """Check a consent recording and store a signed, captured consent record."""
    from toolkit.consent import create_captured
    from toolkit.consent.create import CaptureRejected

    with progress_bar("checking the recording", total=None, enabled=not as_json) as advance:
        last = [0]

        def on_progress(done: int, total: int | None) -> None:
            advance(done - last[0], total=total)
            last[0] = done

        try:
            record, report = create_captured(challenge, recording, on_progress=on_progress)
        except CaptureRejected as exc:
            if not as_json:
                console.print(_checks_table(exc.report))
            raise
    if as_json:
        print_json({"record": record.document(), "sha256": record.sha256, "capture": report.to_dict()})
        return
    console.print(_checks_table(report))
    console.print(f"consent record [bold]{record.id}[/bold] created for {record.subject} "
                  f"({', '.join(record.scopes)}; expires {record.expires})")


@consent_app.command("attest")
def attest_cmd(
    subject: str = typer.Option(..., "--subject", help="The subject's full name."),
    operator: str = typer.Option(..., "--operator", help="Who attests that the release was signed."),
    release: Path = typer.Option(..., "--release", help="The signed release document (only its sha256 is kept)."),
    face: Path = typer.Option(..., "--face", help="Photo or clip of the subject (usually the footage itself)."),
    scopes: str = _SCOPES,
    expires: Optional[str] = _EXPIRES,
    days: Optional[int] = _DAYS,
    as_json: bool = _JSON,
) -> None:
    """Store an operator-attested record for footage whose subject signed a release elsewhere."""
    from toolkit.consent import create_attested

    record = create_attested(subject, operator, release, face, _split(scopes), expires=expires, days=days)
    if as_json:
        print_json({"record": record.document(), "sha256": record.sha256})
        return
    console.print(f"attested consent record [bold]{record.id}[/bold] for {record.subject}, attested by "
                  f"{record.operator} ({', '.join(record.scopes)}; expires {record.expires}); outputs made with "
                  "it are marked as attested in their C2PA manifest")


@consent_app.command("list")
def list_cmd(as_json: bool = _JSON) -> None:
    """List consent records with their status."""
    from toolkit.consent import ConsentRegistry, check

    rows = [(s, check(s)) for s in ConsentRegistry().list()]
    if as_json:
        print_json([_record_dict(s, st) for s, st in rows])
        return
    table = Table("id", "kind", "subject", "scopes", "expires", "status")
    for stored, status in rows:
        r = stored.record
        colour = {"valid": "green", "revoked": "yellow", "expired": "yellow"}.get(status.state, "red")
        table.add_row(stored.id, r.kind if r else "?", r.subject if r else "?", ", ".join(r.scopes) if r else "?",
                      r.expires if r else "?", f"[{colour}]{status.state}[/{colour}]")
    console.print(table)


@consent_app.command("show")
def show_cmd(record_id: str = typer.Argument(..., help="Consent record id."), as_json: bool = _JSON) -> None:
    """Show one record: what was consented, how, and whether it can be used now."""
    from toolkit.consent import check
    from toolkit.consent.gate import load

    stored = load(record_id)
    status = check(stored)
    if as_json:
        print_json(_record_dict(stored, status))
        return
    table = Table(show_header=False)
    table.add_row("id", stored.id)
    table.add_row("status", status.state + (f": {status.reason}" if status.reason else ""))
    r = stored.record
    if r is not None:
        table.add_row("kind", _KIND_LABEL.get(r.kind, r.kind))
        table.add_row("subject", r.subject)
        table.add_row("scopes", ", ".join(r.scopes))
        table.add_row("created", r.created)
        table.add_row("expires", r.expires)
        table.add_row("statement", r.statement)
        if r.attested:
            table.add_row("attested by", r.operator or "?")
            table.add_row("release sha256", r.evidence_sha256)
        else:
            table.add_row("challenge phrase", r.challenge or "")
            table.add_row("recording sha256", r.evidence_sha256)
            checks = (r.capture or {}).get("checks", {})
            table.add_row("capture checks", ", ".join(f"{k} {'pass' if v.get('passed') else 'FAIL'}"
                                                      for k, v in checks.items()))
        table.add_row("face reference", f"sha256 {r.face.image_sha256[:16]}… from {r.face.source_sha256[:16]}… "
                                        f"frame {r.face.frame_index}")
        table.add_row("signed by key", r.key_id)
        table.add_row("record sha256", r.sha256)
    if stored.revocation is not None:
        table.add_row("revoked", f"{stored.revocation.revoked} {stored.revocation.reason}".strip())
    console.print(table)


@consent_app.command("revoke")
def revoke_cmd(
    record_id: str = typer.Argument(..., help="Consent record id."),
    reason: str = typer.Option("", "--reason", help="Why (kept with the revocation)."),
    as_json: bool = _JSON,
) -> None:
    """Revoke a record: no generation can use it from now on."""
    from toolkit.consent import revoke

    revocation = revoke(record_id, reason)
    if as_json:
        print_json(revocation.to_dict())
        return
    console.print(f"consent record [bold]{record_id}[/bold] revoked ({revocation.revoked})")
