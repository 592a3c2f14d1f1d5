"""``findings list`` straight through the DB-API driver, without loading the ORM.

Importing SQLAlchemy, SQLModel and pydantic costs more than half a second on a
modest machine, while the list query itself takes milliseconds. The office runs
``garrison findings list --unit U --overdue`` all day, so the CLI first tries this
path: the standard library's ``sqlite3`` (or ``psycopg``), the SQL from
``garrison.findings.listing``, nothing else.

It only answers when it can answer exactly as the full path would. It returns
``None`` (and the CLI takes the full path, which explains any problem properly)
when the database file does not exist yet, the schema is not at this version's
head, a risk acceptance has expired and must be reopened first (a write), the unit
is unknown (the full path suggests the nearest code), or anything at all goes wrong
while reading.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from garrison.dburl import SCHEMA_HEAD
from garrison.findings.listing import (
    Dialect,
    FindingFilter,
    FindingRow,
    Paramstyle,
    count_sql,
    decode_rows,
    list_sql,
)
from garrison.org.tree import subtree


@dataclass(frozen=True)
class QuickPage:
    rows: list[FindingRow]
    total: int | None
    """Every match, counted only when the page is full (there may be more)."""


class _Fallback(Exception):
    """The quick path cannot answer; the full path will."""


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL; None for memory or URLs with options."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = unquote(url[len("sqlite:///"):])
    return path if path and path != ":memory:" else None


@contextmanager
def _connect(url: str) -> Iterator[tuple[Any, Dialect]]:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is None or not os.path.isfile(path):
            raise _Fallback
        uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
            yield conn, "sqlite"
    elif url.startswith("postgresql+psycopg://"):
        import psycopg

        conninfo = "postgresql://" + url.split("://", 1)[1]
        with psycopg.connect(conninfo, connect_timeout=5) as conn:
            conn.read_only = True
            yield conn, "postgresql"
    else:
        raise _Fallback


def _one(conn: Any, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def _unit_ids(conn: Any, dialect: Dialect, code: str) -> list[int]:
    mark = "?" if dialect == "sqlite" else "%s"
    row = _one(conn, f"SELECT id FROM unit WHERE code = {mark}", (code,))
    if row is None:
        raise _Fallback  # unknown unit: the full path says so, with a suggestion
    cursor = conn.execute("SELECT id, parent_id FROM unit")
    try:
        return subtree(cursor.fetchall(), row[0])
    finally:
        cursor.close()


def _must_sweep(conn: Any, dialect: Dialect, now: datetime) -> bool:
    """Has a risk acceptance expired? Reopening it is a write: the full path does it."""
    mark = "?" if dialect == "sqlite" else "%s"
    today: Any = now.date().isoformat() if dialect == "sqlite" else now.date()
    return _one(conn, "SELECT 1 FROM finding WHERE status = 'accepted_risk' "
                f"AND accepted_until < {mark} LIMIT 1", (today,)) is not None


def at_head(url: str) -> bool:
    """Does the database exist, at this version's schema? Answered with the DB-API
    driver alone (``garrison tui`` asks before importing the ORM)."""
    try:
        with _connect(url) as (conn, _dialect):
            head = _one(conn, "SELECT version_num FROM alembic_version")
    except Exception:  # noqa: BLE001 - missing file, no table, no server: not at head
        return False
    return head is not None and head[0] == SCHEMA_HEAD


def quick_list(url: str, f: FindingFilter, *, limit: int, after_id: int | None = None,
               now: datetime,
               on_rows: Callable[[list[FindingRow]], object] | None = None
               ) -> QuickPage | None:
    """The page ``findings list`` shows, or None when the full path must answer.

    ``on_rows`` receives the rows as soon as they are read, before the count (the TUI
    paints them while the database counts)."""
    try:
        with _connect(url) as (conn, dialect):
            head = _one(conn, "SELECT version_num FROM alembic_version")
            if head is None or head[0] != SCHEMA_HEAD or _must_sweep(conn, dialect, now):
                return None
            unit_ids = _unit_ids(conn, dialect, f.unit) if f.unit is not None else None
            style: Paramstyle = "named" if dialect == "sqlite" else "pyformat"
            sql, params = list_sql(f, now, unit_ids=unit_ids, dialect=dialect,
                                   paramstyle=style, limit=limit, after_id=after_id)
            cursor = conn.execute(sql, params)
            try:
                rows = decode_rows(cursor.fetchall(), now)
            finally:
                cursor.close()
            if on_rows is not None:
                on_rows(rows)
            total = None
            if len(rows) == limit:
                sql, params = count_sql(f, now, unit_ids=unit_ids, dialect=dialect,
                                        paramstyle=style)
                total = int(_one(conn, sql, params)[0])
            return QuickPage(rows, total)
    except _Fallback:
        return None
    except Exception:  # noqa: BLE001 - any surprise: the full path reports it properly
        return None
