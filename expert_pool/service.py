"""Every user action on the expert pool, one function each: the CLI and the TUI call only
these.

Each action takes an ``ActionContext`` (who acts, the clock, the settings) and does the
whole thing in one transaction with its audit event. Contact details come back masked
unless the caller asks for them (``show_contacts``) *and* the actor is one of the
deployment's ``contact_viewers``: such a view is read in a write transaction, so the view
and its ``experts.contacts_viewed`` event commit together. Results are plain data
(``expert_pool.service_types``); errors carry data and neutral text
(``ConflictOfInterest``, ``ExpertRetired``, ``PlanOverlaps``, ``NoPlan``, ...), and each
front-end phrases them for its users. Times a user typed are parsed by the front-end
(relative to ``ctx.now()``); every other time is ``ctx.now()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expert_pool import assignments as _assignments
from expert_pool import oncall as _oncall
from expert_pool import roster as _roster
from expert_pool.contacts import check_right, mask_email, mask_phone, record_view
from expert_pool.export import export_roster as _export_roster
from expert_pool.export import view
from expert_pool.filters import ExpertFilter
from expert_pool.matching import MatchResult, masked
from expert_pool.queries import expert_cities, plan_info, saved_plans, unit_code_list
from expert_pool.service_types import (
    AssignmentView,
    CheckReport,
    ConflictView,
    Edited,
    ExpertDetail,
    ExpertRef,
    ExpertView,
    OnCallPerson,
    OnCallView,
    Period,
    PlanDetail,
    PlanInfo,
    PlanSaved,
    RepairReport,
    ReplacementView,
    ShiftView,
    Suggestions,
)
from garrison.db import read_session, write_session
from garrison.i18n import _
from garrison.vocab import AssignmentRole

if TYPE_CHECKING:
    from sqlmodel import Session

    from expert_pool.roster import ImportResult
    from expert_pool.roster_file import ExpertRecord
    from garrison.actions import ActionContext
    from garrison.models import Assignment, Expert, Unavailability


# ------------------------------------------------------------------ contacts


@contextmanager
def _viewing(ctx: ActionContext, show_contacts: bool) -> Iterator[Session]:
    """A session to read experts in: a write transaction when contacts are shown (the
    right checked first), so the view and its audit event commit together."""
    if show_contacts:
        check_right(ctx.actor, ctx.settings.contact_viewers)
        with write_session(ctx.settings) as session:
            yield session
    else:
        with read_session(ctx.settings) as session:
            yield session


def _audit_view(session: Session, ctx: ActionContext, show_contacts: bool, ids: list[int],
                where: str) -> None:
    if show_contacts and ids:
        record_view(session, ids, where, actor=ctx.actor, now=ctx.now())


# ------------------------------------------------------------------ roster


def import_roster(ctx: ActionContext, *, records: Sequence[ExpertRecord], source: Path | str,
                  dry_run: bool) -> ImportResult:
    """Add and update experts from a roster already read and checked whole
    (``roster_file.load_roster``); with ``dry_run`` say what would change, write nothing."""
    with write_session(ctx.settings) as session:
        result = _roster.import_roster(session, records, actor=ctx.actor, source=source,
                                       now=ctx.now())
        if dry_run:
            session.rollback()
        return result


def add_expert(ctx: ActionContext, record: ExpertRecord) -> ExpertRef:
    """Add one expert (``record``: ``roster_file.record_from_values``)."""
    with write_session(ctx.settings) as session:
        expert = _roster.add_expert(session, record, actor=ctx.actor, now=ctx.now())
        return _ref(expert)


def edit_expert(ctx: ActionContext, ref: str, *, values: Mapping[str, str],
                home_unit: str | None, clear_home_unit: bool, active: bool | None) -> Edited:
    """Change the fields given: ``values`` in the text forms of a roster row
    (``{"city": "杭州", "skills": "web:3;forensics:2"}``), the home unit by code (or
    cleared), retired or active again. Only what differs is changed and audited."""
    from expert_pool.roster_file import record_from_values

    with write_session(ctx.settings) as session:
        current = _roster.get_expert(session, ref)
        base = {"name": current.name, "organisation": current.organisation}
        rec = record_from_values({**base, **values}, "experts edit")
        changes: dict[str, Any] = {k: getattr(rec, k) for k in values}
        if clear_home_unit:
            changes["home_unit"] = None
        elif home_unit is not None:
            changes["home_unit"] = home_unit
        if active is not None:
            changes["active"] = active
        expert, changed = _roster.edit_expert(session, str(current.id), changes,
                                              actor=ctx.actor, now=ctx.now())
        assert expert.id is not None
        return Edited(expert.id, expert.name, tuple(changed))


def retire(ctx: ActionContext, ref: str, *, reason: str | None) -> ExpertRef:
    """Take an expert out of matching and rotations (their history stays)."""
    with write_session(ctx.settings) as session:
        return _ref(_roster.retire_expert(session, ref, actor=ctx.actor, now=ctx.now(),
                                          reason=reason))


def away(ctx: ActionContext, ref: str, *, starts: datetime, ends: datetime,
         reason: str | None) -> Period:
    """Record a period an expert cannot be called (leave, travel)."""
    with write_session(ctx.settings) as session:
        return _period(_roster.add_unavailability(session, ref, starts=starts, ends=ends,
                                                  reason=reason, actor=ctx.actor,
                                                  now=ctx.now()))


def back(ctx: ActionContext, period_id: int) -> Period:
    """Remove an unavailability period: the expert can be called again."""
    with write_session(ctx.settings) as session:
        return _period(_roster.remove_unavailability(session, period_id, actor=ctx.actor,
                                                     now=ctx.now()))


def list_experts(ctx: ActionContext, f: ExpertFilter, *, show_contacts: bool
                 ) -> list[ExpertView]:
    """The experts matching ``f``, by name (masked unless an authorised, audited view)."""
    with _viewing(ctx, show_contacts) as session:
        lines = _roster.list_experts(session, f, now=ctx.now())
        _audit_view(session, ctx, show_contacts, [ln.expert.id or 0 for ln in lines],
                    "experts list")
        return [view(line, show_contacts=show_contacts) for line in lines]


def show(ctx: ActionContext, ref: str, *, show_contacts: bool) -> ExpertDetail:
    """One expert: the record, unavailability periods, assignments (newest first)."""
    with _viewing(ctx, show_contacts) as session:
        e = _roster.get_expert(session, ref)
        assert e.id is not None
        line = _roster.ExpertLine(
            e, _roster.unit_codes(session).get(e.home_unit_id or -1),
            _roster.open_loads(session, [e.id]).get(e.id, 0),
            _roster.busy_at(session, ctx.now(), [e.id]).get(e.id))
        periods = [_period(p) for p in _roster.periods_of(session, e.id)]
        done = [_assignment(a, e.name) for a in _assignments.assignments_of(session, e.id)]
        _audit_view(session, ctx, show_contacts, [e.id], "experts show")
        return ExpertDetail(view(line, show_contacts=show_contacts), periods, done)


def suggestions(ctx: ActionContext) -> Suggestions:
    """The unit codes and the experts' cities (for completing inputs)."""
    with read_session(ctx.settings) as session:
        return Suggestions(unit_code_list(session), expert_cities(session))


