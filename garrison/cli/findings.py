"""``garrison findings``: list, show, add, assign, set-status, note, summary, export."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from garrison.cli.context import action_ctx, choice_values, console, print_json
from garrison.i18n import _
from garrison.words import SEVERITY_STYLE

if TYPE_CHECKING:
    from garrison.errors import GarrisonError
    from garrison.findings.lifecycle import TransitionRefused
    from garrison.findings.listing import FindingFilter, FindingRow
    from garrison.findings.quick import QuickPage

app = typer.Typer(help=_("Findings: owners, deadlines, status history, exports."),
                  no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))]
UnitOpt = Annotated[str | None, typer.Option("--unit", "-u", help=_(
    "This unit and the units under it."))]
SeverityOpt = Annotated[list[str] | None, typer.Option("--severity", "-s", help=_(
    "critical, high, medium, low or info; repeat or separate with commas."))]
StatusOpt = Annotated[list[str] | None, typer.Option("--status", help=_(
    "open, in_progress, fixed, verified, accepted_risk, false_positive; repeat or use "
    "commas."))]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help=_("Owned by this person."))]
OverdueOpt = Annotated[bool, typer.Option("--overdue", help=_(
    "Open or in progress, and past the due date."))]
SinceOpt = Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD", help=_(
    "First seen on or after this day."))]
SourceOpt = Annotated[str | None, typer.Option("--source", help=_(
    "scan, import, manual or drill."))]
RuleOpt = Annotated[str | None, typer.Option("--rule", help=_("A rule id."))]
TextOpt = Annotated[str | None, typer.Option("--text", help=_("Words in the title."))]



def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    from garrison.errors import GarrisonError

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise GarrisonError(_("{o}: {v!r} is not a date; write YYYY-MM-DD").format(
            o=option, v=value)) from exc


def build_filter(unit: str | None, severity: list[str] | None, status: list[str] | None,
                 owner: str | None, overdue: bool, since: str | None, source: str | None,
                 rule: str | None, text: str | None, *, default_active: bool = False
                 ) -> FindingFilter:
    from garrison.findings.listing import FindingFilter
    from garrison.vocab import FindingSource, FindingStatus, Severity

    severities = choice_values(_("severity"), _split(severity), [s.value for s in Severity])
    statuses = choice_values(_("status"), _split(status), [s.value for s in FindingStatus])
    if not statuses and default_active and not overdue:
        statuses = [FindingStatus.open.value, FindingStatus.in_progress.value]
    if source is not None:
        choice_values(_("source"), [source], [s.value for s in FindingSource])
    return FindingFilter(
        unit=unit, severities=tuple(Severity(s) for s in severities),
        statuses=tuple(FindingStatus(s) for s in statuses), owner=owner, overdue=overdue,
        since=_date(since, "--since"), source=FindingSource(source) if source else None,
        rule=rule, text=text)


def _say_reopened(reopened: tuple[int, ...]) -> None:
    if reopened:
        from garrison.cli.context import err_console

        err_console().print(_("Reopened {n} finding(s) whose risk acceptance expired: {ids}")
                            .format(n=len(reopened), ids=", ".join(map(str, reopened))))


#: How the CLI names the fields a status change may need.
FLAGS = {"reason": "--reason", "until": "--until", "approver": "--approver"}


def _refused(exc: TransitionRefused) -> GarrisonError:
    """The lifecycle's refusal, phrased with this command's flags."""
    from garrison.errors import GarrisonError

    if exc.missing:
        return GarrisonError(
            exc.message + _(" (give {flags})").format(
                flags=", ".join(FLAGS[m] for m in exc.missing)),
            hint=_("e.g. --reason \"vendor patch due in Q3\" --approver 王强 "
                   "--until 2027-06-30") if "until" in exc.missing else exc.hint)
    if exc.extra:
        return GarrisonError(
            exc.message + _(" (drop {flags})").format(
                flags=", ".join(FLAGS[m] for m in exc.extra)), hint=exc.hint)
    return exc


@app.command("list")
def list_(
    ctx: typer.Context, unit: UnitOpt = None, severity: SeverityOpt = None,
    status: StatusOpt = None, owner: OwnerOpt = None, overdue: OverdueOpt = False,
    since: SinceOpt = None, source: SourceOpt = None, rule: RuleOpt = None,
    text: TextOpt = None,
    all_: Annotated[bool, typer.Option("--all", help=_(
        "Every status (default: open and in progress)."))] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help=_(
        "Findings per page; `findings export` writes every match."))] = 50,
    after: Annotated[int | None, typer.Option("--after", metavar="ID", help=_(
        "Start after this finding id (the next page)."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """Findings matching the filters (open and in progress unless --status/--all)."""
    f = build_filter(unit, severity, status, owner, overdue, since, source, rule, text,
                     default_active=not all_)
    page = _quick_page(ctx, f, limit, after)
    if page is not None:
        rows, total = page.rows, page.total
    else:
        from garrison.findings import service

        full = service.list_page(action_ctx(ctx), f, limit=limit, after_id=after)
        _say_reopened(full.reopened)
        rows, total = full.rows, full.total
    if as_json:
        print_json([r.as_json() for r in rows])
        return
    _render_list(rows, total, limit)


def _quick_page(ctx: typer.Context, f: FindingFilter, limit: int, after: int | None
                ) -> QuickPage | None:
    """The list without loading the ORM, when that path can answer (see findings.quick)."""
    import os

    from garrison.cli.context import state
    from garrison.clock import clock_from_env
    from garrison.dburl import resolve_db_url
    from garrison.findings.quick import quick_list

    if os.environ.get("GARRISON_NO_QUICK"):
        return None
    try:
        url = resolve_db_url(state(ctx).db)
        clock = clock_from_env()
    except ValueError:
        return None  # the full path reports the bad URL or clock
    return quick_list(url, f, limit=limit, after_id=after, now=clock.now())


def _render_list(rows: list[FindingRow], total: int | None, limit: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not rows:
        console().print(_("No findings match."))
        return
    table = Table(_("id"), _("unit"), _("severity"), _("status"), _("title"), _("where"),
                  _("owner"), _("due"))
    for r in rows:
        where = r.address or "-"
        if r.port is not None:
            where += f":{r.port}/{r.protocol}"
        due = r.due_at.strftime("%Y-%m-%d") if r.due_at else ""
        if r.overdue:
            due = f"[bold red]{due} {_('overdue')}[/]"
        table.add_row(str(r.id), r.unit, f"[{SEVERITY_STYLE[r.severity.value]}]"
                      f"{r.severity.value}[/]", r.status.value, escape(r.title), where,
                      escape(r.owner), due)
    out = console()
    out.print(table)
    if total is not None and total > limit:
        last = rows[-1]
        out.print(_("{n} of {t} shown; next page: --after {id} (or --limit N; "
                    "`findings export` writes them all)").format(
            n=len(rows), t=total, id=last.id))


@app.command()
def show(ctx: typer.Context, finding_id: Annotated[int, typer.Argument(metavar="ID")],
         as_json: JsonOpt = False) -> None:
    """One finding: where, how bad, whose, by when, its evidence and its history."""
    from garrison.cli.findings_render import detail_json, render_detail
    from garrison.findings import service

    detail, reopened = service.detail(action_ctx(ctx), finding_id)
    _say_reopened(reopened)
    if as_json:
        print_json(detail_json(detail))
    else:
        render_detail(console(), detail)


@app.command()
def add(
    ctx: typer.Context,
    unit: Annotated[str, typer.Option("--unit", "-u", show_default=False, help=_(
        "The unit the finding belongs to."))],
    title: Annotated[str, typer.Option("--title", show_default=False)],
    severity: Annotated[str, typer.Option("--severity", "-s", show_default=False, help=_(
        "critical, high, medium, low or info."))],
    asset: Annotated[str | None, typer.Option("--asset", metavar="ADDRESS", help=_(
        "An address in the unit's inventory (omit for a finding on the unit)."))] = None,
    port: Annotated[str | None, typer.Option("--port", metavar="PROTO/PORT", help=_(
        "e.g. tcp/443"))] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    remediation: Annotated[str | None, typer.Option("--remediation")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help=_(
        "Default: the unit's responsible officer."))] = None,
    cvss: Annotated[str | None, typer.Option("--cvss", metavar="VECTOR")] = None,
    cwe: Annotated[str | None, typer.Option("--cwe", metavar="CWE-N")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a finding by hand (from an audit, a report, a drill)."""
    from garrison.findings import service
    from garrison.vocab import Severity

    (sev,) = choice_values(_("severity"), [severity], [s.value for s in Severity])
    protocol, number = _port(port)
    added = service.add(action_ctx(ctx), unit_code=unit, title=title, severity=Severity(sev),
                        address=asset, protocol=protocol, port=number,
                        description=description, remediation=remediation, owner=owner,
                        cvss=cvss, cwe=cwe)
    fid, due, who = added.id, added.due_at, added.owner
    if as_json:
        print_json({"id": fid, "owner": who, "due_at": due.isoformat() if due else None})
    else:
        console().print(_("Finding {id} recorded; owner {o}; due {d}.").format(
            id=fid, o=who, d=due.strftime("%Y-%m-%d") if due else _("no deadline")))


