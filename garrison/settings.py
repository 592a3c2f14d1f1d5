"""Deployment settings (pydantic-settings).

Precedence: command-line option (``--db``, ``--actor``) > environment
(``GARRISON_DB``, ``GARRISON_ACTOR``, ...) > default. The default database is a
SQLite file under the user's data directory, so a single officer needs no server;
a province-wide deployment points ``GARRISON_DB`` at PostgreSQL.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from garrison.clock import Clock, SystemClock, parse_clock
from garrison.dburl import default_db_path, default_db_url, normalise_db_url
from garrison.i18n import _

__all__ = ["Settings", "default_db_path", "default_db_url"]


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        return "unknown"


def _to_clock(value: Any) -> Any:
    return parse_clock(value) if isinstance(value, str) else value


class Settings(BaseSettings):
    """Settings for one Garrison process."""

    model_config = SettingsConfigDict(env_prefix="GARRISON_", extra="ignore",
                                      arbitrary_types_allowed=True)

    db: str = Field(default_factory=default_db_url)
    """SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user:pw@host/db``."""

    actor: str = Field(default_factory=default_actor)
    """Who is acting, as written to the audit trail."""

    sqlite_busy_timeout_ms: int = 10_000
    """How long a SQLite writer waits for another writer before giving up."""

    sla_days: dict[str, int | None] = Field(default_factory=lambda: {
        "critical": 7, "high": 30, "medium": 90, "low": 180, "info": None})
    """Days to fix a finding, by severity (JSON in ``GARRISON_SLA_DAYS``)."""
    mlps_tighten_from: int = Field(default=3, ge=1, le=5)
    """MLPS protection level from which deadlines are tightened."""
    mlps_factor: float = Field(default=0.5, gt=0, le=1)
    """Multiplier applied to those deadlines."""
    accepted_risk_max_days: int = Field(default=365, ge=1)
    """The furthest a risk acceptance may run before it must be renewed."""
    contact_viewers: list[str] = Field(default_factory=list)
    """Actors allowed to see experts' phone numbers and e-mail unmasked (JSON in
    ``GARRISON_CONTACT_VIEWERS``); every unmasked view is audited."""
    clock: Annotated[Clock, BeforeValidator(_to_clock)] = Field(default_factory=SystemClock)
    """Where "now" comes from (``GARRISON_CLOCK``: ``system``, ``fixed:TIME``,
    ``from:TIME``); see ``garrison.clock``."""
    timezone: str = "Asia/Shanghai"
    """The local time zone for on-call shift patterns and dates given without a zone."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(_("unknown time zone {z!r} (e.g. Asia/Shanghai)").format(
                z=value)) from exc
        return value

    @field_validator("db")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        return normalise_db_url(value)

    @field_validator("actor")
    @classmethod
    def _actor_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(_("the actor name must not be blank"))
        return value

    @field_validator("sla_days")
    @classmethod
    def _known_severities(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        known = {"critical", "high", "medium", "low", "info"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(_("unknown severities in the SLA table: {u} (use {k})").format(
                u=", ".join(unknown), k=", ".join(sorted(known))))
        if any(days is not None and days < 1 for days in value.values()):
            raise ValueError(_("SLA days must be at least 1 (or null for no deadline)"))
        return value

    def now(self) -> datetime:
        """The current instant from this deployment's clock."""
        return self.clock.now()

    def today(self) -> date:
        """Today's date in the deployment's time zone."""
        return self.clock.today(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.db.startswith("sqlite")
