"""Drill runs and their timelines.

A ``DrillRun`` holds the playbook it runs (its YAML text and hash, so a run can be
resumed and reported whatever happens to the file), its clock, its state, and who
drives it. Its ``DrillEvent``s are the timeline: the *inputs* (team responses,
results of automated actions, referee adjustments, clock changes) from which the
drill's state is computed, and the *derived* events the engine wrote as they
happened (injects delivered, expectations judged). Every event has a key, unique in
its run, so a resumed engine that replays the drill writes nothing twice.

The drill clock: ``drill time = anchor_drill + (wall - anchor_wall) * speed`` while
the run is running; frozen at ``anchor_drill`` otherwise (``speed`` 0 for the
``step`` clock, which the engine moves itself).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime, enum_type, json_type


class DrillState(enum.StrEnum):
    running = "running"
    paused = "paused"
    done = "done"
    aborted = "aborted"
    failed = "failed"


class DrillRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    playbook_id: str = Field(max_length=64, index=True)
    playbook_title: str = Field(max_length=300)
    playbook_sha256: str = Field(max_length=64)
    playbook_source: str = Field(sa_type=sa.Text)
    """The playbook's YAML text as it was when the run started."""
    playbook_path: str | None = Field(default=None, max_length=1000)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    clock_mode: str = Field(max_length=8)
    """``wall``, ``fast`` or ``step``."""
    speed: float = 1.0
    """Drill seconds per wall second (``fast:60`` is 60; ``step`` is 0)."""
    state: DrillState = Field(default=DrillState.running, sa_type=enum_type(DrillState))
    anchor_wall: datetime = Field(sa_type=UTCDateTime)
    anchor_drill: float = 0.0
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    drill_end: float | None = None
    """Drill time at which the run ended."""
    owner: str | None = Field(default=None, max_length=200)
    """``host:pid`` of the process driving it."""
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    auto: bool = False
    """The step clock advances without waiting for the coordinator."""
    mode: str = Field(default="rehearsal", max_length=16,
                      sa_column_kwargs={"server_default": "exercise"})
    """``rehearsal`` (misses stay in the report) or ``exercise`` (an official drill:
    misses become drill findings of the teams' units)."""
    script: list[dict[str, Any]] = Field(default_factory=list, sa_type=json_type())
    """Scripted responses (``--responses FILE``), replayed at their drill times."""
    actor: str = Field(max_length=100)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    """Scores and verdicts when the run ended."""
    error: str | None = Field(default=None, sa_type=sa.Text)


class DrillEvent(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("run_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="drillrun.id", ondelete="CASCADE")
    key: str = Field(max_length=200)
    """Unique in the run: what makes a replayed event recognisable."""
    kind: str = Field(max_length=32)
    """``response``, ``action-result``, ``adjust``, ``state`` (inputs); ``inject``,
    ``fired``, ``post``, ``verdict``, ``escalation``, ``clock`` ... (derived)."""
    input: bool = False
    """True for what the drill's state is computed from."""
    drill_at: float | None = None
    """Drill time in seconds; None for a response the engine has not stamped yet."""
    wall_at: datetime = Field(sa_type=UTCDateTime)
    team: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    """The action done (``statement``, ``report-finding`` ...)."""
    actor: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
