"""Findings and their status history."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime, enum_type, json_type, utcnow


class Severity(enum.StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


class FindingStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    fixed = "fixed"
    verified = "verified"
    accepted_risk = "accepted_risk"
    false_positive = "false_positive"


class FindingSource(enum.StrEnum):
    scan = "scan"
    drill = "drill"
    import_ = "import"
    manual = "manual"


class Finding(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=128, unique=True, index=True)
    """Dedup key: the same problem on the same thing is one finding."""
    rule_id: str = Field(max_length=100, index=True)
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_type=sa.Text)
    remediation: str | None = Field(default=None, sa_type=sa.Text)
    severity: Severity = Field(sa_type=enum_type(Severity), index=True)
    source: FindingSource = Field(sa_type=enum_type(FindingSource))
    unit_id: int = Field(foreign_key="unit.id", index=True)
    asset_id: int | None = Field(default=None, foreign_key="asset.id", ondelete="SET NULL")
    service_id: int | None = Field(default=None, foreign_key="service.id", ondelete="SET NULL")
    owner: str = Field(max_length=100, index=True)
    status: FindingStatus = Field(
        default=FindingStatus.open, sa_type=enum_type(FindingStatus), index=True
    )
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_seen: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    cvss_vector: str | None = Field(default=None, max_length=200)
    cwe: str | None = Field(default=None, max_length=20)
    references: list[str] = Field(default_factory=list, sa_type=json_type())
    accepted_until: date | None = None
    accepted_by: str | None = Field(default=None, max_length=100)


class FindingEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    from_status: FindingStatus | None = Field(default=None, sa_type=enum_type(FindingStatus))
    to_status: FindingStatus = Field(sa_type=enum_type(FindingStatus))
    note: str | None = Field(default=None, sa_type=sa.Text)
