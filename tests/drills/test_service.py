"""The drills' action layer (``drills.service``) and its one vocabulary of events."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from sqlmodel import col, select

from drills import service, store
from drills.durations import clock_text
from drills.engine import Engine, EngineOptions
from drills.events import QUIET, EventKind, describe, plain
from drills.loader import load_playbook
from drills.script import load_script
from garrison.actions import ActionContext, Policies, action_context
from garrison.clock import FixedClock
from garrison.db import read_session
from garrison.findings.sla import SlaPolicy
from garrison.models import AuditEvent, DrillEvent, DrillState, Finding, FindingSource, Severity
from garrison.settings import Settings
from tests.conftest import FIXTURES, REPO

PLAYBOOK = FIXTURES / "drills" / "opinion.yaml"
RESPONSES = FIXTURES / "drills" / "opinion.fast.yaml"
AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _started(ctx: ActionContext, *, clock: str = "step", script: bool = False) -> int:
    loaded = load_playbook(PLAYBOOK)
    items = load_script(RESPONSES, loaded) if script else []
    return service.start(ctx, loaded, clock=service.parse_clock(clock), auto=True,
                         script=items)


def _audit(settings: Settings) -> list[AuditEvent]:
    with read_session(settings) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())


def test_every_action_runs_on_the_contexts_clock_and_is_audited(sqlite_org: Settings) -> None:
    ctx = replace(action_context(sqlite_org), clock=FixedClock(AT), actor="coordinator")
    run_id = _started(ctx, clock="wall")
    recorded = service.respond(ctx, run_id, team="opinion", does="acknowledge", step=None,
                               note="收到", level=None)
    assert recorded.drill_at is None  # this process owns the run: its engine stamps it
    paused = service.pause(ctx, run_id, reason=None)
    assert (paused.state, paused.drill_at) == (DrillState.paused, 0.0)
    service.adjust(ctx, run_id, team="city", points=2, reason="演练准备充分")
    resumed = service.resume(ctx, run_id, clock=None, auto=None)
    assert resumed.engine == store.me()  # the (live) engine carries on
    with pytest.raises(service.RunDriven):  # its clock cannot be changed from elsewhere
        service.resume(ctx, run_id, clock=service.parse_clock("step"), auto=None)
    aborted = service.abort(ctx, run_id, reason="演练取消")
    assert aborted.state is DrillState.aborted
    actions = [(a.action, a.actor, a.at) for a in _audit(sqlite_org)
               if a.action.startswith("drill.")]
    assert actions == [(name, "coordinator", AT) for name in (
        "drill.started", "drill.response", "drill.paused", "drill.adjusted", "drill.running",
        "drill.aborted")]
    shown = service.show(ctx, run_id)
    assert shown.started_at == AT and shown.ended and shown.engine is None
    assert [e.kind for e in shown.events] == [
        EventKind.state, EventKind.response, EventKind.state, EventKind.adjust,
        EventKind.state, EventKind.state]
    assert service.timeline(ctx, run_id) == shown.events
    (row,) = service.list_runs(ctx, limit=10)
    assert (row.id, row.unit, row.clock, row.state) == (run_id, "hz-jw", "wall",
                                                        DrillState.aborted)


def test_resume_without_an_engine_runs_it_again_on_the_clock_asked(
        sqlite_org: Settings) -> None:
    ctx = replace(action_context(sqlite_org), clock=FixedClock(AT))
    run_id = _started(ctx, clock="wall")
    service.pause(ctx, run_id, reason=None)
    later = replace(ctx, clock=FixedClock(AT + timedelta(minutes=5)))  # its engine is gone
    resumed = service.resume(later, run_id, clock=service.parse_clock("step"), auto=True)
    assert (resumed.engine, resumed.clock_mode, resumed.auto) == (None, "step", True)
    shown = service.show(later, run_id)
    assert shown.state is DrillState.running and shown.engine is None
    assert [e.action for e in shown.events if e.kind == EventKind.state] == [
        "started", "paused", "running", "clock"]


def test_a_run_paused_as_it_starts_stays_paused_for_its_engine(sqlite_org: Settings) -> None:
    """``drill pause`` between the start and the engine's first look is not undone: the
    engine takes the run over and waits for ``drill resume``."""
    ctx = action_context(sqlite_org)
    run_id = _started(ctx, clock="fast:60")
    service.pause(ctx, run_id, reason=None)
    Engine(ctx, run_id, EngineOptions(poll=0.01, max_wall=0.2)).drive()
    assert service.show(ctx, run_id).state is DrillState.paused


def test_refusals_carry_data_and_name_no_flag(sqlite_org: Settings) -> None:
    ctx = action_context(sqlite_org)
    run_id = _started(ctx)

    def refused(**change: object) -> service.InputRefused:
        args: dict[str, object] = {"team": "opinion", "does": "classify", "step": None,
                                   "note": None, "level": None, **change}
        with pytest.raises(service.InputRefused) as caught:
            service.respond(ctx, run_id, **args)  # type: ignore[arg-type]
        assert "--" not in str(caught.value)
        return caught.value

    assert refused(team="opinon").field == "team"
    assert refused(step="clasify").field == "step"
    assert refused(does="Make Statement").field == "does"
    level = refused(level="huge")
    assert (level.field, level.value, level.allowed) == ("level", "huge",
                                                         service.CLASSIFY_LEVELS)
    assert refused(does="statement", level="serious").goes_with == ("does", "classify")
    for points, reason, field in ((0, "x", "points"), (3, " ", "reason")):
        with pytest.raises(service.InputRefused) as caught:
            service.adjust(ctx, run_id, team="city", points=points, reason=reason)
        assert caught.value.field == field and "--" not in str(caught.value)
    with pytest.raises(service.BadClock) as clock:
        service.parse_clock("fast")
    assert clock.value.value == "fast" and "--" not in clock.value.message
    with pytest.raises(service.UnknownFormat):
        service.report(ctx, run_id, fmt="pdf")
    service.abort(ctx, run_id, reason=None)
    ended = refused(does="statement")
    assert ended.allowed == ("lesson",)
    with pytest.raises(service.RunEnded):
        service.pause(ctx, run_id, reason=None)


def test_missed_expectations_become_findings_with_the_deployments_deadline(
        sqlite_org: Settings) -> None:
    """The engine raises a drill's findings through the context's deadline policy, not a
    built-in one: medium findings are due in 5 days here (the default is 90)."""
    days = dict.fromkeys(Severity) | {Severity.medium: 5}
    base = action_context(sqlite_org)
    ctx = replace(base, clock=FixedClock(AT), policies=Policies(
        sla=SlaPolicy(days=days), max_acceptance_days=base.policies.max_acceptance_days))
    run_id = _started(ctx)  # nobody answers: the classify expectation is missed
    Engine(ctx, run_id, EngineOptions(poll=0.01, max_wall=60)).drive()
    with read_session(sqlite_org) as session:
        raised = session.exec(select(Finding).where(
            Finding.source == FindingSource.drill)).all()
    assert raised and {f.severity for f in raised} == {Severity.medium}
    assert {f.due_at for f in raised} == {AT + timedelta(days=5)}


def test_every_stored_kind_is_in_the_vocabulary(org: Settings) -> None:
    ctx = action_context(org)
    run_id = _started(ctx, script=True)
    service.drive(ctx, run_id, out=None, prompt=None)
    service.respond(ctx, run_id, team="opinion", does="lesson", step=None, note="复盘",
                    level=None)
    with read_session(org) as session:
        kinds = set(session.exec(select(DrillEvent.kind)).all())
    assert kinds <= set(EventKind)
    assert {EventKind.response, EventKind.state, EventKind.verdict} <= kinds


def test_the_printer_the_console_and_the_report_say_each_event_alike(
        sqlite_org: Settings) -> None:
    """One formatter (``events.describe``): every timeline line the engine prints is the
    stored event's description, and the report says the same without the team and step
    (its own columns)."""
    from drills.report import build_report
    from drills.store import get_run
    from tui.widgets.drill_console import event_line

    ctx = action_context(sqlite_org)
    run_id = _started(ctx, script=True)
    out = Console(record=True, width=300, color_system=None)
    outcome = service.drive(ctx, run_id, out=out, prompt=None)
    assert outcome.state is DrillState.done and outcome.scores["opinion"] == 60
    printed = [line.strip() for line in out.export_text().splitlines()
               if re.match(r"\s+T\+", line) and " running " not in line]
    events = service.timeline(ctx, run_id)
    said = {f"{clock_text(e.drill_at)}  {plain(describe(e) or [])}" for e in events
            if e.drill_at is not None and e.kind not in QUIET}
    assert printed and set(printed) <= said
    assert "T+00:10:00  met opinion classify (classify) +10" in printed
    console = [line.plain for e in events if (line := event_line(e)) is not None]
    assert set(printed) <= {line.split("  — ")[0] for line in console}
    with read_session(sqlite_org) as session:
        report = build_report(session, get_run(session, run_id), now=ctx.now())
    texts = {(entry.kind, entry.text) for entry in report.timeline}
    assert (EventKind.verdict, "met classify +10") in texts
    assert (EventKind.response, "statement: 已发布情况通报") in texts


def test_the_front_ends_import_no_database_module() -> None:
    """The CLI, the drills screen and the drill console go through the service."""
    forbidden = re.compile(r"^\s*(from|import)\s+(garrison\.db|sqlalchemy|sqlmodel|sqlite3|"
                           r"drills\.store|drills\.engine)\b", re.MULTILINE)
    for path in ("drills/cli.py", "tui/screens/drills.py", "tui/widgets/drill_console.py"):
        assert forbidden.findall((REPO / path).read_text(encoding="utf-8")) == [], path
