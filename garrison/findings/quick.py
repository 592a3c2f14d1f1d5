"""``findings list`` straight through the DB-API driver, without loading the ORM.

Importing SQLAlchemy, SQLModel and pydantic costs more than half a second on a
modest machine, while the list query itself takes milliseconds. The office runs
``garrison findings list --unit U --overdue`` all day, so the CLI first tries this
path (``garrison.quickread``): the standard library's ``sqlite3`` (or ``psycopg``),
the SQL from ``garrison.findings.listing``, nothing else.

It only answers when it can answer exactly as the full path would. It returns
``None`` (and the CLI takes the full path, which explains any problem properly)
when the database file does not exist yet, the schema is not at this version's
head, a risk acceptance has expired and must be reopened first (a write), the unit
is unknown (the full path suggests the nearest code), or anything at all goes wrong
while reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from garrison.findings.listing import (
    Dialect,
    FindingFilter,
    FindingRow,
    Paramstyle,
    count_sql,
    decode_rows,
    list_sql,
)
from garrison.quickread import Fallback, mark, one, read, unit_ids
from garrison.quickread import rows as fetch


@dataclass(frozen=True)
class QuickPage:
    rows: list[FindingRow]
    total: int | None
    """Every match, counted only when the page is full (there may be more)."""


def must_sweep(conn: Any, dialect: Dialect, now: datetime) -> bool:
    """Has a risk acceptance expired? Reopening it is a write: the full path does it."""
    today: Any = now.date().isoformat() if dialect == "sqlite" else now.date()
    return one(conn, "SELECT 1 FROM finding WHERE status = 'accepted_risk' "
               f"AND accepted_until < {mark(dialect)} LIMIT 1", (today,)) is not None


def quick_list(url: str, f: FindingFilter, *, limit: int, after_id: int | None = None,
               now: datetime,
               on_rows: Callable[[list[FindingRow]], object] | None = None,
               count: bool = True) -> QuickPage | None:
    """The page ``findings list`` shows, or None when the full path must answer.

    ``on_rows`` receives the rows as soon as they are read, before the count (the TUI
    paints them while the database counts). ``count=False`` leaves the count out (the
    TUI runs :func:`quick_count` beside the page, on a connection of its own)."""
    def answer(conn: Any, dialect: Dialect) -> QuickPage:
        if must_sweep(conn, dialect, now):
            raise Fallback
        ids = unit_ids(conn, dialect, f.unit) if f.unit is not None else None
        style: Paramstyle = "named" if dialect == "sqlite" else "pyformat"
        sql, params = list_sql(f, now, unit_ids=ids, dialect=dialect, paramstyle=style,
                               limit=limit, after_id=after_id)
        found = decode_rows(fetch(conn, sql, params), now)
        if on_rows is not None:
            on_rows(found)
        total = None
        if count and len(found) == limit:
            sql, params = count_sql(f, now, unit_ids=ids, dialect=dialect, paramstyle=style)
            total = int(one(conn, sql, params)[0])
        return QuickPage(found, total)

    return read(url, answer)


def quick_count(url: str, f: FindingFilter, *, now: datetime) -> int | None:
    """How many findings match ``f``, or None when the full path must answer (as
    :func:`quick_list`)."""
    def answer(conn: Any, dialect: Dialect) -> int:
        if must_sweep(conn, dialect, now):
            raise Fallback
        ids = unit_ids(conn, dialect, f.unit) if f.unit is not None else None
        style: Paramstyle = "named" if dialect == "sqlite" else "pyformat"
        sql, params = count_sql(f, now, unit_ids=ids, dialect=dialect, paramstyle=style)
        return int(one(conn, sql, params)[0])

    return read(url, answer)
