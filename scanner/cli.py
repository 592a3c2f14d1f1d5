"""``garrison scan`` and ``garrison assets``: parse, call one service, render."""

from __future__ import annotations

import enum
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from garrison.cli.context import console, err_console, open_db, print_json
from garrison.i18n import _, ngettext

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from garrison.settings import Settings
    from scanner.importer import ImportReport
    from scanner.scan import ScanPlan, ScanReport
    from scanner.settings import ScannerSettings

scan_app = typer.Typer(help=_("Scope-guarded scans, nmap XML import, the run history."),
                       no_args_is_help=True)
assets_app = typer.Typer(help=_("The inventory: assets and services found by scans."),
                         no_args_is_help=True)
T = TypeVar("T")

class Technique(enum.StrEnum):
    syn = "syn"
    connect = "connect"


JsonOpt = Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))]
UnitOpt = Annotated[str, typer.Option("--unit", "-u", show_default=False,
                                      help=_("The unit whose authorised scopes apply."))]


@scan_app.command("run")
def run(
    ctx: typer.Context,
    unit: UnitOpt,
    target: Annotated[list[str] | None, typer.Option(
        "--target", "-t", metavar="TARGET",
        help=_("Address, CIDR, range or hostname; repeat for more. Default: the unit's "
               "active scopes."))] = None,
    profile: Annotated[str, typer.Option("--profile", "-p", help=_(
        "discovery, quick, standard, full or udp-common (`garrison scan profiles`)."))
    ] = "quick",
    rate: Annotated[int | None, typer.Option("--rate", min=1, max=100_000, help=_(
        "Packets per second at most (a scope's own cap also applies)."))] = None,
    resolve: Annotated[bool, typer.Option("--resolve", help=_(
        "Reverse-resolve hosts (off by default: slow without a reachable resolver)."))
    ] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, max=65_536, help=_(
        "Addresses per nmap run; each batch is stored when it finishes."))] = None,
    parallel: Annotated[int | None, typer.Option("--parallel", min=1, max=8, help=_(
        "nmap runs at a time (default 2); a rate cap is shared between them."))] = None,
    technique: Annotated[Technique | None, typer.Option(
        "--technique", help=_("Force SYN (raw packets: needs CAP_NET_RAW) or connect scans. "
                              "Default: SYN when the process holds CAP_NET_RAW, connect "
                              "otherwise."))] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_(
        "Print the exact commands and targets; send nothing."))] = False,
    as_json: JsonOpt = False,
) -> None:
    """Scan a unit's authorised addresses and update the inventory, changes and findings."""
    from scanner.scan import ScanRequest, plan_scan
    from scanner.settings import ScannerSettings

    ss = ScannerSettings()  # a bad GARRISON_* stops here: nothing written, nothing sent
    settings = open_db(ctx)
    request = ScanRequest(unit=unit, targets=target or None, profile=profile, rate=rate,
                          resolve=resolve, batch_size=batch_size, parallel=parallel,
                          technique=technique.value if technique else None)
    plan = plan_scan(settings, request, ss)
    if dry_run:
        _render_dry_run(plan, ss.nmap, as_json)
        return
    if not as_json:
        err_console().print(_("[bold]{technique}[/bold] scan of {n} addresses in {b} batch(es), "
                              "{k} at a time, profile {p}{why}").format(
            technique=plan.technique, n=plan.size, b=len(plan.batches), p=plan.profile.name,
            k=plan.parallel,
            why=_(" (raw packets: this process holds CAP_NET_RAW)") if plan.privileged else
            _(" (no raw packets: without CAP_NET_RAW, nmap connects)")))
    report = _run_with_progress(settings, plan, ss, quiet=as_json)
    if as_json:
        print_json(_report_json(report))
    else:
        _render_report(report)


def _run_with_progress(settings: Settings, plan: ScanPlan, ss: ScannerSettings, *,
                       quiet: bool) -> ScanReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from scanner.scan import run_scan as _run

    if quiet:
        return _run(settings, plan, scanner_settings=ss)
    err = err_console()
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=not err.is_terminal) as bar:
        task = bar.add_task(_("hosts"), total=plan.size)
        try:
            return _run(settings, plan, scanner_settings=ss,
                        progress=lambda done, _total: bar.update(task, completed=done))
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (garrison.signals)
            bar.stop()
            err_console().print(_("interrupted: the run is marked interrupted; batches already "
                                  "done are stored (`garrison scan list`)."))
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None


