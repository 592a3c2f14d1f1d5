"""Drill runs in the database: start, responses, adjustments, state, replay.

Every function here is one user action in the caller's transaction (``write_session``)
and audits what it changes. The engine (``drills.engine``) and the commands a team
runs from other terminals (``drill respond``, ``pause``, ``abort``) meet only here,
in the database, so a killed engine loses nothing that was recorded.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from drills.events import EventKind, RunChange
from drills.loader import LoadedPlaybook, load_playbook_text
from drills.schema import KNOWN_ACTIONS, Playbook
from drills.sim import Derived, Input, Sim
from garrison import audit
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.lookup import get_or_not_found
from garrison.models import DrillEvent, DrillRun, DrillState
from garrison.org.queries import get_unit
from garrison.words import did_you_mean

HEARTBEAT_STALE = timedelta(seconds=10)
"""An engine silent this long is taken to be gone (``drill resume`` may take over)."""
CLASSIFY_LEVELS = ("especially-serious", "serious", "relatively-serious", "general")
ENDED = (DrillState.done, DrillState.aborted, DrillState.failed)
MAX_POINTS = 10_000
"""The largest adjustment a referee may make, either way."""


class BadClock(GarrisonError):
    """A drill clock that is not ``wall``, ``step`` or ``fast:N``; ``value`` is the text
    given (each front-end names its own option)."""

    def __init__(self, value: str) -> None:
        super().__init__(_("{v!r} is not a drill clock: use wall, step or fast:N (N from 1 to "
                           "1000000, e.g. fast:60 runs an hour of drill time per minute)"
                           ).format(v=value))
        self.value = value


class InputRefused(GarrisonError):
    """A response or adjustment the run does not take. Carries data for the front-ends:
    ``field`` (``team``, ``step``, ``does``, ``level``, ``reason``, ``points``) is what
    is wrong, ``value`` what was given, ``allowed`` the values it may take here (when
    few), ``goes_with`` the field and value it needs (a level goes with ``does``
    ``classify``). The text names no command-line flag."""

    def __init__(self, message: str, *, field: str, value: object,
                 allowed: tuple[str, ...] = (), goes_with: tuple[str, str] | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field, self.value, self.allowed, self.goes_with = field, value, allowed, goes_with


class RunEnded(GarrisonError):
    """The run has ended (``state``): nothing about it can change but its lessons."""

    def __init__(self, message: str, *, run_id: int, state: DrillState,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id, self.state = run_id, state


class NothingToChange(GarrisonError):
    """The run is in the state asked for already."""

    def __init__(self, message: str, *, run_id: int, state: DrillState) -> None:
        super().__init__(message)
        self.run_id, self.state = run_id, state


class RunDriven(GarrisonError):
    """The run is being driven by a live engine (``owner``), which this action would
    have to take over."""

    def __init__(self, message: str, *, run_id: int, owner: str | None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id, self.owner = run_id, owner


@dataclass(frozen=True)
class ClockMode:
    """``wall`` (live), ``fast:N`` (N drill seconds per second) or ``step``."""

    mode: str
    speed: float

    @classmethod
    def parse(cls, text: str) -> ClockMode:
        text = text.strip().lower()
        if text == "wall":
            return cls("wall", 1.0)
        if text == "step":
            return cls("step", 0.0)
        if text.startswith("fast:"):
            try:
                speed = float(text.split(":", 1)[1])
            except ValueError:
                speed = 0.0
            if 1 <= speed <= 1_000_000:
                return cls("fast", speed)
        raise BadClock(text)

    def __str__(self) -> str:
        return f"fast:{self.speed:g}" if self.mode == "fast" else self.mode


def me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def drill_time(run: DrillRun, now: datetime) -> float:
    """Drill seconds now, from the run's clock anchor (frozen unless running)."""
    if run.state is not DrillState.running or run.speed <= 0:
        return run.anchor_drill
    return run.anchor_drill + max(0.0, (now - run.anchor_wall).total_seconds()) * run.speed