def _port(value: str | None) -> tuple[str | None, int | None]:
    if value is None:
        return None, None
    from garrison.errors import GarrisonError

    protocol, _sep, number = value.partition("/")
    if protocol not in ("tcp", "udp") or not number.isdigit():
        raise GarrisonError(_("--port {v!r}: write PROTOCOL/PORT, e.g. tcp/443").format(v=value))
    return protocol, int(number)


@app.command()
def assign(ctx: typer.Context, finding_id: Annotated[int, typer.Argument(metavar="ID")],
           person: Annotated[str, typer.Argument(metavar="PERSON")],
           note: Annotated[str | None, typer.Option("--note")] = None) -> None:
    """Give a finding to another owner."""
    from garrison.findings import service

    _say_reopened(service.assign(action_ctx(ctx), finding_id=finding_id, owner=person,
                                 note=note).reopened)
    console().print(_("Finding {id} is now owned by {p}.").format(id=finding_id, p=person))


@app.command("set-status")
def set_status(
    ctx: typer.Context, finding_id: Annotated[int, typer.Argument(metavar="ID")],
    status: Annotated[str, typer.Argument(metavar="STATUS", help=_(
        "open, in_progress, fixed, verified, accepted_risk or false_positive."))],
    reason: Annotated[str | None, typer.Option("--reason", help=_(
        "Why (required for accepted_risk and false_positive)."))] = None,
    until: Annotated[str | None, typer.Option("--until", metavar="YYYY-MM-DD", help=_(
        "accepted_risk: the last day of the acceptance."))] = None,
    approver: Annotated[str | None, typer.Option("--approver", help=_(
        "accepted_risk: who approved it."))] = None,
) -> None:
    """Move a finding through its lifecycle (refused moves say which are allowed)."""
    from garrison.findings import service
    from garrison.findings.lifecycle import TransitionRefused
    from garrison.vocab import FindingStatus

    context = action_ctx(ctx)
    (value,) = choice_values(_("status"), [status], [s.value for s in FindingStatus])
    try:
        changed = service.set_status(context, finding_id=finding_id,
                                     status=FindingStatus(value), reason=reason,
                                     until=_date(until, "--until"), approver=approver)
    except TransitionRefused as exc:
        raise _refused(exc) from exc
    _say_reopened(changed.reopened)
    due = changed.due_at
    console().print(_("Finding {id} is now {s}{due}.").format(
        id=finding_id, s=value,
        due=_("; due {d}").format(d=due.strftime("%Y-%m-%d")) if due and value == "open"
        else ""))


