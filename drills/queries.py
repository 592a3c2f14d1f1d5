"""Reads of drill runs, in the caller's session, as plain data the front-ends show.

``drills.service`` opens the session (``list_runs``, ``show``, ``timeline``); the
results hold no ORM object, so a TUI worker can hand them to the screen's thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlmodel import Session, col, select

from drills import store
from drills.events import clock_name
from garrison.models import DrillEvent, DrillRun, DrillState, Unit

if TYPE_CHECKING:
    from drills.loader import LoadedPlaybook
    from drills.sim import Sim


@dataclass(frozen=True)
class RunRow:
    """A run as the run lists show it (``garrison drill runs``, the drills screen)."""

    id: int
    playbook_id: str
    title: str
    unit: str
    clock_mode: str
    speed: float
    auto: bool
    state: DrillState
    drill_time: float
    engine: str | None
    """The process driving it (``host:pid``), if one is alive."""
    started_at: datetime
    scores: dict[str, float]

    @property
    def clock(self) -> str:
        """``wall``, ``fast:60``, ``step``, ``step auto``."""
        return clock_name(self.clock_mode, self.speed, self.auto)

    @property
    def plain_clock(self) -> str:
        """``wall``, ``fast:60``, ``step``: the clock without its ``auto``."""
        return clock_name(self.clock_mode, self.speed, False)


@dataclass(frozen=True)
class EventRecord:
    """A stored ``DrillEvent``, copied out of its session."""

    id: int
    key: str
    kind: str
    """An ``EventKind`` value."""
    input: bool
    drill_at: float | None
    """None: a response the engine has not stamped yet."""
    wall_at: datetime
    team: str | None
    step: str | None
    action: str | None
    actor: str | None
    note: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: DrillEvent) -> EventRecord:
        return cls(event.id or 0, event.key, event.kind, event.input, event.drill_at,
                   event.wall_at, event.team, event.step, event.action, event.actor,
                   event.note, dict(event.data or {}))


@dataclass(frozen=True)
class RunStatus:
    """Where a run is: its facts, its replayed simulation and its stored timeline."""

    id: int
    playbook_id: str
    title: str
    state: DrillState
    clock_mode: str
    speed: float
    auto: bool
    clock: str
    owner: str | None
    engine: str | None
    """The owner, if its engine is alive."""
    started_at: datetime
    loaded: LoadedPlaybook
    sim: Sim
    """The run replayed from its inputs up to now (or its end)."""
    events: tuple[EventRecord, ...]
    """Every stored event, inputs and derived, in recorded order."""

    @property
    def ended(self) -> bool:
        return self.state in store.ENDED

    @property
    def unstamped(self) -> int:
        """Responses waiting for the engine to stamp them."""
        return sum(1 for e in self.events if e.input and e.drill_at is None)


def list_runs(session: Session, *, now: datetime, limit: int | None) -> list[RunRow]:
    """Runs, newest first (at most ``limit``), without their playbook text or script."""
    from sqlalchemy.orm import QueryableAttribute, defer

    query = (select(DrillRun, Unit.code).join(Unit, col(Unit.id) == col(DrillRun.unit_id))
             .options(*(defer(cast("QueryableAttribute[Any]", big))
                        for big in (DrillRun.playbook_source, DrillRun.script)))
             .order_by(col(DrillRun.id).desc()))
    if limit is not None:
        query = query.limit(limit)
    return [RunRow(run.id or 0, run.playbook_id, run.playbook_title, code,
                   run.clock_mode, run.speed, run.auto, run.state,
                   store.drill_time(run, now),
                   run.owner if store.engine_alive(run, now) else None, run.started_at,
                   dict(run.summary.get("scores", {})))
            for run, code in session.exec(query).all()]


def run_status(session: Session, run_id: int, *, now: datetime) -> RunStatus:
    run = store.get_run(session, run_id)
    rep = store.replay(session, run, now=now)
    assert run.id is not None
    return RunStatus(
        id=run.id, playbook_id=run.playbook_id, title=run.playbook_title, state=run.state,
        clock_mode=run.clock_mode, speed=run.speed, auto=run.auto,
        clock=clock_name(run.clock_mode, run.speed, run.auto), owner=run.owner,
        engine=run.owner if store.engine_alive(run, now) else None,
        started_at=run.started_at, loaded=rep.loaded, sim=rep.sim,
        events=tuple(EventRecord.of(e) for e in rep.events))


def run_events(session: Session, run_id: int) -> tuple[EventRecord, ...]:
    """The run's stored timeline in recorded order (inputs and derived)."""
    run = store.get_run(session, run_id)
    return tuple(EventRecord.of(e) for e in session.exec(
        select(DrillEvent).where(DrillEvent.run_id == run.id)
        .order_by(col(DrillEvent.id))).all())


def run_summary(session: Session, run_id: int) -> tuple[DrillState, dict[str, float]]:
    """A run's state and, once it has ended, its scores."""
    run = store.get_run(session, run_id)
    return run.state, dict(run.summary.get("scores", {}))


__all__ = ["EventRecord", "RunRow", "RunStatus", "list_runs", "run_events",
           "run_status", "run_summary"]
