"""Conflicts in a saved on-call plan: what the roster changed after the plan was saved.

A plan is made once; leave, retirement and skill changes recorded later do not touch
it. ``plan_conflicts`` reads the plan's shifts that have not ended yet and reports, per
shift (a ``ConflictKind`` each):

- ``leave``: someone on it has an unavailability period that overlaps it;
- ``retired``: someone on it has been retired;
- ``skill``: nobody on it holds a skill the plan requires at the level it requires
  (someone's skills were edited after the plan was saved);
- ``rest``: someone starts it less than the plan's minimum rest after another shift of
  theirs ended (in this plan, or in the plan before it: plans are made one at a time).

A rest conflict belongs to the later of the two shifts, in the plan that holds it.
Shifts that have ended are history: neither checked nor repaired. The rules a check
applies are the plan's own, from the request it was saved with (``PlanRules``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, assert_never

from sqlmodel import Session, col, select

from expert_pool.rotation import Shift, shift_label
from expert_pool.times import period_text, zone
from garrison.i18n import _
from garrison.models import Expert, OnCallPlan, OnCallShift, Unavailability


class ConflictKind(StrEnum):
    LEAVE = "leave"
    RETIRED = "retired"
    SKILL = "skill"
    REST = "rest"


@dataclass(frozen=True)
class PlanRules:
    """The rules a plan was made with (its saved request)."""

    per_shift: int
    require: tuple[tuple[str, int], ...]
    rest: timedelta
    timezone: str
    seed: int

    @classmethod
    def of(cls, plan: OnCallPlan) -> PlanRules:
        request = plan.request
        require = []
        for text in request.get("require", []):
            skill, _sep, level = str(text).partition(":")
            require.append((skill, int(level or 1)))
        # a plan saved before the rest rule existed was planned without one
        return cls(per_shift=plan.per_shift, require=tuple(require),
                   rest=timedelta(hours=float(request.get("rest_hours", 0.0))),
                   timezone=str(request.get("timezone", "Asia/Shanghai")),
                   seed=int(request.get("seed", 0)))


@dataclass
class PlanShift:
    starts: datetime
    ends: datetime
    crew: list[Expert] = field(default_factory=list)


@dataclass(frozen=True)
class Conflict:
    kind: ConflictKind
    starts: datetime
    """The shift's start and end."""
    ends: datetime
    expert: Expert | None = None
    """Who is affected (``None`` for a missing skill: the shift as a whole)."""
    leave: Unavailability | None = None
    missing: tuple[str, ...] = ()
    """``skill``: the required skills nobody on the shift holds (``forensics:2``)."""
    after: tuple[datetime, datetime] | None = None
    """``rest``: the earlier shift the expert has too little rest after."""


@dataclass
class PlanCheck:
    plan: OnCallPlan
    rules: PlanRules
    since: datetime
    """Shifts ending after this were checked."""
    shifts: list[PlanShift]
    """Every shift of the plan, past ones too, in time order."""
    conflicts: list[Conflict]
    before: list[tuple[datetime, datetime, int]] = field(default_factory=list)
    """Shifts of the plan before this one that a rest rule reaches: (starts, ends, expert)."""

    def open_shifts(self) -> list[PlanShift]:
        return [s for s in self.shifts if s.ends > self.since]


def plan_shifts(session: Session, plan_id: int) -> list[PlanShift]:
    by_time: dict[tuple[datetime, datetime], PlanShift] = {}
    for shift, expert in session.exec(
            select(OnCallShift, Expert).join(Expert, col(Expert.id) == OnCallShift.expert_id)
            .where(OnCallShift.plan_id == plan_id)
            .order_by(col(OnCallShift.starts), col(Expert.name), col(Expert.id))):
        key = (shift.starts, shift.ends)
        by_time.setdefault(key, PlanShift(*key)).crew.append(expert)
    return [by_time[key] for key in sorted(by_time)]


def leave_periods(session: Session, ids: Iterable[int], starts: datetime, ends: datetime
                  ) -> dict[int, list[Unavailability]]:
    """Each expert's unavailability overlapping ``[starts, ends)``, earliest first."""
    out: dict[int, list[Unavailability]] = defaultdict(list)
    for period in session.exec(
            select(Unavailability).where(col(Unavailability.expert_id).in_(list(ids)),
                                         Unavailability.starts < ends,
                                         Unavailability.ends > starts)
            .order_by(col(Unavailability.starts), col(Unavailability.id))):
        out[period.expert_id].append(period)
    return out


def absence(expert: Expert, periods: Sequence[Unavailability], starts: datetime,
            ends: datetime) -> Conflict | None:
    """Why ``expert`` cannot be on the shift ``[starts, ends)``: retired, or on leave."""
    if not expert.active:
        return Conflict(ConflictKind.RETIRED, starts, ends, expert)
    for period in periods:
        if period.starts < ends and period.ends > starts:
            return Conflict(ConflictKind.LEAVE, starts, ends, expert, leave=period)
    return None


def shifts_before(session: Session, plan: OnCallPlan, rest: timedelta
                  ) -> list[tuple[datetime, datetime, int]]:
    """Other plans' shifts ending less than ``rest`` before this plan starts."""
    if not rest:
        return []
    rows = session.exec(select(OnCallShift).where(
        OnCallShift.plan_id != plan.id, OnCallShift.starts < plan.starts,
        OnCallShift.ends > plan.starts - rest))
    return [(r.starts, r.ends, r.expert_id) for r in rows]


