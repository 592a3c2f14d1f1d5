"""``assets list`` and ``scan list/show/diff`` straight through the DB-API driver,
without loading the ORM.

Over 65,536 assets the first page's queries take tens of milliseconds; importing
SQLAlchemy, SQLModel and pydantic takes about half a second. As ``findings list`` does
(``garrison.quickread``), the CLI first tries this road: ``sqlite3`` (or
``psycopg``), the SQL of ``scanner.listing_sql``, the rows of ``scanner.listing``, and
nothing else.

It answers only when it can answer exactly as the full path would, and returns
``None`` otherwise (the CLI then takes the full path, which explains any problem
properly): no database file yet, a schema not at this version's head, an unknown
unit (the full path suggests the nearest code), an unknown run, a cursor that is not
one, runs of different units to compare, a run a crashed process left ``running`` on
this host (``scan list`` marks it interrupted first: a write), or any error at all.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from garrison import quickread
from garrison.findings.listing import Dialect
from garrison.quickread import Fallback
from scanner.listing import (
    ASSET_STATES,
    AssetLine,
    AssetQuery,
    ChangeLine,
    Page,
    RunChanges,
    RunDiff,
    RunLine,
)
from scanner.listing_sql import (
    ASSET_COLUMNS,
    CHANGE_COLUMNS,
    RUN_COLUMNS,
    RUN_OBSERVED,
    Listing,
    Sql,
    asset_line,
    assets_listing,
    change_line,
    diff_listing,
    open_counts_sql,
    parse_cursor,
    run_changes_listing,
    run_line,
    run_sql,
    runs_between_sql,
    runs_listing,
)
from scanner.procs import pid_alive

T = TypeVar("T")
Build = Callable[[Sql], Listing]
"""A list's SQL, written with one statement's parameters."""


class _Reader:
    """One connection's statements, each written with its own parameters."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def all(self, write: Callable[[Sql], str]) -> list[Sequence[Any]]:
        sql = Sql(self.dialect)
        text = write(sql)
        return quickread.rows(self.conn, text, sql.params)

    def unit_ids(self, code: str) -> list[int]:
        """The unit and the units under it; unknown: the full path suggests a code."""
        return quickread.unit_ids(self.conn, self.dialect, code)

    def run(self, run_id: int) -> Sequence[Any]:
        """A run's ``RUN_COLUMNS``, as stored."""
        rows = self.all(lambda sql: run_sql(sql, run_id))
        if not rows:
            raise Fallback  # the full path says there is no such run
        return rows[0]

    def tally(self, build: Build, cursor: Sequence[Any] | None
              ) -> tuple[dict[str, int], int, int]:
        """As ``scanner.paging.tally``: by group, the total, and how many come before."""
        rows = self.all(lambda sql: build(sql).tally(sql, cursor))
        counts = {str(group): int(n) for group, n, _before in rows}
        return counts, sum(counts.values()), sum(int(before or 0) for *_g, before in rows)

    def page(self, build: Build, columns: str, cursor: Sequence[Any] | None,
             limit: int | None) -> list[Sequence[Any]]:
        return self.all(lambda sql: build(sql).page(sql, columns, cursor, limit))

    def changes(self, build: Build, limit: int | None, after: int | None
                ) -> Page[ChangeLine]:
        """As ``scanner.run_queries._changes_page``."""
        cursor = None
        if after is not None:
            found = self.all(lambda sql: build(sql).key_of(
                f"change.id = {sql.mark('change', after)}"))
            if not found:
                raise Fallback  # the full path says the change is not in this list
            cursor = tuple(found[0])
        counts, total, before = self.tally(build, cursor)
        rows = self.page(build, CHANGE_COLUMNS, cursor, limit)
        return Page([change_line(row, self.dialect) for row in rows], total, before, counts)


def _read(url: str, answer: Callable[[_Reader], T]) -> T | None:
    return quickread.read(url, lambda conn, dialect: answer(_Reader(conn, dialect)))


