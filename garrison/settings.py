"""Deployment settings (pydantic-settings).

Precedence: command-line option (``--db``, ``--actor``) > environment
(``GARRISON_DB``, ``GARRISON_ACTOR``, ...) > default. The default database is a
SQLite file under the user's data directory, so a single officer needs no server;
a province-wide deployment points ``GARRISON_DB`` at PostgreSQL.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from garrison.i18n import _


def default_db_path() -> Path:
    """Where the embedded SQLite database lives when no URL is given."""
    return user_data_path("garrison", appauthor=False) / "garrison.db"


def default_db_url() -> str:
    return f"sqlite:///{default_db_path()}"


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        return "unknown"


class Settings(BaseSettings):
    """Settings for one Garrison process."""

    model_config = SettingsConfigDict(env_prefix="GARRISON_", extra="ignore")

    db: str = Field(default_factory=default_db_url)
    """SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user:pw@host/db``."""

    actor: str = Field(default_factory=default_actor)
    """Who is acting, as written to the audit trail."""

    sqlite_busy_timeout_ms: int = 10_000
    """How long a SQLite writer waits for another writer before giving up."""

    @field_validator("db")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("postgres://"):
            value = "postgresql://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                _("unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://...")
                .format(url=value)
            )
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("actor")
    @classmethod
    def _actor_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(_("the actor name must not be blank"))
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.db.startswith("sqlite")