@app.command()
def note(ctx: typer.Context, finding_id: Annotated[int, typer.Argument(metavar="ID")],
         text: Annotated[str, typer.Argument(metavar="TEXT")]) -> None:
    """Add a note to a finding's history."""
    from garrison.findings import service

    _say_reopened(service.add_note(action_ctx(ctx), finding_id=finding_id, text=text).reopened)
    console().print(_("Note added to finding {id}.").format(id=finding_id))


@app.command()
def summary(ctx: typer.Context, unit: UnitOpt = None, as_json: JsonOpt = False) -> None:
    """The league table: active findings by unit and severity, overdue, time to fix."""
    from garrison.cli.findings_render import render_summary
    from garrison.findings import service

    context = action_ctx(ctx)
    result, reopened = service.summary(context, unit)
    _say_reopened(reopened)
    policy = context.policies.sla
    if as_json:
        print_json({**result.as_json(), "sla": policy.as_json()})
    else:
        out = console()
        render_summary(out, result)
        out.print(_("Deadlines: {policy}").format(policy=policy.describe()))


@app.command()
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_(
        "csv, xlsx, json, ocsf or html."))],
    output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", show_default=False,
                                         help=_("Where to write (FILE.manifest.json goes "
                                                "beside it)."))],
    unit: UnitOpt = None, severity: SeverityOpt = None, status: StatusOpt = None,
    owner: OwnerOpt = None, overdue: OverdueOpt = False, since: SinceOpt = None,
    source: SourceOpt = None, rule: RuleOpt = None, text: TextOpt = None,
) -> None:
    """Export findings for auditors, with a manifest; the export is audited."""
    from garrison.findings import service

    context = action_ctx(ctx)
    f = build_filter(unit, severity, status, owner, overdue, since, source, rule, text)
    result, reopened = service.export(context, fmt=fmt, path=output, filters=f)
    _say_reopened(reopened)
    console().print(_("Wrote {n} findings to {p} ({fmt})\nmanifest {m}\nsha256 {s}").format(
        n=result.rows, p=result.path, fmt=result.format, m=result.manifest, s=result.sha256))