def quick_assets(url: str, q: AssetQuery, *, limit: int | None, after: str | None = None
                 ) -> Page[AssetLine] | None:
    """The page ``assets list`` shows (``scanner.queries.search_assets``), or None."""
    def answer(r: _Reader) -> Page[AssetLine]:
        unit_ids = r.unit_ids(q.unit) if q.unit else None
        cursor = parse_cursor(after) if after is not None else None
        if after is not None:
            if cursor is None:
                raise Fallback  # the full path says what a cursor looks like
            r.unit_ids(cursor[0])  # the cursor's unit must exist

        def build(sql: Sql) -> Listing:
            return assets_listing(sql, q, unit_ids)

        counts, total, before = r.tally(build, cursor)
        rows = r.page(build, ASSET_COLUMNS, cursor, limit)
        ids = [int(row[0]) for row in rows]

        def open_counts(table: str) -> dict[int, int]:
            rows = r.all(lambda sql: open_counts_sql(sql, table, ids)) if ids else []
            return {int(aid): int(n) for aid, n in rows}

        services, findings = open_counts("service"), open_counts("finding")
        return Page([asset_line(row, services.get(row[0], 0), findings.get(row[0], 0))
                     for row in rows], total, before,
                    {s: counts[s] for s in ASSET_STATES if counts.get(s)})

    return _read(url, answer)


def _stale_runs(r: _Reader) -> bool:
    """Would ``scanner.runs.recover_stale_runs`` mark a run interrupted (a write)?"""
    rows = r.all(lambda sql: "SELECT scanrun.pid FROM scanrun WHERE scanrun.status = "
                 f"{sql.mark('running', 'running')} AND scanrun.hostname = "
                 f"{sql.mark('host', socket.gethostname())}")
    return any(pid is not None and pid != os.getpid() and not pid_alive(pid) for (pid,) in rows)


def quick_runs(url: str, *, unit: str | None, limit: int | None, after: int | None = None
               ) -> Page[RunLine] | None:
    """The page ``scan list`` shows (``scanner.run_queries.list_runs``), or None."""
    def answer(r: _Reader) -> Page[RunLine]:
        if _stale_runs(r):
            raise Fallback
        unit_ids = r.unit_ids(unit) if unit is not None else None
        cursor = None
        if after is not None:
            run = r.run(after)
            cursor = (run[RUN_OBSERVED], run[0])

        def build(sql: Sql) -> Listing:
            return runs_listing(sql, unit_ids)

        counts, total, before = r.tally(build, cursor)
        rows = r.page(build, RUN_COLUMNS, cursor, limit)
        return Page([run_line(row, r.dialect) for row in rows], total, before, counts)

    return _read(url, answer)


def quick_run(url: str, run_id: int, *, limit: int | None, after: int | None = None
              ) -> RunChanges | None:
    """``scan show RUN``: the run and a page of its changes
    (``scanner.run_queries.run_changes``), or None."""
    def answer(r: _Reader) -> RunChanges:
        run = run_line(r.run(run_id), r.dialect)
        return RunChanges(run, r.changes(lambda sql: run_changes_listing(sql, run_id),
                                         limit, after))

    return _read(url, answer)


def quick_diff(url: str, run_a: int, run_b: int, *, limit: int | None,
               after: int | None = None) -> RunDiff | None:
    """``scan diff A B`` (``scanner.run_queries.diff_runs``), or None."""
    def answer(r: _Reader) -> RunDiff:
        rows = [r.run(run_a), r.run(run_b)]
        a, b = (run_line(row, r.dialect) for row in rows)
        if a.unit_id != b.unit_id:
            raise Fallback  # the full path names both units
        (low, low_row), (high, high_row) = sorted(
            zip((a, b), rows, strict=True), key=lambda pair: (pair[0].observed_at, pair[0].id))
        lo, hi = (low_row[RUN_OBSERVED], low.id), (high_row[RUN_OBSERVED], high.id)
        (runs,), = r.all(lambda sql: runs_between_sql(sql, a.unit_id, lo, hi))
        page = r.changes(lambda sql: diff_listing(sql, a.unit_id, lo, hi), limit, after)
        return RunDiff(low, high, a.unit, int(runs), page)

    return _read(url, answer)