def export_roster(ctx: ActionContext, *, fmt: str, path: Path, filters: ExpertFilter,
                  show_contacts: bool) -> int:
    """Write the roster matching ``filters`` (csv, xlsx or json) with its manifest and
    audit event; contacts masked unless an authorised view (audited too). The number of
    experts written."""
    if show_contacts:
        check_right(ctx.actor, ctx.settings.contact_viewers)
    described = {"skills": [f"{s}:{level}" for s, level in filters.skills],
                 "city": filters.city, "all": filters.include_retired}
    with write_session(ctx.settings) as session:
        experts = [view(line, show_contacts=show_contacts)
                   for line in _roster.list_experts(session, filters, now=ctx.now())]
        return _export_roster(session, experts, fmt=fmt, path=path, actor=ctx.actor,
                              now=ctx.now(), today=ctx.today(), database=ctx.database,
                              show_contacts=show_contacts, filters=described)


# ------------------------------------------------------------------ matching, assignments


def match(ctx: ActionContext, *, skills: tuple[tuple[str, int], ...], city: str | None,
          unit: str | None, count: int, at: datetime | None, show_contacts: bool
          ) -> MatchResult:
    """Rank the available, unconflicted experts for ``skills`` at ``at`` (``None``: now);
    ``unit`` is the unit under review (its staff and its sub-units' are excluded)."""
    with _viewing(ctx, show_contacts) as session:
        result = _assignments.find_matches(session, skills=skills, city=city, unit=unit,
                                           count=count, at=at or ctx.now(),
                                           tz=ctx.settings.timezone)
        _audit_view(session, ctx, show_contacts, [m.candidate.id for m in result.ranked],
                    "experts match")
    return result if show_contacts else masked(result)