def wall_time(run: DrillRun, at: float) -> datetime:
    """The wall time at which drill time ``at`` falls on the current clock segment."""
    if run.speed <= 0:
        return run.anchor_wall
    return run.anchor_wall + timedelta(seconds=(at - run.anchor_drill) / run.speed)


def engine_alive(run: DrillRun, now: datetime) -> bool:
    """Is some process driving this run right now?"""
    if run.owner is None or run.heartbeat_at is None or run.state in ENDED:
        return False
    if now - run.heartbeat_at > HEARTBEAT_STALE:
        return False
    host, _sep, pid = run.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


# ------------------------------------------------------------------ runs


def start_run(session: Session, loaded: LoadedPlaybook, *, clock: ClockMode, auto: bool,
              script: Sequence[dict[str, Any]], actor: str,
              now: datetime) -> DrillRun:
    pb = loaded.playbook
    unit = get_unit(session, pb.scope.unit)
    assert unit.id is not None
    run = DrillRun(playbook_id=pb.id, playbook_title=pb.title, playbook_sha256=loaded.sha256,
                   playbook_source=loaded.source,
                   playbook_path=str(loaded.path) if loaded.path else None, unit_id=unit.id,
                   clock_mode=clock.mode, speed=clock.speed, state=DrillState.running,
                   anchor_wall=now, anchor_drill=0.0, started_at=now, owner=me(),
                   heartbeat_at=now, auto=auto, script=list(script), actor=actor)
    session.add(run)
    session.flush()
    assert run.id is not None
    _state_event(session, run, RunChange.started, actor, now,
                 {"clock": str(clock), "auto": auto})
    audit.record(session, actor=actor, action="drill.started", subject=f"drill:{run.id}",
                 payload={"playbook": pb.id, "sha256": loaded.sha256, "unit": unit.code,
                          "clock": str(clock), "scripted_responses": len(script)}, at=now)
    return run


def get_run(session: Session, run_id: int) -> DrillRun:
    return get_or_not_found(session, DrillRun, run_id, what=_("drill run"), kind="drill-run")


_PLAYBOOKS: dict[str, LoadedPlaybook] = {}


def playbook_of(run: DrillRun) -> LoadedPlaybook:
    """The run's stored playbook, parsed once per process (keyed by its hash)."""
    loaded = _PLAYBOOKS.get(run.playbook_sha256)
    if loaded is None:
        loaded = load_playbook_text(run.playbook_source, f"<playbook of drill run {run.id}>")
        if len(_PLAYBOOKS) >= 32:
            _PLAYBOOKS.clear()
        _PLAYBOOKS[run.playbook_sha256] = loaded
    return loaded


def _state_event(session: Session, run: DrillRun, what: RunChange, actor: str, now: datetime,
                 data: dict[str, Any] | None = None) -> None:
    assert run.id is not None
    at = drill_time(run, now)
    session.add(DrillEvent(run_id=run.id, key=f"state:{what}:{now.isoformat()}",
                           kind=EventKind.state,
                           drill_at=at, wall_at=now, action=what, actor=actor,
                           data={"drill_at": at, **(data or {})}))


def set_state(session: Session, run: DrillRun, state: DrillState, *, actor: str,
              reason: str | None = None, now: datetime) -> DrillRun:
    """Pause, resume (running again) or abort; the clock is re-anchored so drill time
    stands still while paused."""
    assert run.id is not None
    if run.state in ENDED:
        raise RunEnded(_("drill run {id} has ended ({s}); nothing to change").format(
            id=run.id, s=run.state.value), run_id=run.id, state=run.state,
            hint=_("`garrison drill report {id}` writes its report.").format(id=run.id))
    if run.state is state:
        raise NothingToChange(_("drill run {id} is already {s}").format(
            id=run.id, s=state.value), run_id=run.id, state=state)
    at = drill_time(run, now)
    run.anchor_drill, run.anchor_wall = at, now
    run.state = state
    if state in ENDED:
        run.finished_at, run.drill_end = now, at
    session.add(run)
    _state_event(session, run, RunChange(state.value), actor, now,
                 {"reason": reason} if reason else None)
    audit.record(session, actor=actor, action=f"drill.{state.value}", subject=f"drill:{run.id}",
                 payload={"drill_at": round(at, 3), "reason": reason}, at=now)
    return run


