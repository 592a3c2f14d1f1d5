"""The expert pool's part of ``garrison demo``: a roster, a week of on-call, a match.

Imports the shipped demo roster (24 experts, Chinese headers), plans the coming week's
on-call rotation with a forensics expert on every shift, says who is on call now, and
matches experts to the most urgent open finding, with the conflicted ones explained.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from expert_pool import oncall
from expert_pool.assignments import find_matches
from expert_pool.masking import mask_phone
from expert_pool.roster import import_roster
from expert_pool.roster_file import load_roster
from expert_pool.times import local_text, zone
from garrison.db import read_session, write_session
from garrison.i18n import _
from garrison.models import Finding, FindingStatus, OnCallPlan, Unit
from garrison.settings import Settings


def run_demo(settings: Settings, out: Console) -> None:
    out.print(_("\n[bold]Expert pool[/bold]: roster, a week of on-call, a match"))
    ref = resources.files("expert_pool").joinpath("data", "demo_roster.csv")
    with resources.as_file(ref) as path:
        records = load_roster(path)
    tz = settings.timezone
    now = settings.now()
    today = now.astimezone(zone(tz)).date()
    with write_session(settings) as session:
        result = import_roster(session, records, actor=settings.actor, source="demo_roster.csv",
                               now=now)
        planned = session.exec(select(OnCallPlan).where(
            OnCallPlan.ends > now)).first() is not None
        plan = None if planned else oncall.plan(
            # from yesterday: the night shift that began then covers the small hours
            session, first_day=today - timedelta(days=1), last_day=today + timedelta(days=6),
            per_shift=2,
            require=(("forensics", 2),), actor=settings.actor, tz=tz, now=now)
    out.print(_("Roster: {a} added, {u} updated, {k} unchanged.").format(
        a=len(result.added), u=len(result.updated), k=result.unchanged))
    if plan is not None:
        spread = plan.plan.spread
        out.print(_("On-call plan #{id}: {n} shifts over 8 days, 2 per shift, forensics:2 on "
                    "every shift; {lo}-{hi} shifts per expert (spread {s}).").format(
            id=plan.plan.id, n=plan.shifts, lo=spread["min"], hi=spread["max"],
            s=spread["spread"]))
    with read_session(settings) as session:
        current = oncall.on_call(session, now)
        if current is not None:
            out.print(_("On call until {t}: {who}").format(
                t=local_text(current.ends, tz), who=", ".join(
                    f"{e.name} ({mask_phone(e.phone)})" for e in current.experts)))
        row = session.exec(
            select(Finding, Unit).join(Unit, col(Unit.id) == Finding.unit_id)
            .where(col(Finding.status).in_([FindingStatus.open, FindingStatus.in_progress]))
            .order_by(col(Finding.due_at), col(Finding.id))).first()
        if row is None:
            return
        finding, unit = row
        match = find_matches(session, skills=(("forensics", 2), ("malware", 1)),
                             unit=unit.code, count=3, at=now, tz=tz)
    out.print(_("Experts for finding #{id} ({u}), forensics:2 + malware:").format(
        id=finding.id, u=unit.code))
    table = Table("#", _("name"), _("organisation"), _("city"), _("coverage"), _("load"))
    for i, m in enumerate(match.ranked, start=1):
        c = m.candidate
        table.add_row(str(i), c.name, c.organisation, c.city or "", f"{m.coverage:.0%}",
                      str(c.load))
    out.print(table)
    for x in match.excluded[:3]:
        out.print(f"  [dim]{x.candidate.name}: {'; '.join(x.reasons)}[/dim]")
    out.print(_("Try: garrison experts match --skill forensics:2 --for-unit {u} --explain · "
                "garrison experts oncall show · garrison experts assign EXPERT --finding {f} "
                "--role responder").format(u=unit.code, f=finding.id))