def assign(ctx: ActionContext, ref: str, *, role: AssignmentRole, finding_id: int | None,
           run_id: int | None, override: str | None) -> AssignmentView:
    """Call an expert in on a finding or a drill run (audited).

    A conflict of interest or an absence raises ``ConflictOfInterest`` (with the
    reasons) unless ``override`` gives the reason to assign anyway: it is stored on the
    assignment and in the audit event, with the reasons overridden."""
    with write_session(ctx.settings) as session:
        assignment, expert = _assignments.assign(
            session, ref, role=role, actor=ctx.actor, finding_id=finding_id, run_id=run_id,
            override=override, now=ctx.now(), tz=ctx.settings.timezone)
        return _assignment(assignment, expert.name)


def release(ctx: ActionContext, assignment_id: int) -> AssignmentView:
    """Close an assignment (it stops counting towards the expert's load)."""
    from garrison.models import Expert

    with write_session(ctx.settings) as session:
        assignment = _assignments.release(session, assignment_id, actor=ctx.actor,
                                          now=ctx.now())
        expert = session.get(Expert, assignment.expert_id)
        return _assignment(assignment, expert.name if expert else "")


# ------------------------------------------------------------------ on call


def oncall_plan(ctx: ActionContext, *, first_day: date, last_day: date, per_shift: int,
                require: tuple[tuple[str, int], ...], pattern: str, replace: bool, seed: int,
                rest_hours: float) -> PlanSaved:
    """Plan and save a fair rotation over the days given (``PlanOverlaps`` when a saved
    plan covers part of them and ``replace`` is not given; ``Infeasible`` says what is
    missing)."""
    with write_session(ctx.settings) as session:
        result = _oncall.plan(session, first_day=first_day, last_day=last_day,
                              per_shift=per_shift, require=require, actor=ctx.actor,
                              tz=ctx.settings.timezone, now=ctx.now(), pattern=pattern,
                              replace=replace, seed=seed, rest_hours=rest_hours)
        return PlanSaved(plan_info(result.plan), result.shifts, list(result.replaced))


def on_call(ctx: ActionContext, *, at: datetime | None, show_contacts: bool
            ) -> OnCallView | None:
    """Who is on call at ``at`` (``None``: now), each marked if they cannot take the
    shift any more; ``None`` when no plan covers it."""
    from expert_pool.oncall_check import conflict_json

    moment = at or ctx.now()
    tz = ctx.settings.timezone
    with _viewing(ctx, show_contacts) as session:
        now = _oncall.on_call(session, moment)
        if now is None:
            return None
        _audit_view(session, ctx, show_contacts,
                    [e.id for e in now.experts if e.id is not None], "experts oncall show")
        people = []
        for e in now.experts:
            assert e.id is not None
            mark = now.marks.get(e.id)
            found = None if mark is None else conflict_json(mark, tz, timedelta(0))
            people.append(OnCallPerson(
                id=e.id, name=e.name, organisation=e.organisation,
                phone=e.phone if show_contacts else mask_phone(e.phone),
                email=e.email if show_contacts else mask_email(e.email),
                mark=None if found is None else {
                    k: found[k] for k in ("kind", "text", "leave") if k in found}))
        return OnCallView(moment, now.plan_id, now.starts, now.ends, people)


