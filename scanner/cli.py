"""``garrison scan`` and ``garrison assets``: parse, call one service, render."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from garrison.cli.context import console, err_console, open_db, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from garrison.settings import Settings
    from scanner.scan import ScanPlan, ScanReport

scan_app = typer.Typer(help=_("Scope-guarded scans, nmap XML import, the run history."),
                       no_args_is_help=True)
assets_app = typer.Typer(help=_("The inventory: assets and services found by scans."),
                         no_args_is_help=True)

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
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_(
        "Print the exact commands and targets; send nothing."))] = False,
    as_json: JsonOpt = False,
) -> None:
    """Scan a unit's authorised addresses and update the inventory, changes and findings."""
    from scanner.scan import ScanRequest, plan_scan

    settings = open_db(ctx)
    request = ScanRequest(unit=unit, targets=target or None, profile=profile, rate=rate,
                          resolve=resolve, batch_size=batch_size, parallel=parallel)
    plan = plan_scan(settings, request)
    if dry_run:
        _render_dry_run(plan, as_json)
        return
    if not as_json:
        err_console().print(_("[bold]{technique}[/bold] scan of {n} addresses in {b} batch(es), "
                              "{k} at a time, profile {p}{why}").format(
            technique=plan.technique, n=plan.size, b=len(plan.batches), p=plan.profile.name,
            k=plan.parallel,
            why=_(" (running as root)") if plan.privileged else
            _(" (not root: SYN scans need raw sockets, so nmap connects)")))
    report = _run_with_progress(settings, plan, quiet=as_json)
    if as_json:
        print_json(_report_json(report))
    else:
        _render_report(report)


def _run_with_progress(settings: Settings, plan: ScanPlan, *, quiet: bool) -> ScanReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from scanner.scan import run_scan as _run

    if quiet:
        return _run(settings, plan)
    err = err_console()
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  disable=not err.is_terminal) as bar:
        task = bar.add_task(_("hosts"), total=plan.size)
        try:
            return _run(settings, plan, progress=lambda done, _total: bar.update(task,
                                                                                  completed=done))
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (garrison.signals)
            bar.stop()
            err_console().print(_("interrupted: the run is marked interrupted; batches already "
                                  "done are stored (`garrison scan list`)."))
            raise typer.Exit(getattr(exc, "exit_code", 130)) from None


