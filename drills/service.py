"""Every user action on drills, one function each: the CLI, the TUI and the engine call
only these.

Each action takes an ``ActionContext`` (who acts, the clock, the deployment's
policies) and does the whole thing in one transaction with its audit event: starting a
run, a team's response, a referee's adjustment, pausing, resuming, aborting. The engine
(``drills.engine``) goes through here for what it does on a user's behalf: taking a
run over when it is run or resumed, pausing it on Ctrl-C. Drill time still comes from
the run's own clock (``store.ClockMode``: wall, fast:N, step), anchored on the
context's.

Results are plain data; errors carry data and neutral text (``InputRefused.field``
names what was wrong, ``BadClock.value`` the clock asked for), and each front-end
phrases them for its users (the CLI with its flags).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drills import queries, store
from drills.queries import EventRecord, RunRow, RunStatus
from drills.schema import KNOWN_ACTIONS, ProbeParams, ScanParams
from drills.store import (
    CLASSIFY_LEVELS,
    MAX_POINTS,
    BadClock,
    ClockMode,
    InputRefused,
    NothingToChange,
    RunDriven,
    RunEnded,
)
from garrison.db import read_session, write_session
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.models import DrillState

if TYPE_CHECKING:
    from rich.console import Console

    from drills.loader import LoadedPlaybook
    from garrison.actions import ActionContext

REPORT_FORMATS = ("md", "html")


@dataclass(frozen=True)
class Recorded:
    """A response or adjustment as recorded."""

    run_id: int
    event_id: int
    drill_at: float | None
    """None: an engine is driving the run and stamps it with its own drill time."""


@dataclass(frozen=True)
class Changed:
    """A run after a pause, a resume or an abort."""

    run_id: int
    state: DrillState
    drill_at: float
    """Drill time when it changed (where the clock stands still while paused)."""
    engine: str | None = None
    """The live engine that carries on (a resume of a run whose engine waits)."""


@dataclass(frozen=True)
class Resumption:
    """What ``resume`` did: the live engine carries on (``engine``), or none is alive and
    the caller drives the run (``drive``) on ``clock_mode`` / ``auto``."""

    run_id: int
    engine: str | None
    clock_mode: str
    auto: bool


@dataclass(frozen=True)
class Outcome:
    """A run as its engine left it (ended, paused, or handed to another engine)."""

    run_id: int
    state: DrillState
    scores: dict[str, float]


class UnknownFormat(GarrisonError):
    """A report format other than ``REPORT_FORMATS``; ``value`` is what was asked."""

    def __init__(self, value: str) -> None:
        super().__init__(_("{f!r} is not a report format: use {formats}").format(
            f=value, formats=" or ".join(REPORT_FORMATS)))
        self.value = value


# ------------------------------------------------------------------ starting and driving


def parse_clock(text: str) -> ClockMode:
    """The drill clock ``text`` names (``BadClock`` says why not)."""
    return ClockMode.parse(text)


def check_scope(ctx: ActionContext, loaded: LoadedPlaybook) -> None:
    """Every target the playbook names must be inside the unit's authorised scopes now:
    a drill that would be refused halfway is refused before it starts."""
    from garrison.org.queries import get_unit
    from garrison.scope import authorize

    pb = loaded.playbook
    targets = list(pb.scope.targets)
    for step in pb.steps:
        if step.action in ("scan", "probe"):
            params = step.params()
            assert isinstance(params, ScanParams | ProbeParams)
            targets += params.targets
    if targets:
        authorize(ctx.settings, unit_code=pb.scope.unit, targets=sorted(set(targets)))
    else:
        with read_session(ctx.settings) as session:  # the unit exists, at least
            get_unit(session, pb.scope.unit)


def start(ctx: ActionContext, loaded: LoadedPlaybook, *, clock: ClockMode, auto: bool,
          script: Sequence[Mapping[str, Any]]) -> int:
    """Create the run (after the scope guard approved every target it will touch), owned
    by this process; the run's id. ``drive`` then runs it."""
    check_scope(ctx, loaded)
    with write_session(ctx.settings) as session:
        run = store.start_run(session, loaded, clock=clock, auto=auto,
                              script=[dict(item) for item in script], actor=ctx.actor,
                              now=ctx.now())
        assert run.id is not None
        return run.id


