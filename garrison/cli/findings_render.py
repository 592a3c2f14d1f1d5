"""Rendering of one finding and of the league table (rich), and their JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from garrison.findings.queries import SEVERITY_ORDER, FindingDetail
from garrison.findings.summary import Summary
from garrison.i18n import _


def detail_json(d: FindingDetail) -> dict[str, Any]:
    f = d.finding
    return {
        "id": f.id, "fingerprint": f.fingerprint, "unit": d.unit_code, "unit_name": d.unit_name,
        "title": f.title, "rule": f.rule_id, "severity": f.severity.value,
        "status": f.status.value, "source": f.source.value, "owner": f.owner,
        "address": f.address, "protocol": f.protocol, "port": f.port,
        "due_at": f.due_at.isoformat() if f.due_at else None, "overdue": d.overdue,
        "first_seen": f.first_seen.isoformat(), "last_seen": f.last_seen.isoformat(),
        "status_changed_at": f.status_changed_at.isoformat(),
        "accepted_until": f.accepted_until.isoformat() if f.accepted_until else None,
        "accepted_by": f.accepted_by,
        "description": f.description or (d.rule.rationale if d.rule else None),
        "remediation": f.remediation or (d.rule.remedy if d.rule else None),
        "cvss_vector": f.cvss_vector or (d.rule.cvss_vector if d.rule else None),
        "cwe": f.cwe or (d.rule.cwe if d.rule else None),
        "references": list(f.references or []) or (list(d.rule.references) if d.rule else []),
        "evidence": f.evidence,
        "asset_gone_since": d.asset_gone_since.isoformat() if d.asset_gone_since else None,
        "service": None if d.service is None else {
            "name": d.service.name, "product": d.service.product,
            "version": d.service.version, "state": d.service.state, "cpe": d.service.cpe},
        "history": [{"at": e.at.isoformat(), "kind": e.kind.value, "actor": e.actor,
                     "from": e.from_status.value if e.from_status else None,
                     "to": e.to_status.value, "note": e.note} for e in d.events],
    }


def render_detail(out: Console, d: FindingDetail) -> None:
    data = detail_json(d)
    where = data["address"] or _("(the unit)")
    if data["port"] is not None:
        where += f" {data['protocol']}/{data['port']}"
    if d.asset_gone_since is not None:
        where += _(" (asset gone since {d})").format(d=d.asset_gone_since.strftime("%Y-%m-%d"))
    out.print(f"[bold]#{data['id']} {escape(data['title'])}[/bold]")
    facts = [
        (_("unit"), f"{data['unit']} {data['unit_name']}"), (_("where"), where),
        (_("severity"), data["severity"]), (_("status"), data["status"]),
        (_("owner"), data["owner"]),
        (_("due"), (data["due_at"] or "-")[:10] + (_(" (overdue)") if data["overdue"] else "")),
        (_("rule"), data["rule"]), (_("source"), data["source"]),
        (_("first / last seen"), f"{data['first_seen'][:19]} / {data['last_seen'][:19]}"),
        (_("CVSS"), data["cvss_vector"] or "-"), (_("CWE"), data["cwe"] or "-"),
    ]
    if data["accepted_until"]:
        facts.append((_("risk accepted"), _("until {u}, by {b}").format(
            u=data["accepted_until"], b=data["accepted_by"])))
    for label, value in facts:
        out.print(f"  [dim]{label}:[/dim] {escape(str(value))}")
    for label, key in ((_("Why it matters"), "description"), (_("What to do"), "remediation")):
        if data[key]:
            out.print(f"[bold]{label}[/bold]\n  {escape(data[key])}")
    if data["evidence"]:
        out.print(_("[bold]Evidence[/bold]"))
        for key, value in data["evidence"].items():
            out.print(f"  [dim]{escape(str(key))}:[/dim] {escape(str(value))}")
    history = Table(_("when (UTC)"), _("who"), _("what"), _("note"), title=_("History"))
    for e in data["history"]:
        what = e["kind"] if e["kind"] != "status" else f"{e['from'] or '-'} -> {e['to']}"
        history.add_row(e["at"][:19], escape(e["actor"]), what, escape(e["note"] or ""))
    out.print(history)


def render_summary(out: Console, s: Summary) -> None:
    table = Table(_("unit"), _("name"), *[sev.value for sev in SEVERITY_ORDER], _("active"),
                  _("overdue"), _("fixed"), _("mean days to fix"),
                  title=_("Findings by unit (active = open or in progress)"))
    for line in s.lines:
        table.add_row(line.code, escape(line.name),
                      *[str(line.active.get(sev, 0) or "") for sev in SEVERITY_ORDER],
                      str(line.active_total), f"[red]{line.overdue}[/]" if line.overdue else "",
                      str(line.fixed or ""),
                      "" if line.mean_days_to_fix is None else f"{line.mean_days_to_fix}")
    out.print(table)
    if not s.lines:
        out.print(_("No findings."))