def _render_dry_run(plan: ScanPlan, as_json: bool) -> None:
    import shlex
    import shutil

    from scanner.backends import nmap_command
    from scanner.settings import ScannerSettings

    nmap = ScannerSettings().nmap
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
    changes = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("change.")}
    findings = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("finding.")}
    out = console()
    out.print(_("Changes: {c}").format(
        c=", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or _("none")))
    out.print(_("Findings: {f}").format(
        f=", ".join(f"{k} {v}" for k, v in sorted(findings.items())) or _("none")))


@scan_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.xml", show_default=False,
                                         help=_("nmap XML (-oX) output."))],
    unit: UnitOpt,
    as_json: JsonOpt = False,
) -> None:
    """Ingest nmap XML produced elsewhere; hosts outside the unit's scopes are skipped."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeElapsedColumn

    from scanner.importer import import_xml

    settings = open_db(ctx)
    if as_json:
        report = import_xml(settings, path=file, unit_code=unit)
    else:
        err = err_console()
        with Progress("[progress.description]{task.description}", BarColumn(),
                      DownloadColumn(), TimeElapsedColumn(), console=err,
                      disable=not err.is_terminal) as bar:
            task = bar.add_task(_("reading"), total=file.stat().st_size if file.is_file()
                                else None)
            report = import_xml(settings, path=file, unit_code=unit,
                                progress=lambda done, _t, _h: bar.update(task, completed=done))
    if as_json:
        print_json(report.__dict__)
        return
    out = console()
    out.print(_("Run {id}: read {r} hosts from {file}; stored {s} ({up} up, {svc} open "
                "services); skipped {k} outside {unit}'s scopes.").format(
        id=report.run_id, r=report.hosts_read, file=report.file, s=report.hosts_stored,
        up=report.hosts_up, svc=report.services, k=report.hosts_skipped, unit=report.unit))
    if not report.complete:
        out.print(_("[yellow]The file ends before nmap finished (an interrupted scan): its "
                    "complete hosts were imported.[/yellow]"))
    _render_counts(report.counts)


@scan_app.command("list")
def list_(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=_(
        "Only this unit and the units under it."))] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 30,
    as_json: JsonOpt = False,
) -> None:
    """The newest scan and import runs."""
    from rich.table import Table

    from garrison.db import read_session
    from scanner.queries import list_runs
    from scanner.runs import recover_stale_runs

    settings = open_db(ctx)
    recover_stale_runs(settings)
    with read_session(settings) as session:
        runs = list_runs(session, unit_code=unit, limit=limit)
    if as_json:
        print_json([_run_json(r, code) for r, code in runs])
        return
    table = Table(_("run"), _("unit"), _("kind"), _("profile"), _("status"), _("started (UTC)"),
                  _("hosts up"), _("services"), _("changes"), _("findings new/fixed"))
    for r, code in runs:
        counts = r.counts
        changes = sum(v for k, v in counts.items() if k.startswith("change."))
        table.add_row(str(r.id), code, r.kind.value, r.profile, r.status.value,
                      r.started_at.strftime("%Y-%m-%d %H:%M"), f"{r.hosts_up}/{r.hosts_done}",
                      str(r.services_seen), str(changes),
                      f"{counts.get('finding.new', 0)}/{counts.get('finding.fixed', 0)}")
    console().print(table)


def _run_json(r: object, code: str) -> dict[str, object]:
    from garrison.models import ScanRun

    assert isinstance(r, ScanRun)
    return {"id": r.id, "unit": code, "kind": r.kind.value, "profile": r.profile,
            "technique": r.technique, "status": r.status.value,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "targets": r.targets, "command": r.command, "actor": r.actor,
            "hosts_total": r.hosts_total, "hosts_done": r.hosts_done, "hosts_up": r.hosts_up,
            "hosts_skipped": r.hosts_skipped, "services": r.services_seen,
            "batches": [r.batches_done, r.batches_total], "counts": r.counts,
            "nmap_version": r.nmap_version, "source_file": r.source_file,
            "source_sha256": r.source_sha256, "error": r.error}


def _change_json(c: object) -> dict[str, object]:
    from garrison.models import Change

    assert isinstance(c, Change)
    return {"run": c.run_id, "kind": c.kind.value, "address": c.address,
            "protocol": c.protocol, "port": c.port, "before": c.before, "after": c.after,
            "at": c.at.isoformat()}


def _render_changes(changes: list[object]) -> None:
    from rich.table import Table

    table = Table(_("run"), _("change"), _("address"), _("port"), _("before"), _("after"))
    for raw in changes:
        c = _change_json(raw)
        port = f"{c['protocol']}/{c['port']}" if c["port"] is not None else ""
        table.add_row(str(c["run"]), str(c["kind"]), str(c["address"]), port,
                      _short(c["before"]), _short(c["after"]))
    console().print(table)


def _short(value: object) -> str:
    if not value:
        return ""
    assert isinstance(value, dict)
    return "; ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], ""))


@scan_app.command("show")
def show(ctx: typer.Context, run_id: Annotated[int, typer.Argument(metavar="RUN")],
         as_json: JsonOpt = False) -> None:
    """One run: what it scanned, how, and what changed."""
    from garrison.db import read_session
    from scanner.queries import get_run, run_changes

    settings = open_db(ctx)
    with read_session(settings) as session:
        r, code = get_run(session, run_id)
        changes = run_changes(session, run_id)
    if as_json:
        print_json({**_run_json(r, code), "changes": [_change_json(c) for c in changes]})
        return
    out = console()
    info = _run_json(r, code)
    for key in ("id", "unit", "kind", "profile", "technique", "status", "started_at",
                "finished_at", "actor", "command", "nmap_version", "source_file",
                "source_sha256", "hosts_total", "hosts_done", "hosts_up", "hosts_skipped",
                "services", "batches", "error"):
        if info.get(key) not in (None, ""):
            out.print(f"[bold]{key}[/bold]: {info[key]}", markup=True, highlight=False)
    _render_counts(r.counts)
    if changes:
        _render_changes(list(changes))


@scan_app.command("diff")
def diff(ctx: typer.Context, run_a: Annotated[int, typer.Argument(metavar="RUN_A")],
         run_b: Annotated[int, typer.Argument(metavar="RUN_B")], as_json: JsonOpt = False
         ) -> None:
    """What changed in the inventory after RUN_A up to RUN_B (same unit)."""
    from garrison.db import read_session
    from scanner.queries import diff_runs

    settings = open_db(ctx)
    with read_session(settings) as session:
        changes = diff_runs(session, run_a, run_b)
    if as_json:
        print_json([_change_json(c) for c in changes])
        return
    if not changes:
        console().print(_("No changes between run {a} and run {b}.").format(a=run_a, b=run_b))
        return
    _render_changes(list(changes))


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
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Assets with their unit, state, open services and open findings."""
    from rich.table import Table

    from garrison.db import read_session
    from scanner.queries import list_assets

    settings = open_db(ctx)
    with read_session(settings) as session:
        rows = list_assets(session, unit_code=unit, state=state, limit=limit)
    if as_json:
        print_json([{"unit": r.unit, "address": r.asset.address, "hostname": r.asset.hostname,
                     "mac": r.asset.mac, "os": r.asset.os_guess, "state": r.asset.state.value,
                     "first_seen": r.asset.first_seen.isoformat(),
                     "last_seen": r.asset.last_seen.isoformat(),
                     "open_services": r.open_services, "open_findings": r.open_findings}
                    for r in rows])
        return
    table = Table(_("unit"), _("address"), _("hostname"), _("state"), _("open services"),
                  _("open findings"), _("last seen (UTC)"))
    for r in rows:
        table.add_row(r.unit, r.asset.address, r.asset.hostname or "", r.asset.state.value,
                      str(r.open_services), str(r.open_findings),
                      r.asset.last_seen.strftime("%Y-%m-%d %H:%M"))
    console().print(table)
    console().print(_("{n} assets").format(n=len(rows)))


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

    settings = open_db(ctx)
    with read_session(settings) as session:
        details = asset_details(session, address, unit_code=unit)
    if as_json:
        print_json([_detail_json(d) for d in details])
        return
    for d in details:
        _render_detail(d)


