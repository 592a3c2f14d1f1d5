"""The expert pool's action layer: one transaction per action, the context's actor and
clock, contacts only for the deployment's viewers, errors with data and no CLI flags."""

from __future__ import annotations

import dataclasses
import inspect
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel, select

from expert_pool import service
from expert_pool.filters import ExpertFilter
from expert_pool.service_types import (
    ConflictOfInterest,
    ContactsRefused,
    ExpertRetired,
    NoPlan,
    PlanOverlaps,
)
from garrison.actions import ActionContext, action_context
from garrison.clock import FixedClock
from garrison.db import read_session
from garrison.models import Assignment, AuditEvent
from garrison.settings import Settings
from garrison.vocab import AssignmentRole
from tests.expert_pool.test_assign_and_match import finding_on
from tests.garrison.helpers import snapshot

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def context(settings: Settings, *, viewers: list[str] | None = None) -> ActionContext:
    return action_context(settings.model_copy(update={
        "clock": FixedClock(AT), "contact_viewers": viewers or []}))


def test_no_service_signature_has_a_default() -> None:
    actions = [f for name, f in inspect.getmembers(service, inspect.isfunction)
               if f.__module__ == service.__name__ and not name.startswith("_")]
    assert len(actions) >= 20
    for action in actions:
        params = list(inspect.signature(action).parameters.values())
        assert params[0].name == "ctx", action.__name__
        assert all(p.default is inspect.Parameter.empty for p in params), action.__name__


def _no_orm(value: object) -> None:
    """Plain data all the way down: no ORM object escapes an action."""
    assert not isinstance(value, SQLModel), value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _no_orm(getattr(value, f.name))
    elif isinstance(value, list | tuple):
        for item in value:
            _no_orm(item)


def test_assign_uses_the_context_and_refuses_with_data(pool: Settings) -> None:
    ctx = dataclasses.replace(context(pool), actor="li.na")
    fid = finding_on(pool, "hz-jw")
    before = snapshot(pool)
    with pytest.raises(ConflictOfInterest) as refused:
        service.assign(ctx, "王强", role=AssignmentRole.evaluator, finding_id=fid,
                       run_id=None, override=None)
    assert snapshot(pool) == before
    exc = refused.value
    assert (exc.expert, exc.role, exc.unit, exc.target) == (
        "王强", AssignmentRole.evaluator, "hz-jw", f"finding #{fid}")
    assert exc.reasons == ("conflict of interest: works for hz-fg, which is under hz-jw",)
    assert "--" not in str(exc)

    done = service.assign(ctx, "王强", role=AssignmentRole.evaluator, finding_id=fid,
                          run_id=None, override="经处长批准")
    _no_orm(done)
    assert (done.expert_name, done.override_reason, done.created_at) == ("王强", "经处长批准",
                                                                         AT)
    with read_session(pool) as session:
        stored = session.exec(select(Assignment)).one()
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "experts.assigned")).one()
    assert stored.actor == event.actor == "li.na"
    assert json.loads(event.payload)["overridden"] == list(exc.reasons)

    released = service.release(ctx, done.id)
    assert not released.open and released.expert_name == "王强"


def test_service_errors_name_no_flags(pool: Settings, tmp_path: Path) -> None:
    ctx = context(pool)
    fid = finding_on(pool, "nb-jw")
    errors: list[Exception] = []
    for act in (
        lambda: service.assign(ctx, "周杰", role=AssignmentRole.responder, finding_id=fid,
                               run_id=None, override="x"),
        lambda: service.retire(ctx, "周杰", reason=None),
        lambda: service.assign(ctx, "张伟", role=AssignmentRole.responder, finding_id=None,
                               run_id=None, override=None),
        lambda: service.assign(ctx, "张伟", role=AssignmentRole.responder, finding_id=fid,
                               run_id=None, override="  "),
        lambda: service.check_plan(ctx, None),
        lambda: service.repair_plan(ctx, 9, dry_run=True),
        lambda: service.match(ctx, skills=(("web", 1),), city=None, unit=None, count=0,
                              at=None, show_contacts=False),
        lambda: service.list_experts(ctx, ExpertFilter(), show_contacts=True),
        lambda: service.export_oncall(ctx, plan_id=None, path=tmp_path / "x.ics",
                                      show_contacts=False),
    ):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - each its own kind
            act()
        errors.append(caught.value)
    kinds = [type(e) for e in errors]
    assert kinds[:2] == [ExpertRetired, ExpertRetired]
    assert kinds[4:6] == [NoPlan, NoPlan] and kinds[7] is ContactsRefused
    assert isinstance(errors[0], ExpertRetired) and not errors[0].already
    assert isinstance(errors[1], ExpertRetired) and errors[1].already
    for error in errors:
        assert "--" not in str(error), str(error)

    saved = service.oncall_plan(ctx, first_day=date(2026, 12, 1), last_day=date(2026, 12, 3),
                                per_shift=1, require=(), pattern="08:00-20:00,20:00-08:00",
                                replace=False, seed=0, rest_hours=8.0)
    assert (saved.plan.id, saved.shifts, saved.plan.actor) == (1, 6, "tester")
    assert [p.id for p in service.plans(ctx)] == [1]
    shown = service.show_plan(ctx, None)
    _no_orm(shown)
    assert len(shown.shifts) == 6 and all(len(s.crew) == 1 for s in shown.shifts)
    assert service.check_plan(ctx, 1).conflicts == []
    assert service.repair_plan(ctx, None, dry_run=True).conflicts == 0
    with pytest.raises(PlanOverlaps) as overlap:
        service.oncall_plan(ctx, first_day=date(2026, 12, 2), last_day=date(2026, 12, 4),
                            per_shift=1, require=(), pattern="08:00-20:00,20:00-08:00",
                            replace=False, seed=0, rest_hours=8.0)
    assert overlap.value.plan_id == 1 and "--" not in str(overlap.value)


def test_contacts_only_for_viewers_and_each_view_audited_with_the_read(
        pool: Settings) -> None:
    masked = service.match(context(pool), skills=(("forensics", 2),), city=None, unit=None,
                           count=5, at=None, show_contacts=False)
    assert {m.candidate.phone for m in masked.ranked} >= {"138****5678"}
    before = snapshot(pool)
    with pytest.raises(ContactsRefused):
        service.show(context(pool), "1", show_contacts=True)
    assert snapshot(pool) == before

    ctx = context(pool, viewers=["tester"])
    shown = service.show(ctx, "1", show_contacts=True)
    _no_orm(shown)
    assert shown.expert.phone == "13812345678" and not shown.expert.contacts_masked
    open_ = service.match(ctx, skills=(("forensics", 2),), city=None, unit=None, count=5,
                          at=None, show_contacts=True)
    assert "13812345678" in {m.candidate.phone for m in open_.ranked}
    with read_session(pool) as session:
        seen = [(e.actor, e.at, json.loads(e.payload)["where"]) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "experts.contacts_viewed"))]
    assert seen == [("tester", AT, "experts show"), ("tester", AT, "experts match")]