def drive(ctx: ActionContext, run_id: int, *, out: Console | None,
          prompt: Callable[[str], None] | None) -> Outcome:
    """Drive the run in this process (``take_over``) until it ends, is paused from here
    (Ctrl-C, which propagates), or another engine takes it over. ``out`` receives the
    timeline, ``prompt`` is called before each step of a step clock that waits for the
    coordinator. A paused run stays paused until ``resume``."""
    from drills.engine import Engine, EngineOptions  # the engine calls this module

    Engine(ctx, run_id, EngineOptions(out=out, prompt=prompt)).drive()
    with read_session(ctx.settings) as session:
        state, scores = queries.run_summary(session, run_id)
    return Outcome(run_id, state, scores)


def _ended(run_id: int, state: DrillState) -> RunEnded:
    return RunEnded(_("drill run {id} has ended ({s})").format(id=run_id, s=state.value),
                    run_id=run_id, state=state,
                    hint=_("`garrison drill report {id}` writes its report.").format(id=run_id))


def take_over(ctx: ActionContext, run_id: int, *, engine: str) -> None:
    """The engine's side of running or resuming a run: ``engine`` (``host:pid``) owns
    it from now on (audited when it takes it from another). Refused if the run has
    ended or a live engine drives it; the responses recorded while none listened are
    stamped with their own time. A paused run stays paused (its engine waits for
    ``resume``): a pause made as the run started is not undone."""
    now = ctx.now()
    with write_session(ctx.settings) as session:
        run = store.get_run(session, run_id)
        if run.state in store.ENDED:
            raise _ended(run_id, run.state)
        if run.owner != engine and store.engine_alive(run, now):
            raise RunDriven(
                _("drill run {id} is being driven by {o}").format(id=run_id, o=run.owner),
                run_id=run_id, owner=run.owner,
                hint=_("Pause or abort it from here (`garrison drill pause {id}`); "
                       "resume takes over only a run whose engine is gone.").format(id=run_id))
        store.stamp_pending(session, run)
        store.claim(session, run, engine=engine, actor=ctx.actor, now=now)


# ------------------------------------------------------------------ what teams and referees do


def respond(ctx: ActionContext, run_id: int, *, team: str, does: str, step: str | None,
            note: str | None, level: str | None) -> Recorded:
    """Record what a team did, now (``InputRefused`` names what the run does not take)."""
    with write_session(ctx.settings) as session:
        run = store.get_run(session, run_id)
        event = store.record_response(session, run, team=team, does=does, step=step,
                                      note=note, level=level, actor=ctx.actor, now=ctx.now())
        assert event.id is not None
        return Recorded(run_id, event.id, event.drill_at)


def adjust(ctx: ActionContext, run_id: int, *, team: str, points: float,
           reason: str) -> Recorded:
    """A referee's adjustment of a team's score, with the reason."""
    with write_session(ctx.settings) as session:
        run = store.get_run(session, run_id)
        event = store.record_adjustment(session, run, team=team, points=points, reason=reason,
                                        actor=ctx.actor, now=ctx.now())
        assert event.id is not None
        return Recorded(run_id, event.id, event.drill_at)


# ------------------------------------------------------------------ the run's state


def _set_state(ctx: ActionContext, run_id: int, state: DrillState,
               reason: str | None) -> Changed:
    with write_session(ctx.settings) as session:
        run = store.get_run(session, run_id)
        store.set_state(session, run, state, actor=ctx.actor, reason=reason, now=ctx.now())
        return Changed(run_id, run.state, run.anchor_drill)


