"""The automated actions a playbook step may ask for: scan, probe, check-finding.

Each goes through the scope guard (``garrison.scope.authorize``) for the playbook's
unit before anything is sent: ``scan`` through the scanner's own planning (which
authorises), ``probe`` with an ``Approval`` handed to scapy discovery. There is no
other action, and no way to pass a string to a program.

An action never raises for the drill's sake: a refusal or a failure is its result
(``error``), recorded on the timeline, and the drill goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from drills.schema import CheckFinding, Playbook, ProbeParams, ScanParams
from garrison.db import read_session
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.models import Finding, Unit
from garrison.org.queries import get_unit, subtree_ids
from garrison.settings import Settings
from garrison.vocab import SEVERITY_ORDER, Severity


def _targets(params_targets: Sequence[str], pb: Playbook) -> list[str] | None:
    return list(params_targets) or list(pb.scope.targets) or None


def run_scan_action(settings: Settings, pb: Playbook, params: ScanParams,
                    started: datetime) -> dict[str, Any]:
    """The real scanner, scope-guarded; the result counts the new findings it raised."""
    from scanner.scan import ScanRequest, plan_scan, run_scan

    try:
        plan = plan_scan(settings, ScanRequest(unit=pb.scope.unit,
                                               targets=_targets(params.targets, pb),
                                               profile=params.profile, rate=params.rate))
        report = run_scan(settings, plan)
    except GarrisonError as exc:
        return {"error": exc.message, "refused": exc.exit_code == 4}
    return {"scan_run": report.run_id, "status": report.status.value,
            "hosts_up": report.hosts_up, "services": report.services,
            "new_findings": new_findings(settings, pb.scope.unit, started)}


def new_findings(settings: Settings, unit_code: str, since: datetime) -> dict[str, int]:
    """Findings of the unit (and sub-units) first seen since ``since``, by severity."""
    with read_session(settings) as session:
        ids = subtree_ids(session, get_unit(session, unit_code))
        rows = session.exec(select(Finding.severity).where(
            col(Finding.unit_id).in_(ids), col(Finding.first_seen) >= since)).all()
    counts: dict[str, int] = {}
    for severity in rows:
        name = Severity(severity).value
        counts[name] = counts.get(name, 0) + 1
    return counts


def run_probe_action(settings: Settings, pb: Playbook, params: ProbeParams) -> dict[str, Any]:
    """scapy TCP SYN / ICMP echo to guard-approved addresses; what answered, and how."""
    from garrison.scope import authorize
    from scanner.discovery import DiscoveryError, ScapyDiscovery

    targets = _targets(params.targets, pb)
    try:
        if targets is None:
            from scanner.scan import default_targets

            targets = default_targets(settings, pb.scope.unit)
        approval = authorize(settings, unit_code=pb.scope.unit, targets=targets)
        if approval.size > 4096:
            return {"error": _("a probe reaches at most 4096 addresses; this one {n}").format(
                n=approval.size)}
        probe = ScapyDiscovery(icmp=params.icmp, tcp_ports=tuple(params.ports))
        hosts = probe.discover(approval, timeout=1.0)
    except (GarrisonError, DiscoveryError) as exc:
        return {"error": exc.message, "refused": exc.exit_code == 4}
    return {"answered": [{"address": h.address, "method": h.method} for h in hosts],
            "probed": approval.size, "packets": probe.packets_sent}


def check_finding(settings: Settings, unit_code: str, check: CheckFinding,
                  since: datetime) -> list[int]:
    """Ids of the findings matching ``check``: of the unit or its sub-units, first seen
    since ``since`` (the drill's start)."""
    with read_session(settings) as session:
        unit: Unit = get_unit(session, unit_code)
        query = select(Finding.id).where(col(Finding.unit_id).in_(subtree_ids(session, unit)),
                                         col(Finding.first_seen) >= since)
        if check.rule is not None:
            query = query.where(Finding.rule_id == check.rule)
        if check.asset is not None:
            query = query.where(Finding.address == check.asset)
        if check.port is not None:
            query = query.where(Finding.port == check.port)
        if check.severity is not None:
            worst = SEVERITY_ORDER[:SEVERITY_ORDER.index(Severity(check.severity)) + 1]
            query = query.where(col(Finding.severity).in_(worst))
        return [fid for fid in session.exec(query.order_by(col(Finding.id))).all()
                if fid is not None]
