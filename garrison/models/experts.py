"""The expert pool: experts, when they cannot be called, on-call rotations, assignments.

Skills and certifications are small JSON documents on the expert (``{"web": 3}``,
``[{"name": "CISP", "expires": "2028-06-30"}]``): a province's pool is a few thousand
people, read whole for matching, and the vocabulary is data (``expert_pool/data``).
Phone numbers and e-mail are personal data: shown masked unless an authorised actor
asks, and every unmasked view is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime, enum_type, json_type
from garrison.vocab import AssignmentRole as AssignmentRole


class Expert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=320, unique=True)
    """Stable identity for re-imports: the e-mail (lower-case), else ``name|organisation``."""
    name: str = Field(max_length=100)
    organisation: str = Field(max_length=200)
    home_unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    """The unit that employs the expert, if any (conflict of interest)."""
    city: str | None = Field(default=None, max_length=100)
    skills: dict[str, int] = Field(default_factory=dict, sa_type=json_type())
    """Skill -> level 1-3."""
    certifications: list[dict[str, Any]] = Field(default_factory=list, sa_type=json_type())
    """``[{"name": "CISP", "expires": "2028-06-30" | null}]``."""
    clearance: str | None = Field(default=None, max_length=50)
    languages: list[str] = Field(default_factory=list, sa_type=json_type())
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    notes: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Unavailability(SQLModel, table=True):
    """A period an expert cannot be called (leave, travel, illness)."""

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.id", index=True, ondelete="CASCADE")
    starts: datetime = Field(sa_type=UTCDateTime)
    ends: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=200)


class OnCallPlan(SQLModel, table=True):
    """A saved rotation: its period, shift pattern, requirements and the load spread.

    Ids are never reused (a replaced plan's id stays retired), so the iCalendar UIDs
    built from them stay unique in people's calendars."""

    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    starts: datetime = Field(sa_type=UTCDateTime)
    ends: datetime = Field(sa_type=UTCDateTime)
    per_shift: int
    request: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    """How it was asked for (shift pattern, required skills, time zone)."""
    spread: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    """Shifts per expert: min, max, and the counts."""
    created_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=100)


class OnCallShift(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="oncallplan.id", index=True, ondelete="CASCADE")
    expert_id: int = Field(foreign_key="expert.id", index=True)
    starts: datetime = Field(sa_type=UTCDateTime, index=True)
    ends: datetime = Field(sa_type=UTCDateTime)


class Assignment(SQLModel, table=True):
    """An expert called in: on a finding (incident response) or a drill run."""

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="expert.id", index=True)
    finding_id: int | None = Field(default=None, foreign_key="finding.id", index=True)
    drill_run_id: int | None = Field(default=None, foreign_key="drillrun.id", index=True)
    role: AssignmentRole = Field(sa_type=enum_type(AssignmentRole))
    open: bool = True
    """Counts towards the expert's current load until closed."""
    override_reason: str | None = Field(default=None, sa_type=sa.Text)
    """Set when a conflict of interest was overridden."""
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