def _detail_json(d: object) -> dict[str, object]:
    from scanner.queries import AssetDetail

    assert isinstance(d, AssetDetail)
    a = d.asset
    return {
        "unit": d.unit, "address": a.address, "hostname": a.hostname, "mac": a.mac,
        "vendor": a.vendor, "os": a.os_guess, "state": a.state.value,
        "first_seen": a.first_seen.isoformat(), "last_seen": a.last_seen.isoformat(),
        "services": [{"protocol": s.protocol, "port": s.port, "state": s.state,
                      "name": s.name, "product": s.product, "version": s.version,
                      "tunnel": s.tunnel, "cpe": s.cpe, "scripts": s.scripts,
                      "last_seen": s.last_seen.isoformat()} for s in d.services],
        "changes": [_change_json(c) for c in d.changes],
        "findings": [{"id": f.id, "rule": f.rule_id, "title": f.title,
                      "severity": f.severity.value, "status": f.status.value,
                      "port": f"{f.protocol}/{f.port}" if f.port else None, "owner": f.owner,
                      "due_at": f.due_at.isoformat() if f.due_at else None}
                     for f in d.findings],
    }


def _render_detail(d: object) -> None:
    from rich.table import Table

    info = _detail_json(d)
    out = console()
    out.print(_("[bold]{address}[/bold] ({unit}) {state}; hostname {h}; MAC {mac}; OS {os}")
              .format(address=info["address"], unit=info["unit"], state=info["state"],
                      h=info["hostname"] or "-", mac=info["mac"] or "-", os=info["os"] or "-"))
    services = Table(_("port"), _("state"), _("service"), _("product"), _("version"), _("cpe"))
    for s in info["services"]:  # type: ignore[attr-defined]
        services.add_row(f"{s['protocol']}/{s['port']}", s["state"], s["name"] or "",
                         s["product"] or "", s["version"] or "", " ".join(s["cpe"]))
    out.print(services)
    findings = Table(_("finding"), _("severity"), _("status"), _("port"), _("title"),
                     _("owner"), _("due"))
    for f in info["findings"]:  # type: ignore[attr-defined]
        findings.add_row(str(f["id"]), f["severity"], f["status"], f["port"] or "", f["title"],
                         f["owner"], (f["due_at"] or "")[:10])
    out.print(findings)