def plan_conflicts(session: Session, plan: OnCallPlan, *, now: datetime) -> PlanCheck:
    """Every conflict in the plan's shifts that end after ``now`` (see the module
    docstring), in time order."""
    assert plan.id is not None
    rules = PlanRules.of(plan)
    shifts = plan_shifts(session, plan.id)
    check = PlanCheck(plan, rules, now, shifts, [], shifts_before(session, plan, rules.rest))
    current = check.open_shifts()
    if not current:
        return check
    ids = {e.id for s in current for e in s.crew if e.id is not None}
    periods = leave_periods(session, ids, current[0].starts, current[-1].ends)
    absent: set[tuple[datetime, int]] = set()
    for shift in current:
        for expert in shift.crew:
            found = absence(expert, periods.get(expert.id or 0, []), shift.starts, shift.ends)
            if found is not None:
                check.conflicts.append(found)
                absent.add((shift.starts, expert.id or 0))
        missing = missing_skills(shift.crew, rules.require)
        if missing:
            check.conflicts.append(Conflict(ConflictKind.SKILL, shift.starts, shift.ends,
                                            missing=missing))
    check.conflicts.extend(rest_conflicts(check, absent))
    order = list(ConflictKind)
    check.conflicts.sort(key=lambda c: (c.starts, order.index(c.kind),
                                        c.expert.name if c.expert else "",
                                        c.expert.id or 0 if c.expert else 0))
    return check


def missing_skills(crew: Iterable[Expert], require: Sequence[tuple[str, int]]
                   ) -> tuple[str, ...]:
    """The required ``skill:level`` that nobody in ``crew`` holds now."""
    people = list(crew)
    return tuple(f"{skill}:{level}" for skill, level in require
                 if not any(e.skills.get(skill, 0) >= level for e in people))


def rest_conflicts(check: PlanCheck, absent: set[tuple[datetime, int]]) -> list[Conflict]:
    """Shifts someone starts too soon after their previous one (absent people aside:
    they leave the shift anyway)."""
    rest = check.rules.rest
    if not rest:
        return []
    worked: dict[int, list[tuple[datetime, datetime, Expert | None]]] = defaultdict(list)
    for starts, ends, expert_id in check.before:
        worked[expert_id].append((starts, ends, None))
    for shift in check.shifts:
        for e in shift.crew:
            if (shift.starts, e.id or 0) not in absent:
                worked[e.id or 0].append((shift.starts, shift.ends, e))
    out = []
    for spans in worked.values():
        spans.sort(key=lambda span: (span[0], span[1]))
        last: tuple[datetime, datetime] | None = None
        for starts, ends, expert in spans:
            if (last is not None and starts < last[1] + rest and expert is not None
                    and ends > check.since):
                out.append(Conflict(ConflictKind.REST, starts, ends, expert, after=last))
                continue  # this shift is given up: the next is measured from the last kept
            if last is None or ends > last[1]:
                last = (starts, ends)
    return out


# ------------------------------------------------------------------ text


def describe(conflict: Conflict, tz: str, rest: timedelta) -> str:
    """What is wrong, in words: ``on leave 2026-12-01..2026-12-05 (年假)``."""
    match conflict.kind:
        case ConflictKind.LEAVE:
            assert conflict.leave is not None
            period = period_text(conflict.leave.starts, conflict.leave.ends, tz)
            reason = conflict.leave.reason
            return (_("on leave {period} ({reason})").format(period=period, reason=reason)
                    if reason else _("on leave {period}").format(period=period))
        case ConflictKind.RETIRED:
            return _("retired")
        case ConflictKind.SKILL:
            return _("nobody on the shift holds {skills} now").format(
                skills=", ".join(conflict.missing))
        case ConflictKind.REST:
            assert conflict.after is not None
            return _("less than {h} h rest after their shift {shift}").format(
                h=f"{rest.total_seconds() / 3600:g}",
                shift=span_text(conflict.after[0], conflict.after[1], tz))
        case _:
            assert_never(conflict.kind)


def span_text(starts: datetime, ends: datetime, tz: str) -> str:
    """``2026-12-03 20:00-08:00``: a shift in local time (``rotation.shift_label``)."""
    return shift_label(Shift(0, starts.astimezone(zone(tz)), ends))


def conflict_json(conflict: Conflict, tz: str, rest: timedelta) -> dict[str, Any]:
    """One conflict for ``--json`` (no contact details)."""
    out: dict[str, Any] = {
        "kind": conflict.kind.value,
        "shift": {"starts": conflict.starts.isoformat(), "ends": conflict.ends.isoformat()},
        "expert": None if conflict.expert is None else {
            "id": conflict.expert.id, "name": conflict.expert.name},
        "text": describe(conflict, tz, rest),
    }
    if conflict.leave is not None:
        out["leave"] = {"id": conflict.leave.id, "starts": conflict.leave.starts.isoformat(),
                        "ends": conflict.leave.ends.isoformat(),
                        "reason": conflict.leave.reason}
    if conflict.missing:
        out["missing"] = list(conflict.missing)
    if conflict.after is not None:
        out["after"] = {"starts": conflict.after[0].isoformat(),
                        "ends": conflict.after[1].isoformat()}
    return out
