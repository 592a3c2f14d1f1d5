"""Findings and their status history."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime, enum_type, json_type
from garrison.vocab import FindingSource, FindingStatus, Severity

__all__ = ["EventKind", "Finding", "FindingEvent", "FindingSource", "FindingStatus",
           "RuleRecord", "Severity"]


class RuleRecord(SQLModel, table=True):
    """A risk rule as findings reference it: its text is stored once, not per finding.

    Rule packs live with the scanner; every scan or import writes the rules it used
    here, so the kernel (exports, the TUI) can show a finding's rationale and remedy
    without importing the scanner.
    """

    __tablename__ = "rule"

    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=300)
    severity: Severity = Field(sa_type=enum_type(Severity))
    rationale: str = Field(sa_type=sa.Text)
    remedy: str = Field(sa_type=sa.Text)
    cwe: str | None = Field(default=None, max_length=20)
    cvss_vector: str | None = Field(default=None, max_length=200)
    references: list[str] = Field(default_factory=list, sa_type=json_type())
    source: str = Field(max_length=500)
    """The rule file (and line) it was loaded from."""
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Finding(SQLModel, table=True):
    __table_args__ = (
        # covers the dashboard's counts by unit and severity, with the overdue share
        sa.Index("ix_finding_unit_id_status_severity_due_at",
                 "unit_id", "status", "severity", "due_at"),
        # the count of a title filter reads this, not the rows (the TUI's keystrokes)
        sa.Index("ix_finding_title_status", "title", "status"),
        # "has a risk acceptance expired?", asked before every read of the findings
        sa.Index("ix_finding_accepted_until", "accepted_until",
                 sqlite_where=sa.text("status = 'accepted_risk'"),
                 postgresql_where=sa.text("status = 'accepted_risk'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=255, unique=True)
    """Dedup key: the same problem on the same thing is one finding
    (``rule|unit|address|protocol/port`` for scan findings)."""
    rule_id: str = Field(max_length=100)
    """A rule in ``rule`` for scan findings; free text (e.g. ``manual``) otherwise."""
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_type=sa.Text)
    """Own text (manual findings); scan findings take the rule's rationale."""
    remediation: str | None = Field(default=None, sa_type=sa.Text)
    """Own text (manual findings); scan findings take the rule's remedy."""
    severity: Severity = Field(sa_type=enum_type(Severity))
    source: FindingSource = Field(sa_type=enum_type(FindingSource))
    unit_id: int = Field(foreign_key="unit.id")
    asset_id: int | None = Field(
        default=None, foreign_key="asset.id", ondelete="SET NULL", index=True
    )
    service_id: int | None = Field(default=None, foreign_key="service.id", ondelete="SET NULL")
    address: str | None = Field(default=None, max_length=64)
    protocol: str | None = Field(default=None, max_length=8)
    port: int | None = None
    owner: str = Field(max_length=100)
    status: FindingStatus = Field(
        default=FindingStatus.open, sa_type=enum_type(FindingStatus)
    )
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_seen: datetime = Field(sa_type=UTCDateTime, index=True)
    last_seen: datetime = Field(sa_type=UTCDateTime)
    status_changed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    cvss_vector: str | None = Field(default=None, max_length=200)
    cwe: str | None = Field(default=None, max_length=20)
    references: list[str] = Field(default_factory=list, sa_type=json_type())
    accepted_until: date | None = None
    accepted_by: str | None = Field(default=None, max_length=100)


class EventKind(enum.StrEnum):
    status = "status"
    """A status transition (from_status -> to_status)."""
    assign = "assign"
    """The owner changed (the note says from whom to whom)."""
    note = "note"
    """A comment; the status is unchanged."""


class FindingEvent(SQLModel, table=True):
    """The history of a finding: transitions, reassignments and notes."""

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", index=True, ondelete="CASCADE")
    kind: EventKind = Field(default=EventKind.status, sa_type=enum_type(EventKind))
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    from_status: FindingStatus | None = Field(default=None, sa_type=enum_type(FindingStatus))
    to_status: FindingStatus = Field(sa_type=enum_type(FindingStatus))
    note: str | None = Field(default=None, sa_type=sa.Text)