def change_clock(session: Session, run: DrillRun, clock: ClockMode | None,
                 auto: bool | None, *, actor: str, now: datetime) -> DrillRun:
    """Carry on at the current drill time on another clock (audited)."""
    at = drill_time(run, now)
    before = {"clock": run.clock_mode, "speed": run.speed, "auto": run.auto}
    if clock is not None:
        run.clock_mode, run.speed = clock.mode, clock.speed
    if auto is not None:
        run.auto = auto
    run.anchor_drill, run.anchor_wall = at, now
    session.add(run)
    after = {"clock": run.clock_mode, "speed": run.speed, "auto": run.auto}
    _state_event(session, run, RunChange.clock, actor, now, {"from": before, "to": after})
    audit.record(session, actor=actor, action="drill.clock_changed", subject=f"drill:{run.id}",
                 payload={"drill_at": round(at, 3), "from": before, "to": after}, at=now)
    return run


def claim(session: Session, run: DrillRun, *, engine: str, actor: str, now: datetime) -> None:
    """``engine`` (``host:pid``) drives the run from now on (audited when it takes the
    run over from another)."""
    previous = run.owner
    run.owner, run.heartbeat_at = engine, now
    session.add(run)
    if previous is not None and previous != engine:
        audit.record(session, actor=actor, action="drill.taken_over", subject=f"drill:{run.id}",
                     payload={"from": previous, "to": engine}, at=now)


# ------------------------------------------------------------------ inputs


def _known_ids(pb: Playbook, clocks: Sequence[Any]) -> list[str]:
    return ([s.id for s in pb.steps] + [p.id for p in pb.posts] + [e.id for e in pb.escalation]
            + [c.id for c in clocks])


def _check_names(loaded: LoadedPlaybook, team: str, step: str | None) -> None:
    pb = loaded.playbook
    if team not in pb.team_ids:
        raise InputRefused(_("no team {t!r} in this drill{hint}").format(
            t=team, hint=did_you_mean(team, pb.team_ids, cutoff=0.5)),
            field="team", value=team, allowed=tuple(pb.team_ids),
            hint=_("Teams: {t}.").format(t=", ".join(pb.team_ids)))
    ids = _known_ids(pb, loaded.clocks)
    if step is not None and step not in ids:
        raise InputRefused(_("no step, post, escalation or clock {s!r} in this drill{hint}")
                           .format(s=step, hint=did_you_mean(step, ids, cutoff=0.5)),
                           field="step", value=step,
                           hint=_("`garrison drill status RUN` lists them."))


def _stamp(run: DrillRun, now: datetime) -> float | None:
    """Drill time for an input recorded now: the frozen clock of a paused run; left to
    the engine if one is driving (it stamps it at its own current time, so nothing lands
    in its past); else the clock's."""
    if run.state is DrillState.paused:
        return run.anchor_drill
    return None if engine_alive(run, now) else drill_time(run, now)


