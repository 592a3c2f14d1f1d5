"""Alembic environment: runs on the connection Garrison hands it (or a URL for dev use)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

import garrison.models  # noqa: F401  (registers the tables)
from garrison.models import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # developer use: alembic -c garrison/migrations/alembic.ini ...
    from garrison.settings import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings().db
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
