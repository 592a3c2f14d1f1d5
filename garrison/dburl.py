"""Which database: URL resolution and the schema revision this code expects.

Standard library (and platformdirs) only: the quick read path of the CLI resolves
the database without loading pydantic or SQLAlchemy.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

from garrison.i18n import _

#: The newest migration. A test checks it equals Alembic's head, so the schema check
#: on every command does not have to import Alembic (half a second of start-up).
SCHEMA_HEAD = "0010_drill_mode"

ENV_VAR = "GARRISON_DB"


def default_db_path() -> Path:
    """Where the embedded SQLite database lives when no URL is given."""
    return user_data_path("garrison", appauthor=False) / "garrison.db"


def default_db_url() -> str:
    return f"sqlite:///{default_db_path()}"


def normalise_db_url(value: str) -> str:
    """The URL as Garrison uses it; ``ValueError`` names an unsupported backend."""
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


def resolve_db_url(option: str | None) -> str:
    """``--db`` > ``GARRISON_DB`` (any case, as pydantic-settings reads it) > default."""
    if option:
        return normalise_db_url(option)
    for name, value in os.environ.items():
        if name.upper() == ENV_VAR:
            return normalise_db_url(value)
    return default_db_url()