def check_plan(ctx: ActionContext, plan_id: int | None) -> CheckReport:
    """A saved plan's conflicts (``None``: the newest plan) with the roster as it is now,
    in the shifts that have not ended."""
    from expert_pool.oncall_check import conflict_json, describe, plan_conflicts, span_text

    with read_session(ctx.settings) as session:
        check = plan_conflicts(session, _oncall.latest_plan(session, plan_id), now=ctx.now())
        tz, rest = check.rules.timezone, check.rules.rest
        return CheckReport(plan_info(check.plan), check.since, tz, [
            ConflictView(kind=c.kind.value, starts=c.starts, ends=c.ends,
                         span=span_text(c.starts, c.ends, tz),
                         expert_id=c.expert.id if c.expert else None,
                         expert_name=c.expert.name if c.expert else None,
                         text=describe(c, tz, rest), json=conflict_json(c, tz, rest))
            for c in check.conflicts])


def repair_plan(ctx: ActionContext, plan_id: int | None, *, dry_run: bool) -> RepairReport:
    """Refill the places a plan's conflicts broke, keeping everyone else (audited);
    ``dry_run`` only says how. An impossible repair raises ``Infeasible`` and changes
    nothing."""
    from expert_pool.oncall_check import describe, span_text
    from expert_pool.oncall_repair import repair

    with write_session(ctx.settings) as session:
        result = repair(session, plan_id, actor=ctx.actor, now=ctx.now(), dry_run=dry_run)
        check = result.check
        tz, rest = check.rules.timezone, check.rules.rest
        assert check.plan.id is not None
        return RepairReport(check.plan.id, tz, len(check.conflicts), [
            ReplacementView(r.starts, r.ends, span_text(r.starts, r.ends, tz), _ref(r.out),
                            _ref(r.into), r.reason.value,
                            describe(r.conflict, tz, rest) if r.conflict is not None
                            else _("the shift would lack a required skill"))
            for r in result.replacements], dry_run)


def plans(ctx: ActionContext) -> list[PlanInfo]:
    """The saved on-call plans, earliest first."""
    with read_session(ctx.settings) as session:
        return saved_plans(session)


def show_plan(ctx: ActionContext, plan_id: int | None) -> PlanDetail:
    """One saved plan (``None``: the newest) with every shift and its crew."""
    from expert_pool.oncall_check import plan_shifts

    with read_session(ctx.settings) as session:
        plan = _oncall.latest_plan(session, plan_id)
        assert plan.id is not None
        return PlanDetail(plan_info(plan), [
            ShiftView(s.starts, s.ends, [_ref(e) for e in s.crew])
            for s in plan_shifts(session, plan.id)])


def export_oncall(ctx: ActionContext, *, plan_id: int | None, path: Path,
                  show_contacts: bool) -> int:
    """Write a plan (``None``: the newest) as iCalendar, one event per shift (audited;
    e-mail addresses as attendees only in an authorised view). The events written."""
    if show_contacts:
        check_right(ctx.actor, ctx.settings.contact_viewers)
    with write_session(ctx.settings) as session:
        return _oncall.export_ics(session, plan_id, path, actor=ctx.actor, now=ctx.now(),
                                  show_contacts=show_contacts)


# ------------------------------------------------------------------ plain data


def _ref(expert: Expert) -> ExpertRef:
    assert expert.id is not None
    return ExpertRef(expert.id, expert.name)


def _period(p: Unavailability) -> Period:
    assert p.id is not None
    return Period(p.id, p.expert_id, p.starts, p.ends, p.reason)


def _assignment(a: Assignment, name: str) -> AssignmentView:
    assert a.id is not None
    return AssignmentView(id=a.id, expert_id=a.expert_id, expert_name=name, role=a.role,
                          finding_id=a.finding_id, drill_run_id=a.drill_run_id, open=a.open,
                          created_at=a.created_at, override_reason=a.override_reason)
