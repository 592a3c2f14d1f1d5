"""Repair a saved on-call plan: refill exactly the places its conflicts broke.

``repair`` takes the conflicts ``oncall_check`` finds in the shifts that have not ended
and releases the people they concern (on leave, retired, too little rest). On a shift
that lacks a required skill it also releases, from those left, as many as there are
skills missing beyond the places already open -- those holding the fewest required
skills first, then those with the most shifts in the plan. Everyone else stays where
they are: the planner (``rotation.plan_rotation`` with ``fixed``) pins them and fills
only the released places, with the plan's own rules (people per shift, required
skills, minimum rest, seed), evening the load over the shifts still to come. Leave,
the shifts already worked and the shifts of the plans either side keep people off
shifts as they do when planning.

All or nothing: an impossible repair raises ``Infeasible`` naming what is missing and
changes nothing. A repair rewrites only the released places and records one
``experts.oncall_repaired`` audit event listing who was replaced by whom, and why (by
id and name: no contact details).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from expert_pool.oncall import latest_plan, nearby_shifts
from expert_pool.oncall_check import (
    Conflict,
    ConflictKind,
    PlanCheck,
    leave_periods,
    missing_skills,
    plan_conflicts,
)
from expert_pool.rotation import Infeasible, Person, Requirement, Rotation, Shift, plan_rotation
from expert_pool.times import zone
from garrison import audit
from garrison.i18n import _
from garrison.models import Expert, OnCallShift

_Place = tuple[datetime, int]
"""(shift start, expert id): one person's place on one shift of the plan."""


@dataclass(frozen=True)
class Replacement:
    starts: datetime
    ends: datetime
    out: Expert
    reason: ConflictKind
    into: Expert
    conflict: Conflict | None
    """The conflict that freed the place (``None``: a skill the shift would lack once
    others were released)."""


@dataclass(frozen=True)
class RepairResult:
    check: PlanCheck
    """The conflicts found (before the repair)."""
    replacements: list[Replacement]


def repair(session: Session, plan_id: int | None, *, actor: str, now: datetime,
           dry_run: bool) -> RepairResult:
    """Refill the places the plan's conflicts broke (the newest plan when ``plan_id`` is
    None); with ``dry_run`` only say how."""
    plan = latest_plan(session, plan_id)
    check = plan_conflicts(session, plan, now=now)
    if not check.conflicts:
        return RepairResult(check, [])
    released = releases(check)
    experts = {e.id: e for e in session.exec(select(Expert).where(col(Expert.active).is_(True))
                                             .order_by(col(Expert.id))) if e.id is not None}
    rotation = replan(session, check, released, experts)
    result = RepairResult(check, _replacements(check, released, rotation, experts))
    if not dry_run:
        _save(session, result, actor=actor, now=now)
    return result


def releases(check: PlanCheck) -> dict[_Place, ConflictKind]:
    """The places to refill, each with its reason (see the module docstring)."""
    out: dict[_Place, ConflictKind] = {}
    for conflict in check.conflicts:
        if conflict.expert is not None and conflict.expert.id is not None:
            out.setdefault((conflict.starts, conflict.expert.id), conflict.kind)
    require = check.rules.require
    loads = Counter(e.id for shift in check.shifts for e in shift.crew)

    def use(e: Expert) -> tuple[int, int, str, int]:
        held = sum(e.skills.get(skill, 0) >= level for skill, level in require)
        return (held, -loads[e.id], e.name, e.id or 0)

    for shift in check.open_shifts():
        kept = sorted((e for e in shift.crew if (shift.starts, e.id or 0) not in out), key=use)
        places = check.rules.per_shift - len(kept)
        while kept and places < len(missing_skills(kept, require)):
            out[(shift.starts, kept.pop(0).id or 0)] = ConflictKind.SKILL
            places += 1
    return out


