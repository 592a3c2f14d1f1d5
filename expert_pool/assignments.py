"""Matching against the database, and assignments: calling an expert in, and releasing them.

The conflict rule is the matcher's: an expert whose home unit is the unit under
review (the finding's unit, the drill run's unit) or one of its sub-units is refused,
unless the officer overrides it with a reason, which is stored on the assignment and
in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from expert_pool.matching import (
    Candidate,
    MatchResult,
    Need,
    exclusion_reasons,
    rank,
    valid_certs,
)
from expert_pool.roster import busy_at, get_expert, open_loads, unit_codes
from expert_pool.service_types import ConflictOfInterest, ExpertRetired
from garrison import audit
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.lookup import get_or_not_found
from garrison.models import (
    Assignment,
    AssignmentRole,
    DrillRun,
    Expert,
    Finding,
    Unit,
)
from garrison.org.queries import get_unit, subtree_ids


def candidates(session: Session, at: datetime) -> list[Candidate]:
    """Every expert, with load, unexpired certifications and absence at ``at``."""
    loads = open_loads(session)
    away = busy_at(session, at)
    codes = unit_codes(session)
    rows = session.execute(sa.select(*(col(c) for c in (
        Expert.id, Expert.name, Expert.organisation, Expert.city, Expert.skills,
        Expert.certifications, Expert.active, Expert.home_unit_id, Expert.phone,
        Expert.email))))
    day = at.date()
    out = []
    for eid, name, org, city, skills, certs, active, home, phone, email in rows:
        assert eid is not None
        period = away.get(eid)
        out.append(Candidate(
            id=eid, name=name, organisation=org, city=city, skills=skills or {},
            certs=tuple(valid_certs(certs, day)), load=loads.get(eid, 0),
            active=active, home_unit_id=home, home_unit=codes.get(home) if home else None,
            away=(period.starts, period.ends, period.reason) if period else None,
            phone=phone, email=email))
    return out


def conflicted_ids(session: Session, unit: Unit) -> frozenset[int]:
    return frozenset(subtree_ids(session, unit))


def find_matches(session: Session, *, skills: tuple[tuple[str, int], ...],
                 city: str | None = None, unit: str | None = None, count: int = 5,
                 at: datetime, tz: str = "UTC") -> MatchResult:
    if count < 1:
        raise GarrisonError(_("the count must be at least 1, not {n}").format(n=count))
    conflicted: frozenset[int] = frozenset()
    if unit is not None:
        conflicted = conflicted_ids(session, get_unit(session, unit))
    need = Need(skills=skills, city=city, unit=unit, conflicted=conflicted, count=count, tz=tz)
    return rank(candidates(session, at), need)


# ------------------------------------------------------------------ assignments


@dataclass(frozen=True)
class Target:
    """What an expert is called to: a finding or a drill run, and the unit under review."""

    finding: Finding | None
    run: DrillRun | None
    unit: Unit

    @property
    def label(self) -> str:
        if self.finding is not None:
            return _("finding #{id}").format(id=self.finding.id)
        assert self.run is not None
        return _("drill run #{id}").format(id=self.run.id)


def target_of(session: Session, *, finding_id: int | None, run_id: int | None) -> Target:
    if (finding_id is None) == (run_id is None):
        raise GarrisonError(_("an expert is called in on one finding or one drill run"))
    if finding_id is not None:
        finding = get_or_not_found(session, Finding, finding_id, what=_("finding"),
                                   kind="finding")
        unit = session.get(Unit, finding.unit_id)
        assert unit is not None
        return Target(finding, None, unit)
    run = get_or_not_found(session, DrillRun, run_id, what=_("drill run"), kind="drill-run")
    unit = session.get(Unit, run.unit_id)
    assert unit is not None
    return Target(None, run, unit)


def assign(session: Session, ref: str, *, role: AssignmentRole, actor: str,
           finding_id: int | None, run_id: int | None, override: str | None, now: datetime,
           tz: str) -> tuple[Assignment, Expert]:
    """Call an expert in: the assignment and the expert.

    A conflict of interest or an absence is refused (``ConflictOfInterest``) unless
    ``override`` gives the reason; a retired expert cannot be assigned
    (``ExpertRetired``)."""
    expert = get_expert(session, ref)
    assert expert.id is not None
    target = target_of(session, finding_id=finding_id, run_id=run_id)
    if not expert.active:
        raise ExpertRetired(expert_id=expert.id, expert=expert.name, already=False)
    same = session.exec(select(Assignment).where(
        Assignment.expert_id == expert.id, col(Assignment.open).is_(True),
        Assignment.role == role,
        Assignment.finding_id == (target.finding.id if target.finding else None),
        Assignment.drill_run_id == (target.run.id if target.run else None))).first()
    if same is not None:
        raise GarrisonError(_("{name} is already {role} on {t} (assignment #{id})").format(
            name=expert.name, role=role.value, t=target.label, id=same.id))
    away = busy_at(session, now, [expert.id]).get(expert.id)
    codes = unit_codes(session)
    need = Need(skills=(), unit=target.unit.code,
                conflicted=conflicted_ids(session, target.unit), tz=tz)
    reasons = exclusion_reasons(Candidate(
        id=expert.id, name=expert.name, organisation=expert.organisation, city=expert.city,
        skills=expert.skills, certs=(), load=0, active=True,
        home_unit_id=expert.home_unit_id,
        home_unit=codes.get(expert.home_unit_id) if expert.home_unit_id else None,
        away=(away.starts, away.ends, away.reason) if away else None), need)
    if override is not None and not override.strip():
        raise GarrisonError(_("an override needs a reason"))
    if reasons and override is None:
        raise ConflictOfInterest(expert_id=expert.id, expert=expert.name, role=role,
                                 target=target.label, unit=target.unit.code,
                                 reasons=tuple(reasons))
    assignment = Assignment(
        expert_id=expert.id, finding_id=target.finding.id if target.finding else None,
        drill_run_id=target.run.id if target.run else None, role=role,
        override_reason=override.strip() if reasons and override else None,
        created_at=now, actor=actor)
    session.add(assignment)
    session.flush()
    audit.record(session, actor=actor, action="experts.assigned",
                 subject=f"expert:{expert.id}",
                 payload={"assignment": assignment.id, "name": expert.name,
                          "role": role.value, "finding": assignment.finding_id,
                          "drill_run": assignment.drill_run_id,
                          "overridden": list(reasons) if assignment.override_reason else [],
                          "override_reason": assignment.override_reason}, at=now)
    return assignment, expert


def release(session: Session, assignment_id: int, *, actor: str, now: datetime
            ) -> Assignment:
    """Close an assignment: it no longer counts towards the expert's load."""
    assignment = get_or_not_found(session, Assignment, assignment_id, what=_("assignment"),
                                  kind="assignment")
    if not assignment.open:
        raise GarrisonError(_("assignment #{id} was already released").format(
            id=assignment_id))
    assignment.open = False
    assignment.closed_at = now
    session.add(assignment)
    audit.record(session, actor=actor, action="experts.released",
                 subject=f"expert:{assignment.expert_id}",
                 payload={"assignment": assignment.id}, at=now)
    return assignment


def assignments_of(session: Session, expert_id: int) -> list[Assignment]:
    return list(session.exec(select(Assignment).where(Assignment.expert_id == expert_id)
                             .order_by(col(Assignment.created_at).desc())))