def _render_dry_run(plan: ScanPlan, nmap: str, as_json: bool) -> None:
    import shlex
    import shutil

    from scanner.backends import nmap_command

    path = shutil.which(nmap) or nmap
    commands = [
        ["scapy-discovery", *batch.targets] if plan.profile.discovery and plan.privileged
        else nmap_command(path, batch.targets, plan.arguments[batch.ipv6])
        for batch in plan.batches]
    if as_json:
        print_json({"unit": plan.request.unit, "profile": plan.profile.name,
                    "technique": plan.technique, "rate": plan.rate, "parallel": plan.parallel,
                    "addresses": plan.size,
                    "targets": plan.approval.cidrs(), "commands": commands})
        return
    out = console()
    out.print(_("Dry run: nothing was sent. {n} addresses of {unit}, profile {p}, {t} "
                "scan, {k} nmap run(s) at a time{rate}.").format(
        n=plan.size, unit=plan.request.unit, p=plan.profile.name, t=plan.technique,
        k=plan.parallel,
        rate=_(", at most {r} packets/s in all").format(r=plan.rate) if plan.rate else ""))
    out.print(_("Targets: {t}").format(t=", ".join(plan.approval.cidrs())))
    for command in commands:
        out.print(shlex.join(command), markup=False, soft_wrap=True)


def _report_json(report: ScanReport) -> dict[str, object]:
    return {"run": report.run_id, "unit": report.unit, "profile": report.profile,
            "technique": report.technique, "status": report.status.value,
            "addresses": report.hosts_total, "hosts_up": report.hosts_up,
            "services": report.services, "batches": report.batches_done,
            "counts": report.counts}


def _render_report(report: ScanReport) -> None:
    out = console()
    out.print(_("Run {id}: {up} hosts up of {n} addresses, {s} open services; {b} batches "
                "stored.").format(id=report.run_id, up=report.hosts_up, n=report.hosts_total,
                                  s=report.services, b=report.batches_done))
    _render_counts(report.counts)
    out.print(_("Details: garrison scan show {id}").format(id=report.run_id))


def _render_counts(counts: dict[str, int]) -> None:
    from scanner.render import render_counts

    render_counts(console(), counts)


@scan_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.xml", show_default=False,
                                         help=_("nmap XML (-oX) output."))],
    unit: UnitOpt,
    as_json: JsonOpt = False,
) -> None:
    """Ingest nmap XML produced elsewhere, as of the time it was scanned; hosts outside the
    unit's scopes are counted and skipped. The whole file is checked before anything is
    stored."""
    from scanner.importer import import_xml
    from scanner.settings import ScannerSettings

    ss = ScannerSettings()  # a bad GARRISON_* stops here, before anything is written
    settings = open_db(ctx)
    if as_json:
        report = import_xml(settings, path=file, unit_code=unit, scanner_settings=ss)
        print_json(report.__dict__)
        return
    with _import_progress() as progress:
        report = import_xml(settings, path=file, unit_code=unit, scanner_settings=ss,
                            progress=progress)
    _render_import(report)


@contextmanager
def _import_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A bar for reading the file (bytes), then one for storing it (hosts)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    err = err_console()
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=not err.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                label = _("reading (bytes)") if phase == "read" else _("storing (hosts)")
                tasks[phase] = bar.add_task(label, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _render_import(report: ImportReport) -> None:
    out = console()
    out.print(_("Run {id}: read {r} hosts from {file} (scanned {at}); stored {s} ({up} up, "
                "{svc} open services); skipped {k} outside {unit}'s scopes.").format(
        id=report.run_id, r=report.hosts_read, file=report.file, at=report.observed_at,
        s=report.hosts_stored, up=report.hosts_up, svc=report.services,
        k=report.hosts_skipped, unit=report.unit))
    if not report.complete:
        out.print(_("[yellow]The file ends before nmap finished (an interrupted scan): its "
                    "complete hosts were imported.[/yellow]"))
    if report.older_total:
        out.print("[yellow]" + ngettext(
            "{n} host had been looked at by a later run: what this file saw of it is stored "
            "as history; its current state did not move.",
            "{n} hosts had been looked at by a later run: what this file saw of them is "
            "stored as history; their current state did not move.",
            report.older_total).format(n=report.older_total) + "[/yellow]")
        for o in report.older:
            later = (_("run {r} looked at {t}").format(r=o["newer_run"], t=o["newer_observed"])
                     if o["newer_run"] else _("a later run looked at {t}").format(
                         t=o["newer_observed"]))
            out.print(_("  {a}: seen {t}; {later}").format(a=o["address"], t=o["observed"],
                                                         later=later), markup=False)
    _render_counts(report.counts)
    if report.signal_ignored:
        err_console().print(_("(An interrupt arrived while the import was being committed: "
                              "it completed.)"))


PageLimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help=_(
    "Rows per page; the summary line names the next page's --after."))]