def replan(session: Session, check: PlanCheck, released: dict[_Place, ConflictKind],
           experts: dict[int, Expert]) -> Rotation:
    """The plan's open shifts with everyone not released pinned, the places refilled."""
    rules = check.rules
    current = check.open_shifts()
    local = zone(rules.timezone)
    shifts = [Shift(i, s.starts.astimezone(local), s.ends.astimezone(local))
              for i, s in enumerate(current)]
    fixed = {i: [e.id or 0 for e in s.crew if (s.starts, e.id or 0) not in released]
             for i, s in enumerate(current)}
    busy = _busy(session, check, list(experts))
    people = [Person(id=i, name=e.name, skills=dict(e.skills), busy=tuple(sorted(busy[i])))
              for i, e in experts.items()]
    try:
        return plan_rotation(people, shifts, Requirement(
            per_shift=rules.per_shift, skills=rules.require, rest=rules.rest),
            seed=rules.seed, fixed=fixed)
    except Infeasible as exc:
        raise Infeasible(exc.reasons, hint=_(
            "Nothing was changed. Free someone (end an unavailability period), add "
            "experts, or plan the period again, replacing this plan.")) from exc


def _busy(session: Session, check: PlanCheck, ids: list[int]
          ) -> dict[int, list[tuple[datetime, datetime]]]:
    """When each expert cannot take a refilled place: leave, and the shifts they worked
    or will work outside the open shifts (with the rest after and before them)."""
    rest = check.rules.rest
    current = check.open_shifts()
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for expert_id, periods in leave_periods(session, ids, current[0].starts - rest,
                                            current[-1].ends + rest).items():
        busy[expert_id].extend((p.starts, p.ends) for p in periods)
    for shift in check.shifts:
        if shift.ends <= check.since:
            for e in shift.crew:
                busy[e.id or 0].append((shift.starts - rest, shift.ends + rest))
    for expert_id, span in nearby_shifts(session, check.plan.starts, check.plan.ends, rest,
                                         skip={check.plan.id}):
        busy[expert_id].append(span)
    return busy


def _replacements(check: PlanCheck, released: dict[_Place, ConflictKind], rotation: Rotation,
                  experts: dict[int, Expert]) -> list[Replacement]:
    why = {(c.starts, c.expert.id if c.expert else None): c for c in check.conflicts}
    out: list[Replacement] = []
    for shift, crew in zip(check.open_shifts(), rotation.crew, strict=True):
        old = {e.id for e in shift.crew}
        leaving = [e for e in shift.crew if e.id not in crew]
        joining = [experts[i] for i in crew if i not in old]
        for gone, new in zip(leaving, joining, strict=False):
            reason = released[(shift.starts, gone.id or 0)]
            conflict = why.get((shift.starts, None if reason is ConflictKind.SKILL
                                else gone.id))
            out.append(Replacement(shift.starts, shift.ends, gone, reason, new, conflict))
    return out


def _save(session: Session, result: RepairResult, *, actor: str, now: datetime) -> None:
    plan_id = result.check.plan.id
    assert plan_id is not None
    for r in result.replacements:
        session.execute(sa.delete(OnCallShift).where(
            col(OnCallShift.plan_id) == plan_id, col(OnCallShift.starts) == r.starts,
            col(OnCallShift.expert_id) == r.out.id))
        assert r.into.id is not None
        session.add(OnCallShift(plan_id=plan_id, expert_id=r.into.id, starts=r.starts,
                                ends=r.ends))
    session.flush()
    audit.record(session, actor=actor, action="experts.oncall_repaired",
                 subject=f"oncall:{plan_id}",
                 payload={"conflicts": len(result.check.conflicts), "replaced": [{
                     "starts": r.starts.isoformat(), "ends": r.ends.isoformat(),
                     "out": {"id": r.out.id, "name": r.out.name}, "reason": r.reason.value,
                     "in": {"id": r.into.id, "name": r.into.name}}
                     for r in result.replacements]}, at=now)
