"""Alembic migrations, shipped inside the package so an installed copy can upgrade.

Developers make a new revision with::

    alembic -c garrison/migrations/alembic.ini revision --autogenerate \
        --rev-id 0002_what -m "what changed"

then update ``garrison.dburl.SCHEMA_HEAD`` (a test checks the two agree).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

HERE = Path(__file__).parent


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def is_known_revision(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    return any(rev.revision == revision for rev in script.walk_revisions())


def run_upgrade(connection: sa.Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
