"""``garrison audit``: verify, export and read the hash-chained audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from garrison.cli.context import action_ctx, console, err_console, print_json
from garrison.errors import GarrisonError, IntegrityError
from garrison.i18n import _

if TYPE_CHECKING:
    from garrison.audit import Anchor, VerifyReport

app = typer.Typer(help=_("The tamper-evident audit trail."), no_args_is_help=True)


@app.command()
def verify(
    ctx: typer.Context,
    anchor: Annotated[Path | None, typer.Option("--anchor", metavar="MANIFEST", help=_(
        "An export's .manifest.json: the chain must still hold the head recorded there "
        "(catches rows removed from the end or a rewritten chain)."))] = None,
    file: Annotated[Path | None, typer.Option("--file", metavar="EXPORT", help=_(
        "Verify an exported JSON Lines file instead of the database (with the "
        "EXPORT.manifest.json beside it, also its row count, head and SHA-256)."))] = None,
    manifest: Annotated[Path | None, typer.Option("--manifest", metavar="MANIFEST", help=_(
        "With --file: the export's manifest, when it is not beside the file."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Walk the hash chain; exit 5 naming the first broken row if anything was altered."""
    from garrison import audit

    anchors = [audit.read_anchor(anchor)] if anchor else []
    if file is not None:
        _verify_file(file, manifest, anchors, as_json)
        return
    if manifest is not None:
        raise GarrisonError(_("--manifest goes with --file"), hint=_(
            "To check the database against an export's manifest, use --anchor MANIFEST."))
    from garrison import audit_service

    context = action_ctx(ctx)
    report = audit_service.verify(context, anchors=anchors)
    _render_chain(report, context.database, as_json)
    console().print(_("[green]OK[/green] {n} audit rows verified in {src}; head seq={seq} "
                      "hash={hash}").format(n=report.rows, src=context.database,
                                            seq=report.head_seq, hash=report.head_hash))


def _render_chain(report: VerifyReport, source: str, as_json: bool, *,
                  manifest_problem: str | None = None, extra: dict[str, Any] | None = None
                  ) -> None:
    """Print ``--json`` and exit (5 when anything failed), or raise for a broken chain."""
    ok = report.ok and manifest_problem is None
    if as_json:
        print_json({"ok": ok, "rows": report.rows, "head_seq": report.head_seq,
                    "head_hash": report.head_hash, "broken_seq": report.broken_seq,
                    "problem": report.problem, "source": source, **(extra or {})})
        raise typer.Exit(0 if ok else IntegrityError.exit_code)
    if not report.ok:
        raise IntegrityError(
            _("audit chain broken at row seq={seq}: {problem}").format(
                seq=report.broken_seq, problem=report.problem),
            hint=_("{n} rows before it verified. Preserve the database as evidence and "
                   "compare with your last export.").format(n=report.rows),
        )


def _verify_file(file: Path, manifest: Path | None, anchors: list[Anchor],
                 as_json: bool) -> None:
    from garrison.evidence import verify_audit_file

    check = verify_audit_file(file, manifest=manifest, anchors=anchors)
    _render_chain(check.report, str(file), as_json, manifest_problem=check.problem, extra={
        "manifest": str(check.manifest_file) if check.manifest_file else None,
        "manifest_problem": check.problem, "sha256": check.sha256})
    if check.problem is not None:
        raise IntegrityError(check.problem, hint=_(
            "Do not use this file as evidence; export again from the database. "
            "`garrison audit verify-export FILE` also checks the manifest against the "
            "database's own record of the export."))
    report = check.report
    console().print(_("[green]OK[/green] {n} audit rows verified in {src}; head seq={seq} "
                      "hash={hash}").format(n=report.rows, src=file, seq=report.head_seq,
                                            hash=report.head_hash))
    if check.manifest_file is None:
        err_console().print(_("No manifest beside {f}: rows removed from its end cannot be "
                              "detected. Keep FILE.manifest.json with the file, or give it "
                              "with --manifest.").format(f=file.name))
    else:
        console().print(_("It matches its manifest {m} (rows, head and SHA-256).").format(
            m=check.manifest_file))


@app.command()
def export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help=_(
        "Where to write the JSON Lines file (a FILE.manifest.json is written beside it)."),
        show_default=False)],
) -> None:
    """Export the whole chain as JSON Lines with a manifest holding the head hash."""
    from garrison import audit_service

    result = audit_service.export(action_ctx(ctx), path=output)
    console().print(_("Wrote {n} rows to {path}\nmanifest {manifest}\nhead seq={seq} "
                      "hash={hash}\nsha256 {sha}").format(
        n=result.rows, path=result.path, manifest=result.manifest, seq=result.head_seq,
        hash=result.head_hash, sha=result.sha256))


@app.command("verify-export")
def verify_export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help=_(
        "An export (findings, audit or expert roster) with its FILE.manifest.json beside "
        "it."))],
    anchor: Annotated[Path | None, typer.Option("--anchor", metavar="MANIFEST", help=_(
        "The manifest of a later audit export, kept where the database's administrators "
        "cannot write: rules out a rewrite of the export's event and every row after it."))
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Check an export against the audit event that recorded it (SHA-256, rows), its
    manifest against that event, and the hash chain that holds the event."""
    from garrison import audit, audit_service
    from garrison.evidence_messages import caveat, explain, summary

    anchors = [audit.read_anchor(anchor)] if anchor else []
    result = audit_service.verify_export(action_ctx(ctx), path=file, anchors=anchors)
    if as_json:
        print_json(result.as_json())
        if not result.ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not result.ok:
        message, hint = explain(result)
        raise IntegrityError(message, hint=hint)
    from rich.markup import escape

    console().print(_("[green]OK[/green] {summary}").format(summary=escape(summary(result))))
    if note := caveat(result):
        err_console().print(escape(note))


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

    from garrison import audit_service

    events = audit_service.recent(action_ctx(ctx), limit=limit, action_prefix=action)
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
