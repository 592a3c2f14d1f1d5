"""Bulk writes straight to the driver, for the paths that move hundreds of thousands of rows.

SQLAlchemy's per-row bind processing (type coercion, JSON encoding, timestamp
formatting) costs more than SQLite's own insert: measured on an import of 8,192
hosts, 2.7 s of 3.3 s went to it. ``Bulk`` prepares each row's values once, in the
storage form the column types use (so ORM reads stay identical), caches JSON text of
repeated values, and hands plain tuples to the driver's ``executemany``. It writes
in the caller's transaction (the session's connection).

Only kernel tables are written; column names come from the table objects, never
from input.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session


class Bulk:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = session.connection()
        dialect = self.connection.dialect
        self.sqlite = dialect.name == "sqlite"
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._quote = dialect.identifier_preparer.quote
        self._json: dict[Any, str] = {}

    # ------------------------------------------------------------ values

    def ts(self, value: datetime | None) -> Any:
        """A timestamp as the column stores it (naive UTC text on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}")
        if self.sqlite:
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def json(self, value: Any, key: Any = None) -> str:
        """JSON text; with ``key`` (hashable, identifying the value) it is cached."""
        if key is None:
            return json.dumps(value, ensure_ascii=False, default=_default)
        text = self._json.get(key)
        if text is None:
            text = json.dumps(value, ensure_ascii=False, default=_default)
            if len(self._json) < 50_000:
                self._json[key] = text
        return text

    @staticmethod
    def enum(value: enum.Enum | None) -> Any:
        return None if value is None else value.value

    # ------------------------------------------------------------ statements

    def insert(self, table: sa.Table, columns: Sequence[str],
               rows: Iterable[Sequence[Any]], *, on_conflict_skip: str | None = None) -> None:
        """Insert rows; with ``on_conflict_skip`` (a unique column) duplicates are skipped."""
        _check(table, [*columns, *([on_conflict_skip] if on_conflict_skip else [])])
        marks = ", ".join([self.mark] * len(columns))
        names = ", ".join(self._quote(c) for c in columns)
        skip = (f" ON CONFLICT ({self._quote(on_conflict_skip)}) DO NOTHING"
                if on_conflict_skip else "")
        batch = list(rows)
        if not batch:
            return
        if self.sqlite:
            self._many(f"INSERT INTO {self._quote(table.name)} ({names}) VALUES ({marks}){skip}",
                       batch)
        elif on_conflict_skip is None:
            self._copy(self._quote(table.name), names, batch)
        else:  # COPY cannot skip duplicates: stage the rows, then insert what is new
            stage = self._stage(table, names)
            self._copy(stage, names, batch)
            self.execute(f"INSERT INTO {self._quote(table.name)} ({names}) SELECT {names} "
                         f"FROM {stage}{skip}", ())
            self.execute(f"TRUNCATE {stage}", ())
        inserted = self._state("inserted")
        inserted[table.name] = inserted.get(table.name, 0) + len(batch)

    def insert_select(self, table: sa.Table, columns: Sequence[str], select: str,
                      params: Sequence[Any], *, count: int,
                      on_conflict_skip: str | None = None) -> None:
        """``INSERT INTO table (columns) SELECT ...``: rows made by the database from
        staged ones (``stage``), without a value crossing the driver per row; ``count``
        is how many rows it offers (for ``keep_statistics``)."""
        _check(table, [*columns, *([on_conflict_skip] if on_conflict_skip else [])])
        names = ", ".join(self._quote(c) for c in columns)
        skip = (f" ON CONFLICT ({self._quote(on_conflict_skip)}) DO NOTHING"
                if on_conflict_skip else "")
        self.execute(f"INSERT INTO {self._quote(table.name)} ({names}) {select}{skip}", params)
        inserted = self._state("inserted")
        inserted[table.name] = inserted.get(table.name, 0) + count

    def stage(self, name: str, columns: Sequence[tuple[str, Any]], key: Sequence[str],
              rows: Sequence[Sequence[Any]]) -> str:
        """A temporary table of this transaction holding ``rows`` (and nothing else);
        returns its quoted name. ``columns`` are ``(name, type)``: ``int``, or a
        column whose type the values have (the database keeps its type)."""
        q = self._quote(name)
        made = self._state("temporary")
        if name in made:
            self.execute(f"DELETE FROM {q}", ())
        else:
            dialect = self.connection.dialect
            cols = ", ".join(
                f"{self._quote(c)} " + ("INTEGER" if kind is int else "" if self.sqlite
                                        else kind.type.compile(dialect=dialect))
                for c, kind in columns)
            pk = ", ".join(self._quote(c) for c in key)
            if self.sqlite:  # lives as long as the connection: emptied for each use
                self.execute(f"CREATE TEMP TABLE IF NOT EXISTS {q} ({cols}, "
                             f"PRIMARY KEY ({pk}))", ())
                self.execute(f"DELETE FROM {q}", ())
            else:
                self.execute(f"CREATE TEMPORARY TABLE {q} ({cols}, PRIMARY KEY ({pk})) "
                             "ON COMMIT DROP", ())
            made[name] = 1
        if rows:
            names = ", ".join(self._quote(c) for c, _kind in columns)
            if self.sqlite:
                marks = ", ".join([self.mark] * len(columns))
                self._many(f"INSERT INTO {q} ({names}) VALUES ({marks})", rows)
            else:
                self._copy(q, names, rows)
        return q

    def update(self, table: sa.Table, columns: Sequence[str], key: str,
               rows: Iterable[Sequence[Any]]) -> None:
        """``UPDATE table SET col=? ... WHERE key=?``; each row is (values..., key)."""
        _check(table, [*columns, key])
        sets = ", ".join(f"{self._quote(c)} = {self.mark}" for c in columns)
        self._many(f"UPDATE {self._quote(table.name)} SET {sets} "
                   f"WHERE {self._quote(key)} = {self.mark}", rows)

    def lookup(self, table: sa.Table, key: str, values: Sequence[Any], columns: Sequence[str],
               where: tuple[str, Any] | None = None, chunk: int = 900) -> list[tuple[Any, ...]]:
        """``SELECT key, columns FROM table WHERE key IN (values) [AND col = value]``."""
        _check(table, [key, *columns, *([where[0]] if where else [])])
        names = ", ".join(self._quote(c) for c in (key, *columns))
        extra = f" AND {self._quote(where[0])} = {self.mark}" if where else ""
        out: list[tuple[Any, ...]] = []
        cursor = self.connection.connection.cursor()
        try:
            for start in range(0, len(values), chunk):
                part = list(values[start:start + chunk])
                marks = ", ".join([self.mark] * len(part))
                cursor.execute(
                    f"SELECT {names} FROM {self._quote(table.name)} "
                    f"WHERE {self._quote(key)} IN ({marks}){extra}",
                    (*part, *([where[1]] if where else [])))
                out.extend(tuple(row) for row in cursor.fetchall())
        finally:
            cursor.close()
        return out

    def name(self, identifier: str) -> str:
        """A quoted table or column name, for ``many``."""
        return self._quote(identifier)

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        """One statement built from table and column objects (never from input)."""
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            return None if row is None else row[0]
        finally:
            cursor.close()

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """executemany of SQL built from table and column objects (never from input);
        use ``self.mark`` for each parameter."""
        self._many(sql, rows)

    def keep_statistics(self) -> None:
        """PostgreSQL: refresh planner statistics when this transaction has grown a table.

        Rows a transaction inserted are invisible to autovacuum until it commits, so
        during a big import the planner keeps believing the tables are as small as
        before and picks sequential scans for every look-up: quadratic (measured: a
        65,536-host import took 143 s). ANALYZE inside the transaction sees them. Call
        after each batch; a table is analysed each time its inserted rows double."""
        if self.sqlite:
            return
        inserted = self._state("inserted")
        analysed = self._state("analysed")
        for name, rows in inserted.items():
            if rows >= max(5_000, 2 * analysed.get(name, 0)):
                self.execute(f"ANALYZE {self._quote(name)}", ())
                analysed[name] = rows

    def _copy(self, target: str, names: str, rows: Iterable[Sequence[Any]]) -> None:
        """PostgreSQL's COPY: twenty times the rows per second of executemany."""
        cursor = self.connection.connection.cursor()
        try:
            with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def _stage(self, table: sa.Table, names: str) -> str:
        """A temporary table with ``names`` of ``table``, for this transaction."""
        staged = self._state("staged")
        name = self._quote(f"stage_{table.name}")
        if table.name not in staged:
            self.execute(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS SELECT {names} "
                         f"FROM {self._quote(table.name)} WITH NO DATA", ())
            staged[table.name] = 1
        return name

    def _state(self, key: str) -> dict[str, int]:
        state: dict[str, int] = self.session.info.setdefault(f"garrison.bulk.{key}", {})
        return state

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if not batch:
            return
        cursor = self.connection.connection.cursor()
        try:
            cursor.executemany(sql, batch)
        finally:
            cursor.close()


def _check(table: sa.Table, columns: Sequence[str]) -> None:
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {unknown}")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