def pause(ctx: ActionContext, run_id: int, *, reason: str | None) -> Changed:
    """Stop the drill clock (a driving engine waits; responses are still recorded)."""
    return _set_state(ctx, run_id, DrillState.paused, reason)


def abort(ctx: ActionContext, run_id: int, *, reason: str | None) -> Changed:
    """End the drill now; its report covers what happened until here."""
    return _set_state(ctx, run_id, DrillState.aborted, reason)


def resume(ctx: ActionContext, run_id: int, *, clock: ClockMode | None,
           auto: bool | None) -> Resumption:
    """Continue a run. A paused run whose engine is alive and waiting carries on
    (``Resumption.engine``); its clock cannot be changed from here. With no engine
    alive, the run (paused, or running when its engine was killed) runs again, on
    ``clock`` / ``auto`` if given, the responses recorded meanwhile stamped with their
    own time -- and the caller drives it (``drive``)."""
    now = ctx.now()
    with write_session(ctx.settings) as session:
        run = store.get_run(session, run_id)
        if run.state in store.ENDED:
            raise _ended(run_id, run.state)
        if store.engine_alive(run, now):
            if run.state is DrillState.paused and clock is None and auto is None:
                store.set_state(session, run, DrillState.running, actor=ctx.actor, now=now)
                return Resumption(run_id, run.owner, run.clock_mode, run.auto)
            raise RunDriven(_("drill run {id} is running, driven by {o}").format(
                id=run_id, o=run.owner), run_id=run_id, owner=run.owner,
                hint=_("`garrison drill status {id}` shows it; pause or abort it first to "
                       "take it over.").format(id=run_id))
        store.stamp_pending(session, run)  # on the clock they were recorded on
        if run.state is DrillState.paused:
            store.set_state(session, run, DrillState.running, actor=ctx.actor, now=now)
        if clock is not None or auto is not None:
            store.change_clock(session, run, clock, auto, actor=ctx.actor, now=now)
        return Resumption(run_id, None, run.clock_mode, run.auto)


# ------------------------------------------------------------------ reads


def list_runs(ctx: ActionContext, *, limit: int | None) -> list[RunRow]:
    """Runs, newest first (``limit``: at most that many; None: all)."""
    with read_session(ctx.settings) as session:
        return queries.list_runs(session, now=ctx.now(), limit=limit)


def show(ctx: ActionContext, run_id: int) -> RunStatus:
    """Where a run is now: its facts, its replayed simulation, its stored timeline."""
    with read_session(ctx.settings) as session:
        return queries.run_status(session, run_id, now=ctx.now())


def timeline(ctx: ActionContext, run_id: int) -> tuple[EventRecord, ...]:
    """A run's stored events in recorded order (``events.describe`` says each)."""
    with read_session(ctx.settings) as session:
        return queries.run_events(session, run_id)


def report(ctx: ActionContext, run_id: int, *, fmt: str) -> str:
    """The after-action report as ``fmt`` (``md`` or ``html``), computed now."""
    from drills.report import build_report

    if fmt not in REPORT_FORMATS:
        raise UnknownFormat(fmt)
    with read_session(ctx.settings) as session:
        data = build_report(session, store.get_run(session, run_id), now=ctx.now())
    if fmt == "md":
        from drills.report_md import render
    else:
        from drills.report_html import render
    return render(data)


__all__ = ["CLASSIFY_LEVELS", "KNOWN_ACTIONS", "MAX_POINTS", "REPORT_FORMATS", "BadClock",
           "Changed", "ClockMode", "EventRecord", "InputRefused", "NothingToChange", "Outcome",
           "Recorded", "Resumption", "RunDriven", "RunEnded", "RunRow", "RunStatus",
           "UnknownFormat", "abort", "adjust", "check_scope", "drive", "list_runs",
           "parse_clock", "pause", "report", "respond", "resume", "show", "start",
           "take_over", "timeline"]
