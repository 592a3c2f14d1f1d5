"""Small helpers for store tests (counting rows, loading the demo org)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import SQLModel

from garrison.db import get_engine, write_session
from garrison.demo import demo_org_document
from garrison.findings.sla import SlaPolicy
from garrison.org.loader import load_org_file
from garrison.org.service import ImportPlan, import_org
from garrison.settings import Settings

#: The built-in deadline policy and acceptance limit, for tests that call the lifecycle
#: directly (services take them from the action context; nothing has a default).
POLICY = SlaPolicy()
MAX_ACCEPT = 365


def count(settings: Settings, table: type[SQLModel]) -> int:
    with get_engine(settings).connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def snapshot(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every kernel table, to prove a refused action changed nothing."""
    from garrison.models import metadata

    out: dict[str, list[tuple[object, ...]]] = {}
    with get_engine(settings).connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def import_file(settings: Settings, path: Path, *, dry_run: bool = False) -> ImportPlan:
    doc = load_org_file(path)
    with write_session(settings) as session:
        plan = import_org(session, doc, actor=settings.actor, now=settings.now(),
                          dry_run=dry_run)
        if dry_run:
            session.rollback()
    return plan


def load_demo_org(settings: Settings) -> ImportPlan:
    with write_session(settings) as session:
        return import_org(session, demo_org_document(), actor=settings.actor,
                          now=settings.now())


def plain_sql(settings: Settings, statement: str) -> None:
    """Run SQL behind Garrison's back, with the bare driver (as an intruder would)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        assert url.database is not None
        with sqlite3.connect(url.database) as conn:
            conn.execute(statement)
        return
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute(statement.encode())
