"""The organisation tree and the address ranges each unit authorised."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime, enum_type


class UnitLevel(enum.StrEnum):
    province = "province"
    city = "city"
    county = "county"
    bureau = "bureau"
    unit = "unit"


class UnitBase(SQLModel):
    code: str = Field(max_length=64, unique=True, index=True)
    """Stable slug (``hz-jw``); the key re-imports update by."""
    name: str = Field(max_length=200)
    level: UnitLevel = Field(sa_type=enum_type(UnitLevel))
    officer_name: str = Field(max_length=100)
    """The responsible officer: whoever is in charge is responsible."""
    officer_phone: str | None = Field(default=None, max_length=40)
    officer_email: str | None = Field(default=None, max_length=200)


class Unit(UnitBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ScopeBase(SQLModel):
    cidr: str = Field(max_length=64)
    """Normalised network (``127.0.1.0/24``; a single host is a /32 or /128)."""
    authorized_by: str = Field(max_length=200)
    """The letter or decision that authorised scanning this range."""
    valid_from: date | None = None
    valid_until: date | None = None
    """Last day (inclusive) the authorisation holds; open-ended when empty."""
    max_rate: int | None = None
    """Packets per second a scan of this range may not exceed."""
    note: str | None = Field(default=None, max_length=500)


class Scope(ScopeBase, table=True):
    __table_args__ = (sa.UniqueConstraint("unit_id", "cidr"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
