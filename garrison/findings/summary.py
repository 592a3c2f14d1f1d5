"""The office's league table: findings by unit and severity, overdue, time to fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from garrison.findings.export.base import ExportSummary
from garrison.findings.listing import where_sql
from garrison.findings.queries import (
    SEVERITY_ORDER,
    FindingFilter,
    dialect,
    filter_clauses,
    unit_ids,
)
from garrison.models import Finding, Severity, Unit
from garrison.vocab import CLOSED_STATES, OPEN_STATES


@dataclass
class UnitLine:
    code: str
    name: str
    active: dict[Severity, int] = field(default_factory=dict)
    """Open and in-progress findings by severity."""
    overdue: int = 0
    fixed: int = 0
    mean_days_to_fix: float | None = None

    @property
    def active_total(self) -> int:
        return sum(self.active.values())

    def as_json(self) -> dict[str, Any]:
        return {"unit": self.code, "name": self.name,
                "active": {s.value: self.active.get(s, 0) for s in SEVERITY_ORDER},
                "active_total": self.active_total, "overdue": self.overdue,
                "fixed": self.fixed, "mean_days_to_fix": self.mean_days_to_fix}


@dataclass
class Summary:
    lines: list[UnitLine]
    generated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at.isoformat(),
                "units": [line.as_json() for line in self.lines]}

    def for_export(self) -> ExportSummary:
        return ExportSummary(
            by_unit_severity={u.code: {s.value: n for s, n in u.active.items()}
                              for u in self.lines},
            overdue_by_unit={u.code: u.overdue for u in self.lines if u.overdue},
            by_severity={s.value: sum(u.active.get(s, 0) for u in self.lines)
                         for s in SEVERITY_ORDER},
            unit_names={u.code: u.name for u in self.lines})


def summarise(session: Session, f: FindingFilter | None = None, *, now: datetime,
              time_to_fix: bool = True) -> Summary:
    """League table over the findings matching ``f`` (all by default), worst first.
    ``time_to_fix=False`` leaves out the mean days to fix (the dashboard does not show
    it, and it is the costliest part)."""
    f = f or FindingFilter()
    where = filter_clauses(session, f, now)
    lines: dict[int, UnitLine] = {}
    units = {uid: (code, name) for uid, code, name in session.exec(
        select(Unit.id, Unit.code, Unit.name)).all()}

    def line(uid: int) -> UnitLine:
        if uid not in lines:
            code, name = units[uid]
            lines[uid] = UnitLine(code, name)
        return lines[uid]

    status, sev, unit_id = col(Finding.status), col(Finding.severity), col(Finding.unit_id)
    for uid, severity, n in session.exec(
            select(unit_id, sev, sa.func.count()).where(*where, status.in_(OPEN_STATES))
            .group_by(unit_id, sev)).all():
        line(uid).active[severity] = n
    for uid, n in session.exec(
            select(unit_id, sa.func.count()).where(*where, status.in_(OPEN_STATES),
                                                   col(Finding.due_at) < now)
            .group_by(unit_id)).all():
        line(uid).overdue = n
    if time_to_fix:
        _time_to_fix(session, f, now, line)
    ordered = sorted(lines.values(), key=lambda u: (
        -u.overdue, *(-u.active.get(s, 0) for s in SEVERITY_ORDER), u.code))
    return Summary(ordered, now)


def _time_to_fix(session: Session, f: FindingFilter, now: datetime, line: Any) -> None:
    """Mean days from (re)opening to the last fix, over fixed and verified findings.

    The clock starts at the last reopening before the last fix (or at first sight) and
    stops at the last fix. Aggregated in the database: reading every status event of
    100,000 findings into Python took two seconds."""
    where, params = where_sql(f, now, unit_ids=unit_ids(session, f), dialect=dialect(session))
    start = "CASE WHEN t.opened_at > t.first_seen THEN t.opened_at ELSE t.first_seen END"
    days = (f"julianday(t.fixed_at) - julianday({start})" if dialect(session) == "sqlite"
            else f"EXTRACT(EPOCH FROM (t.fixed_at - {start})) / 86400.0")
    closed = ", ".join(f"'{s.value}'" for s in CLOSED_STATES)
    sql = f"""
        SELECT t.unit_id, count(*), avg({days}) FROM (
            SELECT finding.unit_id AS unit_id, finding.first_seen AS first_seen,
                   fx.fixed_at AS fixed_at,
                   (SELECT max(e.at) FROM findingevent e
                     WHERE e.finding_id = finding.id AND e.kind = 'status'
                       AND e.to_status = 'open' AND e.at <= fx.fixed_at) AS opened_at
              FROM finding
              JOIN (SELECT finding_id, max(at) AS fixed_at FROM findingevent
                     WHERE kind = 'status' AND to_status = 'fixed'
                     GROUP BY finding_id) fx ON fx.finding_id = finding.id
             WHERE {where} AND finding.status IN ({closed})
        ) t GROUP BY t.unit_id"""
    for uid, count, mean in session.execute(sa.text(sql), params).all():
        target = line(uid)
        target.fixed = int(count)
        target.mean_days_to_fix = round(float(mean), 1) if mean is not None else None