def record_response(session: Session, run: DrillRun, *, team: str, does: str, actor: str,
                    step: str | None = None, note: str | None = None,
                    level: str | None = None, now: datetime,
                    key: str | None = None, drill_at: float | None = None) -> DrillEvent:
    """A team did something (``drill respond``); scripted responses pass their own
    ``key`` and ``drill_at``."""
    import re
    import uuid

    loaded = playbook_of(run)
    _check_names(loaded, team, step)
    if not re.match(r"^[a-z][a-z0-9-]{0,47}$", does):
        raise InputRefused(_("{d!r} is not an action name: lower-case letters, digits and "
                             "hyphens, e.g. {e}").format(d=does, e=", ".join(KNOWN_ACTIONS[:4])),
                           field="does", value=does)
    if level is not None and level not in CLASSIFY_LEVELS:
        raise InputRefused(_("{v!r} is not a level: use one of {levels}").format(
            v=level, levels=", ".join(CLASSIFY_LEVELS)), field="level", value=level,
            allowed=CLASSIFY_LEVELS)
    if level is not None and does != "classify":
        raise InputRefused(_("a level goes only with the classify action"), field="level",
                           value=level, goes_with=("does", "classify"))
    if run.state in ENDED and does != "lesson":
        raise InputRefused(_("drill run {id} has ended ({s}); only lessons can be added "
                             "now").format(id=run.id, s=run.state.value), field="does",
                           value=does, allowed=("lesson",))
    assert run.id is not None
    event = DrillEvent(run_id=run.id, key=key or f"response:{uuid.uuid4().hex}",
                       kind=EventKind.response, input=True,
                       drill_at=drill_at if drill_at is not None else (
                           run.drill_end if run.state in ENDED else _stamp(run, now)),
                       wall_at=now, team=team, step=step, action=does, actor=actor, note=note,
                       data={"level": level} if level else {})
    session.add(event)
    session.flush()
    audit.record(session, actor=actor, action="drill.response", subject=f"drill:{run.id}",
                 payload={"team": team, "step": step, "does": does, "note": note,
                          "level": level, "event": event.id}, at=now)
    return event


def record_adjustment(session: Session, run: DrillRun, *, team: str, points: float,
                      reason: str, actor: str, now: datetime) -> DrillEvent:
    """A referee's adjustment of a team's score, with the reason (audited)."""
    import uuid

    _check_names(playbook_of(run), team, None)
    if not reason.strip():
        raise InputRefused(_("an adjustment needs a reason"), field="reason", value=reason)
    if not -MAX_POINTS <= points <= MAX_POINTS or points == 0:
        raise InputRefused(_("the points must be a non-zero number between {lo} and {hi}")
                           .format(lo=-MAX_POINTS, hi=MAX_POINTS), field="points",
                           value=points)
    assert run.id is not None
    event = DrillEvent(run_id=run.id, key=f"adjust:{uuid.uuid4().hex}", kind=EventKind.adjust,
                       input=True,
                       drill_at=run.drill_end if run.state in ENDED else _stamp(run, now),
                       wall_at=now, team=team, actor=actor, note=reason.strip(),
                       data={"points": points})
    session.add(event)
    session.flush()
    audit.record(session, actor=actor, action="drill.adjusted", subject=f"drill:{run.id}",
                 payload={"team": team, "points": points, "reason": reason.strip()}, at=now)
    return event


def record_input(session: Session, run: DrillRun, *, key: str, kind: EventKind, at: float,
                 step: str | None = None, team: str | None = None, action: str | None = None,
                 note: str | None = None, data: dict[str, Any] | None = None,
                 now: datetime) -> DrillEvent:
    """An input the engine produced (an action's result, an automatic check)."""
    assert run.id is not None
    event = DrillEvent(run_id=run.id, key=key, kind=kind, input=True, drill_at=at,
                       wall_at=now, team=team, step=step, action=action,
                       actor="garrison", note=note, data=data or {})
    session.add(event)
    session.flush()
    return event


def as_input(event: DrillEvent) -> Input:
    assert event.drill_at is not None
    return Input(at=event.drill_at, kind=event.kind, key=event.key, team=event.team,
                 step=event.step, does=event.action, level=event.data.get("level"),
                 note=event.note, data=event.data)


