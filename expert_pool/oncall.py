"""On-call rotations against the database: plan and save, who is on call, iCalendar export.

The planning itself is pure (``expert_pool.rotation``); this module gathers the active
experts and their unavailability over the period, saves the plan and its shifts, and
answers "who is on call at T", marking whoever has gone on leave or retired since the
plan was saved (``oncall_check`` finds every such conflict, ``oncall_repair`` refills).
A new plan may not overlap a saved one unless asked to replace it (``replace=True``):
two rotations for the same night would leave nobody sure who is called. The shifts of
the plans either side count for the rest rule: nobody gets the first shift of a plan
right after the last night of the one before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from expert_pool.contacts import record_view
from expert_pool.oncall_check import Conflict, absence, leave_periods, plan_shifts
from expert_pool.rotation import (
    DEFAULT_PATTERN,
    Person,
    Requirement,
    make_shifts,
    parse_pattern,
    plan_rotation,
)
from expert_pool.service_types import CannotWrite, NoPlan, PlanOverlaps
from expert_pool.times import local_text
from garrison import audit
from garrison.i18n import _
from garrison.models import Expert, OnCallPlan, OnCallShift, Unavailability

DEFAULT_REST_HOURS = 8.0
"""Time off between two shifts of the same person, unless asked otherwise: with the
default 12-hour shifts, nobody works a day and the night after it."""


@dataclass(frozen=True)
class PlanResult:
    plan: OnCallPlan
    shifts: int
    replaced: list[int]
    names: dict[int, str]
    """Expert id -> name, for the spread report."""


def plan(session: Session, *, first_day: date, last_day: date, per_shift: int,
         require: tuple[tuple[str, int], ...], actor: str, tz: str, now: datetime,
         pattern: str = DEFAULT_PATTERN, replace: bool = False, seed: int = 0,
         rest_hours: float = DEFAULT_REST_HOURS) -> PlanResult:
    pieces = parse_pattern(pattern)
    shifts = make_shifts(first_day, last_day, pieces, tz)
    starts, ends = shifts[0].starts, shifts[-1].ends
    overlapping = list(session.exec(select(OnCallPlan).where(
        OnCallPlan.starts < ends, OnCallPlan.ends > starts)))
    if overlapping and not replace:
        raise PlanOverlaps(plan_id=overlapping[0].id or 0,
                           starts=local_text(overlapping[0].starts, tz),
                           ends=local_text(overlapping[0].ends, tz))
    experts = list(session.exec(select(Expert).where(col(Expert.active).is_(True))
                                .order_by(col(Expert.id))))
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for period in session.exec(select(Unavailability).where(
            Unavailability.starts < ends, Unavailability.ends > starts)):
        busy[period.expert_id].append((period.starts, period.ends))
    rest = timedelta(hours=rest_hours)
    for expert_id, span in nearby_shifts(session, starts, ends, rest,
                                         skip={p.id for p in overlapping} if replace else set()):
        busy[expert_id].append(span)
    people = [Person(id=e.id, name=e.name, skills=dict(e.skills),
                     busy=tuple(sorted(busy.get(e.id, []))))
              for e in experts if e.id is not None]
    rotation = plan_rotation(people, shifts, Requirement(
        per_shift=per_shift, skills=require, rest=rest), seed=seed)
    replaced = []
    for old in overlapping:
        assert old.id is not None
        replaced.append(old.id)
        session.execute(sa.delete(OnCallShift).where(col(OnCallShift.plan_id) == old.id))
        session.delete(old)
    session.flush()
    loads = rotation.load
    eligible = [loads[i] for i in (rotation.eligible if rotation.eligible is not None
                                   else loads)]
    record = OnCallPlan(
        starts=starts, ends=ends, per_shift=per_shift,
        request={"from": first_day.isoformat(), "to": last_day.isoformat(),
                 "pattern": pattern, "timezone": tz,
                 "require": [f"{s}:{level}" for s, level in require], "seed": seed,
                 "rest_hours": rest_hours},
        spread={"spread": rotation.spread, "min": min(eligible, default=0),
                "max": max(eligible, default=0), "unavailable": rotation.unavailable,
                "shifts": {str(k): v for k, v in sorted(loads.items())}},
        created_at=now, actor=actor)
    session.add(record)
    session.flush()
    assert record.id is not None
    session.add_all(OnCallShift(plan_id=record.id, expert_id=pid, starts=shift.starts,
                                ends=shift.ends)
                    for shift, crew in zip(rotation.shifts, rotation.crew, strict=True)
                    for pid in crew)
    session.flush()
    audit.record(session, actor=actor, action="experts.oncall_planned",
                 subject=f"oncall:{record.id}",
                 payload={"from": first_day.isoformat(), "to": last_day.isoformat(),
                          "shifts": len(shifts), "per_shift": per_shift,
                          "require": record.request["require"], "spread": rotation.spread,
                          "replaced": replaced}, at=now)
    return PlanResult(record, len(shifts), replaced,
                      {e.id: e.name for e in experts if e.id is not None})


def nearby_shifts(session: Session, starts: datetime, ends: datetime, rest: timedelta, *,
                  skip: set[int | None]) -> list[tuple[int, tuple[datetime, datetime]]]:
    """Saved shifts (of plans not in ``skip``) outside ``[starts, ends)`` but less than
    ``rest`` from it, as (expert id, the time they keep that expert busy): the shift and
    the rest either side of it."""
    if not rest:
        return []
    query = select(OnCallShift).where(OnCallShift.starts < ends + rest,
                                      OnCallShift.ends > starts - rest,
                                      sa.or_(col(OnCallShift.ends) <= starts,
                                             col(OnCallShift.starts) >= ends))
    if skip:
        query = query.where(col(OnCallShift.plan_id).not_in(list(skip)))
    return [(r.expert_id, (r.starts - rest, r.ends + rest)) for r in session.exec(query)]


def latest_plan(session: Session, plan_id: int | None = None) -> OnCallPlan:
    """The plan ``plan_id``, or the newest plan; ``NoPlan`` if there is none."""
    if plan_id is not None:
        found = session.get(OnCallPlan, plan_id)
        if found is None:
            raise NoPlan(plan_id)
        return found
    found = session.exec(select(OnCallPlan).order_by(col(OnCallPlan.id).desc())).first()
    if found is None:
        raise NoPlan(None)
    return found


@dataclass(frozen=True)
class OnCallNow:
    starts: datetime
    ends: datetime
    plan_id: int
    experts: list[Expert]
    marks: dict[int, Conflict] = field(default_factory=dict)
    """Expert id -> why they cannot take the shift after all (leave or retired)."""


def on_call(session: Session, at: datetime) -> OnCallNow | None:
    """The shift covering ``at``, with its experts and their marks; ``None`` if no plan
    covers it."""
    rows = list(session.exec(select(OnCallShift, Expert)
                             .join(Expert, col(Expert.id) == OnCallShift.expert_id)
                             .where(OnCallShift.starts <= at, OnCallShift.ends > at)
                             .order_by(col(Expert.name), col(Expert.id))))
    if not rows:
        return None
    shift = rows[0][0]
    experts = [e for _s, e in rows]
    periods = leave_periods(session, [e.id for e in experts if e.id is not None],
                            shift.starts, shift.ends)
    marks = {e.id: found for e in experts if e.id is not None and (
        found := absence(e, periods.get(e.id, []), shift.starts, shift.ends)) is not None}
    return OnCallNow(shift.starts, shift.ends, shift.plan_id, experts, marks)


def export_ics(session: Session, plan_id: int | None, path: Path, *, actor: str, now: datetime,
               show_contacts: bool) -> int:
    """Write the plan as iCalendar: one event per shift, the experts in the summary.

    E-mail addresses are attendees only when ``show_contacts`` (an authorised view,
    audited here with the export); otherwise the calendar names people and carries no
    contact details."""
    from icalendar import Calendar, Event, vCalAddress, vText

    record = latest_plan(session, plan_id)
    assert record.id is not None
    cal = Calendar()
    cal.add("prodid", "-//Garrison//expert on-call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Garrison on-call rotation #{id}").format(id=record.id))
    stamp = now
    count = 0
    shown: set[int] = set()
    for shift in plan_shifts(session, record.id):
        starts, ends, people = shift.starts, shift.ends, shift.crew
        event = Event()
        event.add("uid", f"garrison-oncall-{record.id}-{int(starts.timestamp())}@garrison")
        event.add("dtstamp", stamp)
        event.add("dtstart", starts)
        event.add("dtend", ends)
        event.add("summary", _("On call: {names}").format(
            names=", ".join(p.name for p in people)))
        event.add("description", "\n".join(
            f"{p.name} ({p.organisation})" for p in people))
        if show_contacts:
            for p in people:
                shown.add(p.id or 0)
                if p.email:
                    attendee = vCalAddress(f"mailto:{p.email}")
                    attendee.params["cn"] = vText(p.name)
                    event.add("attendee", attendee, encode=False)
        cal.add_component(event)
        count += 1
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(cal.to_ical())
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CannotWrite(str(path), exc.strerror) from exc
    partial.replace(path)
    audit.record(session, actor=actor, action="experts.oncall_exported",
                 subject=f"oncall:{record.id}",
                 payload={"file": str(path), "events": count, "contacts": show_contacts},
                 at=stamp)
    if show_contacts:
        record_view(session, shown, f"oncall export:{path}", actor=actor, now=now)
    return count
