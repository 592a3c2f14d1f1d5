"""The standard-library read path: answers read commands without loading the ORM.

Importing SQLAlchemy, SQLModel and pydantic costs about half a second on a modest
machine, while the queries an officer runs all day (``findings list``, ``assets list``,
``scan list/show/diff``, ``experts match``, the TUI's first page) take milliseconds. Each
of those first tries this road: the DB-API driver (the standard library's ``sqlite3``,
or ``psycopg``), read-only, and plain SQL written by the same modules the ORM path uses.

A quick reader answers only when it can answer exactly as the full path would. Anything
it cannot answer (no database file yet, a schema that is not this version's head, an
unknown unit the full path would suggest a code for, a read that needs a write first, or
any error at all) makes :func:`read` return ``None``, and the caller takes the full path,
which explains the problem properly. Each quick reader's answers are tested equal to the
full path's (``tests/*/test_quick*.py``).

This is the one public module for that road: ``garrison.findings.quick``,
``scanner.quick`` and ``expert_pool.quick`` build on it and nothing else.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from garrison.dburl import SCHEMA_HEAD
from garrison.findings.listing import Dialect
from garrison.org.tree import subtree

T = TypeVar("T")


class Fallback(Exception):
    """The quick path cannot answer; the full path will (and says why)."""


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL; None for memory or URLs with options."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = unquote(url[len("sqlite:///"):])
    return path if path and path != ":memory:" else None


@contextmanager
def connect(url: str) -> Iterator[tuple[Any, Dialect]]:
    """A read-only DB-API connection and its dialect; :class:`Fallback` when the URL is
    not one this path reads (memory, options, another driver) or the file is missing."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is None or not os.path.isfile(path):
            raise Fallback
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
        raise Fallback


def mark(dialect: Dialect) -> str:
    """The driver's positional parameter marker."""
    return "?" if dialect == "sqlite" else "%s"


def one(conn: Any, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    """The first row of a statement, or None."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def rows(conn: Any, sql: str, params: Sequence[Any] | dict[str, Any] = ()
         ) -> list[Sequence[Any]]:
    """Every row of a statement."""
    cursor = conn.execute(sql, params)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


def json_value(value: Any) -> Any:
    """A JSON column's value: text on SQLite (decoded here), already decoded by psycopg."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def unit_ids(conn: Any, dialect: Dialect, code: str) -> list[int]:
    """The unit ``code`` and every unit under it; :class:`Fallback` for an unknown code
    (the full path says so, with the nearest code)."""
    row = one(conn, f"SELECT id FROM unit WHERE code = {mark(dialect)}", (code,))
    if row is None:
        raise Fallback
    return subtree(((uid, parent) for uid, parent in rows(conn, "SELECT id, parent_id FROM unit")),
                   row[0])


def _at_head(conn: Any) -> bool:
    head = one(conn, "SELECT version_num FROM alembic_version")
    return head is not None and head[0] == SCHEMA_HEAD


def at_head(url: str) -> bool:
    """Does the database exist, at this version's schema? (``garrison tui`` asks before
    importing the ORM.)"""
    try:
        with connect(url) as (conn, _dialect):
            return _at_head(conn)
    except Exception:  # noqa: BLE001 - missing file, no table, no server: not at head
        return False


def read(url: str, answer: Callable[[Any, Dialect], T]) -> T | None:
    """``answer(conn, dialect)`` on a database at this version's head, or None when the
    full path must answer: the database is missing or at another schema, ``answer``
    raised :class:`Fallback`, or anything at all went wrong while reading."""
    try:
        with connect(url) as (conn, dialect):
            if not _at_head(conn):
                return None
            return answer(conn, dialect)
    except Fallback:
        return None
    except Exception:  # noqa: BLE001 - any surprise: the full path reports it properly
        return None