def stored_inputs(session: Session, run: DrillRun) -> list[DrillEvent]:
    """Every input event of the run, stamped or not, in the order they were recorded."""
    return list(session.exec(select(DrillEvent).where(
        DrillEvent.run_id == run.id, col(DrillEvent.input).is_(True))
        .order_by(col(DrillEvent.id))).all())


def stamp_pending(session: Session, run: DrillRun) -> list[DrillEvent]:
    """Stamp the inputs recorded while no engine was listening with their own time on
    the run's clock (never before what was derived already); return every input of the
    run, in recorded order."""
    events = stored_inputs(session, run)
    pending = [e for e in events if e.drill_at is None]
    if pending:
        horizon = derived_horizon(session, run)
        for event in pending:
            event.drill_at = max(drill_time(run, event.wall_at), horizon)
            session.add(event)
    return events


def ordered(events: Sequence[DrillEvent]) -> list[DrillEvent]:
    """Stamped inputs in drill-time order (ties: as recorded)."""
    stamped = [e for e in events if e.drill_at is not None]
    return sorted(stamped, key=lambda e: (e.drill_at or 0.0, e.id or 0))


def input_keys(session: Session, run: DrillRun) -> set[str]:
    return set(session.exec(select(DrillEvent.key).where(
        DrillEvent.run_id == run.id, col(DrillEvent.input).is_(True))).all())


def derived_horizon(session: Session, run: DrillRun) -> float:
    """How far the last engine got: the latest drill time of a derived event."""
    from sqlalchemy import func

    value = session.exec(select(func.max(DrillEvent.drill_at)).where(
        DrillEvent.run_id == run.id, col(DrillEvent.input).is_(False))).one()
    return float(value or 0.0)


def derived_keys(session: Session, run: DrillRun) -> set[str]:
    return set(session.exec(select(DrillEvent.key).where(
        DrillEvent.run_id == run.id, col(DrillEvent.input).is_(False))).all())


def write_derived(session: Session, run: DrillRun, events: Sequence[Derived],
                  known: set[str], now: datetime) -> list[Derived]:
    """Store the derived events not stored yet; return those written."""
    from sqlalchemy import insert

    assert run.id is not None
    written, rows = [], []
    for d in events:
        if d.key in known:
            continue
        known.add(d.key)
        wall = wall_time(run, d.at) if run.speed > 0 and run.state is DrillState.running \
            else now
        rows.append({"run_id": run.id, "key": d.key, "kind": d.kind, "input": False,
                     "drill_at": d.at, "wall_at": min(wall, now), "team": d.team,
                     "step": d.step, "action": d.action, "actor": None, "note": d.note,
                     "data": dict(d.data)})
        written.append(d)
    if rows:  # one executemany, not an ORM object per event
        session.execute(insert(DrillEvent), rows)
    return written


# ------------------------------------------------------------------ replay


@dataclass
class Replay:
    """A run's state recomputed from its stored inputs."""

    run: DrillRun
    loaded: LoadedPlaybook
    sim: Sim
    events: list[DrillEvent]
    """Every stored event (inputs and derived), in recorded order."""


def replay(session: Session, run: DrillRun, *, now: datetime, until: float | None = None
           ) -> Replay:
    """Feed a fresh simulation every stamped input; advance it to ``until`` (default:
    where the run is now, or where it ended)."""
    loaded = playbook_of(run)
    sim = Sim(loaded.playbook, loaded.clocks)
    all_events = list(session.exec(select(DrillEvent).where(DrillEvent.run_id == run.id)
                                   .order_by(col(DrillEvent.id))).all())
    inputs = ordered([e for e in all_events if e.input])
    if until is None:
        until = run.drill_end if run.drill_end is not None else drill_time(run, now)
    for event in inputs:
        if (event.drill_at or 0.0) <= until + 1e-6:
            sim.apply(as_input(event))
    sim.advance(max(until, sim.t))
    return Replay(run, loaded, sim, all_events)
