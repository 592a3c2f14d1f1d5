"""``garrison audit``: verify, export and read the hash-chained audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from garrison.cli.context import console, open_db, print_json
from garrison.errors import IntegrityError
from garrison.i18n import _

app = typer.Typer(help=_("The tamper-evident audit trail."), no_args_is_help=True)


@app.command()
def verify(
    ctx: typer.Context,
    anchor: Annotated[Path | None, typer.Option("--anchor", metavar="MANIFEST", help=_(
        "An export's .manifest.json: the chain must still hold the head recorded there "
        "(catches rows removed from the end or a rewritten chain)."))] = None,
    file: Annotated[Path | None, typer.Option("--file", metavar="EXPORT", help=_(
        "Verify an exported JSON Lines file instead of the database."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Walk the hash chain; exit 5 naming the first broken row if anything was altered."""
    from garrison import audit

    anchor_value = audit.read_anchor(anchor) if anchor else None
    if file is not None:
        report = audit.verify_rows(audit.read_export(file), anchor=anchor_value)
        source = str(file)
    else:
        from garrison.db import display_url, read_session

        settings = open_db(ctx)
        with read_session(settings) as session:
            report = audit.verify(session, anchor=anchor_value)
        source = display_url(settings.db)
    if as_json:
        print_json({"ok": report.ok, "rows": report.rows, "head_seq": report.head_seq,
                    "head_hash": report.head_hash, "broken_seq": report.broken_seq,
                    "problem": report.problem, "source": source})
        if not report.ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not report.ok:
        raise IntegrityError(
            _("audit chain broken at row seq={seq}: {problem}").format(
                seq=report.broken_seq, problem=report.problem),
            hint=_("{n} rows before it verified. Preserve the database as evidence and "
                   "compare with your last export.").format(n=report.rows),
        )
    console().print(_("[green]OK[/green] {n} audit rows verified in {src}; head seq={seq} "
                      "hash={hash}").format(n=report.rows, src=source, seq=report.head_seq,
                                            hash=report.head_hash))


@app.command()
def export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help=_(
        "Where to write the JSON Lines file (a FILE.manifest.json is written beside it)."),
        show_default=False)],
) -> None:
    """Export the whole chain as JSON Lines with a manifest holding the head hash."""
    from garrison import audit
    from garrison.db import display_url, write_session

    settings = open_db(ctx)
    with write_session(settings) as session:
        result = audit.export(session, path=output, actor=settings.actor,
                              database=display_url(settings.db), now=settings.now())
    console().print(_("Wrote {n} rows to {path}\nmanifest {manifest}\nhead seq={seq} "
                      "hash={hash}\nsha256 {sha}").format(
        n=result.rows, path=result.path, manifest=result.manifest, seq=result.head_seq,
        hash=result.head_hash, sha=result.sha256))


@app.command("verify-export")
def verify_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help=_(
        "An export (findings or audit) with its FILE.manifest.json beside it."))],
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Check an export against its manifest, and the audit chain against the manifest's head."""
    from garrison import audit
    from garrison.db import read_session

    check = audit.verify_export(file)
    chain = None
    if check.ok and "head_seq" in check.manifest:
        settings = open_db(ctx)
        with read_session(settings) as session:
            chain = audit.verify(session, anchor=audit.Anchor(
                seq=int(check.manifest["head_seq"]), hash=str(check.manifest["head_hash"])))
    ok = check.ok and (chain is None or chain.ok)
    if as_json:
        print_json({"ok": ok, "file": str(file), "sha256": check.sha256,
                    "manifest": check.manifest, "file_problem": check.problem,
                    "chain_problem": chain.problem if chain else None})
        if not ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not check.ok:
        raise IntegrityError(check.problem or "", hint=_(
            "Do not use this file as evidence; export again from the database."))
    if chain is not None and not chain.ok:
        raise IntegrityError(
            _("{f} matches its manifest, but the audit chain does not hold the head it "
              "recorded: {p}").format(f=file.name, p=chain.problem),
            hint=_("The database was altered after the export."))
    console().print(_("[green]OK[/green] {f} matches its manifest ({rows} rows, sha256 {s}); "
                      "the audit chain still holds its head (seq {seq}).").format(
        f=file, rows=check.manifest.get("rows"), s=check.sha256[:16],
        seq=check.manifest.get("head_seq")))


@app.command()
def log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help=_(
        "How many of the newest events."))] = 20,
    action: Annotated[str | None, typer.Option("--action", help=_(
        "Only actions starting with this, e.g. scope.refused or org."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Show the newest audit events."""
    import json

    from rich.table import Table

    from garrison.audit import recent
    from garrison.db import read_session

    settings = open_db(ctx)
    with read_session(settings) as session:
        events = recent(session, limit=limit, action_prefix=action)
    if as_json:
        print_json([{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor,
                     "action": e.action, "subject": e.subject,
                     "payload": json.loads(e.payload), "hash": e.hash} for e in events])
        return
    table = Table(_("seq"), _("at (UTC)"), _("actor"), _("action"), _("subject"), _("details"))
    for e in events:
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action,
                      e.subject, e.payload if len(e.payload) < 120 else e.payload[:117] + "...")
    console().print(table)
