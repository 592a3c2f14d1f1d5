"""The scanner's part of ``garrison demo``: real listeners, real scans, on loopback.

Starts lab services on loopback addresses inside two demo units' scopes, scans them
with the ``standard`` profile, then changes what listens (one port closes, another
opens, a server is upgraded) and scans again, so the inventory, the change log and
the finding transitions all have something to show.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rich.console import Console
from rich.table import Table

from garrison.db import read_session
from garrison.i18n import _
from garrison.settings import Settings
from scanner.lab import LabServices, ServiceSpec
from scanner.listing import AssetQuery
from scanner.queries import search_assets
from scanner.run_queries import diff_runs
from scanner.scan import ScanReport, ScanRequest, plan_scan, run_scan

HZ_A, HZ_B, GJJ = "127.0.1.10", "127.0.1.11", "127.0.17.5"
BEFORE = [
    ServiceSpec(HZ_A, 22, "ssh", "7.2p2 Ubuntu-4ubuntu2.10"),
    ServiceSpec(HZ_A, 6379, "redis", "6.0.5"),
    ServiceSpec(HZ_B, 8080, "http", "1.14.0", {"title": "后台管理系统 Admin login"}),
    ServiceSpec(HZ_B, 21, "ftp", "3.0.3", {"anonymous": "yes"}),
    ServiceSpec(GJJ, 3306, "mysql", "5.7.33"),
    ServiceSpec(GJJ, 9200, "elasticsearch", "7.10.2"),
]
AFTER = [  # hz-jw fixed redis and upgraded ssh, but someone turned telnet on
    ServiceSpec(HZ_A, 22, "ssh", "9.8p1"),
    ServiceSpec(HZ_A, 23, "telnet"),
    ServiceSpec(HZ_B, 8080, "http", "1.14.0", {"title": "后台管理系统 Admin login"}),
    ServiceSpec(HZ_B, 21, "ftp", "3.0.3", {"anonymous": "yes"}),
]
SCANS = [("hz-jw", [f"{HZ_A}-11"]), ("hz-gjj", [GJJ])]


def _scan(settings: Settings, unit: str, targets: list[str], out: Console) -> ScanReport:
    plan = plan_scan(settings, ScanRequest(unit=unit, targets=targets, profile="standard"))
    out.print(_("  scanning {unit} {targets} ({technique}, profile standard) ...").format(
        unit=unit, targets=", ".join(targets), technique=plan.technique))
    return run_scan(settings, plan)


def run_demo(settings: Settings, out: Console) -> None:
    out.print(_("\n[bold]Scanning[/bold]: lab services on loopback, inside the demo scopes"))
    with LabServices(BEFORE), ThreadPoolExecutor(max_workers=len(SCANS)) as pool:
        # one unit's scan does not wait for the other's: nmap runs are separate processes
        futures = {unit: pool.submit(_scan, settings, unit, targets, out)
                   for unit, targets in SCANS}
        first = {unit: future.result() for unit, future in futures.items()}
    out.print(_("[bold]Something changed[/bold]: redis closed, ssh upgraded, telnet opened "
                "on {a}; scanning hz-jw again").format(a=HZ_A))
    with LabServices(AFTER):
        second = _scan(settings, "hz-jw", SCANS[0][1], out)
    with read_session(settings) as session:
        assets = [r for r in search_assets(session, AssetQuery(), limit=None).rows
                  if r.open_services]
        changes = diff_runs(session, first["hz-jw"].run_id, second.run_id, limit=None).page.rows
    table = Table(_("unit"), _("address"), _("open services"), _("open findings"),
                  title=_("Inventory (assets with open services)"))
    for row in assets:
        table.add_row(row.unit, row.address, str(row.open_services),
                      str(row.open_findings))
    out.print(table)
    changed = Table(_("change"), _("address"), _("port"), title=_(
        "Changes between run {a} and run {b}").format(a=first["hz-jw"].run_id, b=second.run_id))
    for c in changes:
        changed.add_row(c.kind, c.address, f"{c.protocol}/{c.port}" if c.port else "")
    out.print(changed)
    counts = ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(second.counts.items())
                       if k.startswith("finding."))
    out.print(_("Findings after the second scan of hz-jw: {c}").format(c=counts))
    out.print(_("Try: garrison assets list --unit hz-jw · garrison assets show {a} · "
                "garrison scan list · garrison scan diff {r1} {r2}").format(
        a=HZ_A, r1=first["hz-jw"].run_id, r2=second.run_id))