ChangeAfterOpt = Annotated[int | None, typer.Option("--after", metavar="ID", help=_(
    "Start after this change id (the next page)."))]


def _quick(ctx: typer.Context, read: Callable[[str], T | None]) -> T | None:
    """``read`` the database without loading the ORM (``scanner.quick``), when that road
    is open: ``None`` sends the command down the full path, which explains problems."""
    import os

    from garrison.cli.context import state
    from garrison.dburl import resolve_db_url

    if os.environ.get("GARRISON_NO_QUICK"):
        return None
    try:
        url = resolve_db_url(state(ctx).db)
    except ValueError:
        return None  # the full path reports the bad URL
    return read(url)


@scan_app.command("list")
def list_(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=_(
        "Only this unit and the units under it."))] = None,
    limit: PageLimitOpt = 50,
    after: Annotated[int | None, typer.Option("--after", metavar="RUN", help=_(
        "Start after this run (the next page)."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """Scan and import runs, the latest observation first, a page at a time."""
    from scanner.quick import quick_runs

    page = _quick(ctx, lambda url: quick_runs(url, unit=unit, limit=limit, after=after))
    if page is None:
        from garrison.db import read_session
        from scanner.run_queries import list_runs
        from scanner.runs import recover_stale_runs

        settings = open_db(ctx)
        recover_stale_runs(settings)
        with read_session(settings) as session:
            page = list_runs(session, unit_code=unit, limit=limit, after=after)
    from scanner.render import render_runs, run_json, runs_summary

    if as_json:
        print_json([run_json(r) for r in page.rows])
        return
    out = console()
    out.print(runs_summary(unit, page, after), markup=False, soft_wrap=True)
    if page.rows:
        render_runs(out, page.rows)


@scan_app.command("show")
def show(ctx: typer.Context, run_id: Annotated[int, typer.Argument(metavar="RUN")],
         limit: PageLimitOpt = 50, after: ChangeAfterOpt = None,
         as_json: JsonOpt = False) -> None:
    """One run: what it scanned, how, its counts, then a page of what changed."""
    from scanner.quick import quick_run

    shown = _quick(ctx, lambda url: quick_run(url, run_id, limit=limit, after=after))
    if shown is None:
        from garrison.db import read_session
        from scanner.run_queries import run_changes

        settings = open_db(ctx)
        with read_session(settings) as session:
            shown = run_changes(session, run_id, limit=limit, after=after)
    from scanner.render import change_json, render_run, run_json

    if as_json:
        print_json({**run_json(shown.run), "changes_total": shown.page.total,
                    "changes": [change_json(c) for c in shown.page.rows]})
        return
    render_run(console(), shown, after)


@scan_app.command("diff")
def diff(ctx: typer.Context, run_a: Annotated[int, typer.Argument(metavar="RUN_A")],
         run_b: Annotated[int, typer.Argument(metavar="RUN_B")], limit: PageLimitOpt = 50,
         after: ChangeAfterOpt = None, as_json: JsonOpt = False) -> None:
    """What changed in the inventory in the runs observed after RUN_A up to RUN_B (same
    unit), by address."""
    from scanner.quick import quick_diff

    d = _quick(ctx, lambda url: quick_diff(url, run_a, run_b, limit=limit, after=after))
    if d is None:
        from garrison.db import read_session
        from scanner.run_queries import diff_runs

        settings = open_db(ctx)
        with read_session(settings) as session:
            d = diff_runs(session, run_a, run_b, limit=limit, after=after)
    from scanner.render import change_json, diff_summary, render_changes

    if as_json:
        print_json([change_json(c) for c in d.page.rows])
        return
    out = console()
    if d.page.total == 0:
        out.print(_("No changes between run {a} and run {b}.").format(a=run_a, b=run_b))
        return
    out.print(diff_summary(d, after), markup=False, soft_wrap=True)
    if d.page.rows:
        render_changes(out, d.page.rows)


@scan_app.command("profiles")
def profiles(as_json: JsonOpt = False) -> None:
    """The named scan profiles and what each scans."""
    from scanner.profiles import PROFILES, nmap_arguments

    rows = [{"name": p.name, "description": p.description,
             "root": " ".join(nmap_arguments(p, privileged=True, resolve=False, rate=None,
                                             ipv6=False)),
             "unprivileged": ("" if p.needs_root else " ".join(nmap_arguments(
                 p, privileged=False, resolve=False, rate=None, ipv6=False)))}
            for p in PROFILES.values()]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(_("profile"), _("what"), _("nmap arguments (root)"),
                  _("nmap arguments (not root)"))
    for row in rows:
        table.add_row(row["name"], row["description"], row["root"], row["unprivileged"])
    console().print(table)


@scan_app.command("rules")
def rules(as_json: JsonOpt = False) -> None:
    """The risk rules in force (shipped, plus GARRISON_RULES_DIR)."""
    from scanner.rules import load_rules
    from scanner.settings import ScannerSettings

    _ruleset, loaded = load_rules(ScannerSettings().rules_dir)
    if as_json:
        print_json([{"id": e.rule.id, "title": e.rule.title, "severity": e.rule.severity.value,
                     "source": e.source, "overrides": e.overrides} for e in loaded])
        return
    from rich.table import Table

    table = Table(_("rule"), _("severity"), _("title"), _("source"))
    for e in sorted(loaded, key=lambda e: e.rule.id):
        source = e.source.rsplit("/", 1)[-1] + (_(" (overrides shipped)") if e.overrides else "")
        table.add_row(e.rule.id, e.rule.severity.value, e.rule.title, source)
    console().print(table)


@assets_app.command("list")
def assets_list(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=_(
        "This unit and the units under it."))] = None,
    state: Annotated[str | None, typer.Option("--state", help=_("up, down or gone."))] = None,
    text: Annotated[str | None, typer.Option("--text", help=_(
        "Words in the address, the hostname, or an open service's name or product."))
    ] = None,
    service: Annotated[str | None, typer.Option("--service", help=_(
        "An open service: a name prefix (ssh), a port (443) or PROTOCOL/PORT (tcp/22)."))
    ] = None,
    limit: PageLimitOpt = 50,
    after: Annotated[str | None, typer.Option("--after", metavar="UNIT/ADDRESS", help=_(
        "Start after this asset (the next page)."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """Assets by unit and address (numeric order), with their state, services and open
    findings, a page at a time."""
    from scanner.listing import ASSET_STATES, AssetQuery
    from scanner.quick import quick_assets

    if state is not None:
        from garrison.cli.context import choice_values

        choice_values(_("state"), [state], list(ASSET_STATES))
    q = AssetQuery(unit=unit, text=text, service=service, state=state)
    page = _quick(ctx, lambda url: quick_assets(url, q, limit=limit, after=after))
    if page is None:
        from garrison.db import read_session
        from scanner.queries import search_assets

        settings = open_db(ctx)
        with read_session(settings) as session:
            page = search_assets(session, q, limit=limit, after=after)
    from scanner.render import asset_line_json, assets_summary, render_assets

    if as_json:
        print_json([asset_line_json(r) for r in page.rows])
        return
    out = console()
    out.print(assets_summary(q, page, after), markup=False, soft_wrap=True)
    if page.rows:
        render_assets(out, page.rows)


@assets_app.command("show")
def assets_show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(metavar="ADDRESS")],
    unit: Annotated[str | None, typer.Option("--unit", "-u")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One asset: its services, recent changes and findings."""
    from garrison.db import read_session
    from scanner.queries import asset_details
    from scanner.render import detail_json, render_detail

    settings = open_db(ctx)
    with read_session(settings) as session:
        details = asset_details(session, address, unit_code=unit)
    if as_json:
        print_json([detail_json(d) for d in details])
        return
    out = console()
    for d in details:
        render_detail(out, d)
