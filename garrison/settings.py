"""Deployment settings (pydantic-settings).

Precedence: command-line option (``--db``, ``--actor``) > environment
(``GARRISON_DB``, ``GARRISON_ACTOR``, ...) > default. The default database is a
SQLite file under the user's data directory, so a single officer needs no server;
a province-wide deployment points ``GARRISON_DB`` at PostgreSQL.

A bad value is refused when a command builds the settings, before it opens the
database: one line naming the option or variable, the value and the expected form,
exit code 2 (``garrison.envsettings``). A database URL is parsed here as SQLAlchemy
will parse it, so a malformed one (a port that is not a number) is a settings error,
not a traceback later; a well-formed URL of a server that cannot be reached is
``ConfigError`` (exit 3) when the command connects.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from garrison.clock import Clock, ClockError, SystemClock, parse_clock
from garrison.clock import expected_form as clock_form
from garrison.dburl import default_db_path, default_db_url, normalise_db_url
from garrison.envsettings import EnvSettings, json_value
from garrison.i18n import _

__all__ = ["Settings", "default_db_path", "default_db_url"]

SEVERITIES = ("critical", "high", "medium", "low", "info")
DRIVERS = ("sqlite", "postgresql+psycopg")


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        return "unknown"


def _to_clock(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return parse_clock(value)
    except ClockError:
        raise ValueError() from None  # the expected form says it all


class Settings(EnvSettings):
    """Settings for one Garrison process. A bad value raises ``SettingsError`` naming the
    variable or option, the value and the expected form (see ``garrison.envsettings``)."""

    model_config = SettingsConfigDict(arbitrary_types_allowed=True)
    options: ClassVar[dict[str, str]] = {"db": "--db", "actor": "--actor"}
    secret_urls: ClassVar[frozenset[str]] = frozenset({"db"})

    db: str = Field(default_factory=default_db_url)
    """SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user:pw@host/db``."""

    actor: str = Field(default_factory=default_actor)
    """Who is acting, as written to the audit trail."""

    lock_wait: float = Field(default=60.0, gt=0, le=86_400)
    """Seconds a writer waits for the database held by another writer before giving up
    (``GARRISON_LOCK_WAIT``); it says that it is waiting after half a second. (Replaces
    the old SQLite-only busy timeout: see garrison/dblock.py.)"""

    sla_days: Annotated[dict[str, int | None], NoDecode, BeforeValidator(json_value)] = Field(
        default_factory=lambda: {
            "critical": 7, "high": 30, "medium": 90, "low": 180, "info": None})
    """Days to fix a finding, by severity (JSON in ``GARRISON_SLA_DAYS``)."""
    mlps_tighten_from: int = Field(default=3, ge=1, le=5)
    """MLPS protection level from which deadlines are tightened."""
    mlps_factor: float = Field(default=0.5, gt=0, le=1)
    """Multiplier applied to those deadlines."""
    accepted_risk_max_days: int = Field(default=365, ge=1, le=3650)
    """The furthest a risk acceptance may run before it must be renewed."""
    contact_viewers: Annotated[list[str], NoDecode, BeforeValidator(json_value)] = Field(
        default_factory=list)
    """Actors allowed to see experts' phone numbers and e-mail unmasked (JSON in
    ``GARRISON_CONTACT_VIEWERS``); every unmasked view is audited."""
    clock: Annotated[Clock, BeforeValidator(_to_clock)] = Field(default_factory=SystemClock)
    """Where "now" comes from (``GARRISON_CLOCK``: ``system``, ``fixed:TIME``,
    ``from:TIME``); see ``garrison.clock``."""
    timezone: str = "Asia/Shanghai"
    """The local time zone for on-call shift patterns and dates given without a zone."""

    @classmethod
    def expected_forms(cls) -> dict[str, str]:
        return {
            "db": _("sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST[:PORT]/DATABASE"),
            "actor": _("a name for the audit trail (not blank)"),
            "sla_days": _('a JSON object of days to fix by severity ({s}), each at least 1 or '
                          'null for no deadline, e.g. {{"critical": 5, "info": null}}').format(
                              s=", ".join(SEVERITIES)),
            "contact_viewers": _('a JSON list of actor names, e.g. ["zhang.wei", "li.na"]'),
            "clock": clock_form(),
            "timezone": _("an IANA time zone name such as Asia/Shanghai"),
        }

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(_("unknown time zone")) from exc
        return value

    @field_validator("db")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        try:
            value = normalise_db_url(value)
        except ValueError:
            raise ValueError(_("unsupported database")) from None
        _check_url(value)
        return value

    @field_validator("actor")
    @classmethod
    def _actor_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError()
        return value

    @field_validator("sla_days")
    @classmethod
    def _known_severities(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        unknown = sorted(set(value) - set(SEVERITIES))
        if unknown:
            raise ValueError(_("unknown severity {s!r}").format(s=unknown[0]))
        short = [k for k, days in value.items() if days is not None and days < 1]
        if short:
            raise ValueError(_("{s}: {d} days").format(s=short[0], d=value[short[0]]))
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


def _check_url(url: str) -> None:
    """What SQLAlchemy would choke on later (with a traceback), refused now."""
    if url.startswith("sqlite:///") and "?" not in url:
        return  # a file path, which SQLAlchemy always takes; importing it costs 0.1 s
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    port_form = _("the port must be a number from 1 to 65535")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(_("not a database URL")) from None
    except ValueError:  # SQLAlchemy's int() of the port
        raise ValueError(port_form) from None
    if parsed.drivername not in DRIVERS:
        raise ValueError(_("unsupported driver {d!r}").format(d=parsed.drivername))
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(port_form)
