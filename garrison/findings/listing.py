"""The findings list, written once as SQL.

``garrison findings list --unit U --overdue`` must answer in well under half a
second with 100,000 findings. The query takes milliseconds; loading SQLAlchemy and
the models takes longer than the budget on a modest machine. So the filter and the
list query are built here as SQL text with named parameters, from the standard
library alone, and run two ways:

- through a SQLAlchemy session (``garrison.findings.queries``: the library, the TUI,
  exports and the summary, which wrap :func:`where_sql` in ``sa.text``);
- straight through the DB-API driver (``garrison.findings.quick``: the CLI's list).

Timestamps are bound the way the ``UTCDateTime`` column type stores them: naive UTC
text on SQLite, aware ``timestamptz`` values on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from garrison.vocab import OPEN_STATES, FindingSource, FindingStatus, Severity
from garrison.words import escape_like

Dialect = Literal["sqlite", "postgresql"]
Paramstyle = Literal["named", "pyformat"]

SQLITE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy's SQLite dialect stores a DATETIME (always with microseconds)."""


@dataclass(frozen=True)
class FindingFilter:
    """What the office asks for; every field narrows the list."""

    unit: str | None = None
    """This unit and the units under it."""
    severities: tuple[Severity, ...] = ()
    statuses: tuple[FindingStatus, ...] = ()
    owner: str | None = None
    overdue: bool = False
    since: date | None = None
    """First seen on or after this day."""
    source: FindingSource | None = None
    rule: str | None = None
    text: str | None = None
    """Words in the title (case-insensitive)."""

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("unit", "owner", "rule", "text"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.severities:
            out["severity"] = [s.value for s in self.severities]
        if self.statuses:
            out["status"] = [s.value for s in self.statuses]
        if self.overdue:
            out["overdue"] = True
        if self.since:
            out["since"] = self.since.isoformat()
        if self.source:
            out["source"] = self.source.value
        return out


@dataclass(frozen=True)
class FindingRow:
    """One line of the findings list."""

    id: int
    unit: str
    severity: Severity
    status: FindingStatus
    title: str
    address: str | None
    protocol: str | None
    port: int | None
    owner: str
    due_at: datetime | None
    overdue: bool
    first_seen: datetime
    source: FindingSource

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "unit": self.unit, "severity": self.severity.value,
                "status": self.status.value, "title": self.title, "address": self.address,
                "port": f"{self.protocol}/{self.port}" if self.port is not None else None,
                "owner": self.owner, "due_at": self.due_at.isoformat() if self.due_at else None,
                "overdue": self.overdue, "first_seen": self.first_seen.isoformat(),
                "source": self.source.value}


def is_overdue(status: FindingStatus, due: datetime | None, now: datetime) -> bool:
    """Derived, never stored: open or in progress, and past the due date."""
    return status in OPEN_STATES and due is not None and due < now


def bind_time(value: datetime, dialect: Dialect) -> datetime | str:
    """A timestamp parameter as the column stores it."""
    value = value.astimezone(UTC)
    if dialect == "sqlite":
        return value.replace(tzinfo=None).strftime(SQLITE_TIME_FORMAT)
    return value


def read_stamp(value: datetime | str) -> datetime:
    """A timestamp column as an aware UTC datetime (SQLite hands back text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def read_time(value: datetime | str | None) -> datetime | None:
    """As ``read_stamp``, for a column that may be NULL."""
    return None if value is None else read_stamp(value)


class Params:
    """Collects parameters; ``mark`` writes the placeholder for the paramstyle."""

    def __init__(self, style: Paramstyle) -> None:
        self.style = style
        self.values: dict[str, Any] = {}

    def mark(self, name: str, value: Any) -> str:
        name = f"f_{name}"
        self.values[name] = value
        return f":{name}" if self.style == "named" else f"%({name})s"

    def marks(self, name: str, values: Sequence[Any]) -> str:
        return ", ".join(self.mark(f"{name}{i}", v) for i, v in enumerate(values))


def _where(f: FindingFilter, now: datetime, unit_ids: Sequence[int] | None,
           dialect: Dialect, p: Params) -> list[str]:
    clauses: list[str] = []
    if f.unit is not None:
        if unit_ids is None:
            raise ValueError("the unit filter needs the ids of the unit's subtree")
        clauses.append(f"finding.unit_id IN ({p.marks('unit', unit_ids)})")
    if f.severities:
        clauses.append(f"finding.severity IN ({p.marks('sev', [s.value for s in f.severities])})")
    if f.statuses:
        clauses.append(f"finding.status IN ({p.marks('st', [s.value for s in f.statuses])})")
    if f.owner:
        clauses.append(f"finding.owner = {p.mark('owner', f.owner)}")
    if f.overdue:
        clauses.append(f"finding.status IN ({p.marks('open', [s.value for s in OPEN_STATES])})")
        clauses.append(f"finding.due_at < {p.mark('now', bind_time(now, dialect))}")
    if f.since:
        start = datetime.combine(f.since, datetime.min.time(), tzinfo=UTC)
        clauses.append(f"finding.first_seen >= {p.mark('since', bind_time(start, dialect))}")
    if f.source:
        clauses.append(f"finding.source = {p.mark('source', f.source.value)}")
    if f.rule:
        clauses.append(f"finding.rule_id = {p.mark('rule', f.rule)}")
    if f.text:
        pattern = "%" + escape_like(f.text.lower()) + "%"
        # SQLite's LIKE already ignores ASCII case and its lower() folds nothing else:
        # the bare column lets the count read the (title, status) index alone
        title = "finding.title" if dialect == "sqlite" else "lower(finding.title)"
        clauses.append(f"{title} LIKE {p.mark('text', pattern)} ESCAPE '\\'")
    return clauses


def where_sql(f: FindingFilter, now: datetime, *, unit_ids: Sequence[int] | None,
              dialect: Dialect, paramstyle: Paramstyle = "named"
              ) -> tuple[str, dict[str, Any]]:
    """The filter as one SQL condition on the ``finding`` table, and its parameters."""
    p = Params(paramstyle)
    clauses = _where(f, now, unit_ids, dialect, p)
    return (" AND ".join(clauses) if clauses else "1 = 1"), p.values


LIST_COLUMNS = ("finding.id, unit.code, finding.severity, finding.status, finding.title, "
                "finding.address, finding.protocol, finding.port, finding.owner, "
                "finding.due_at, finding.first_seen, finding.source")


#: Orders the list can be sorted by (the TUI's sortable columns): SQL, and whether the
#: column may be NULL (NULLs sort last either way, on both backends).
SORTS: dict[str, tuple[str, bool]] = {
    "id": ("finding.id", False),
    "unit": ("unit.code", False),
    "severity": ("CASE finding.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 "
                 "WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END", False),
    "status": ("finding.status", False),
    "title": ("finding.title", False),
    "owner": ("finding.owner", False),
    "due": ("finding.due_at", True),
    "first_seen": ("finding.first_seen", False),
}


def list_sql(f: FindingFilter, now: datetime, *, unit_ids: Sequence[int] | None,
             dialect: Dialect, paramstyle: Paramstyle = "named", limit: int | None = 200,
             after_id: int | None = None, order: str = "id", descending: bool = False,
             offset: int | None = None) -> tuple[str, dict[str, Any]]:
    """The page of the list after ``after_id`` (by finding id), or sorted by ``order``
    (a key of ``SORTS``; ties by id) from ``offset``."""
    p = Params(paramstyle)
    clauses = _where(f, now, unit_ids, dialect, p)
    if after_id is not None:
        clauses.append(f"finding.id > {p.mark('after', after_id)}")
    expr, nullable = SORTS[order]
    way = " DESC" if descending else ""
    keys = [f"{expr} IS NULL", f"{expr}{way}"] if nullable else [f"{expr}{way}"]
    if order != "id":
        keys.append(f"finding.id{way}")
    sql = (f"SELECT {LIST_COLUMNS} FROM finding JOIN unit ON finding.unit_id = unit.id"
           + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
           + " ORDER BY " + ", ".join(keys))
    if limit is not None:
        sql += f" LIMIT {p.mark('limit', int(limit))}"
    if offset:
        sql += f" OFFSET {p.mark('offset', int(offset))}"
    return sql, p.values


def count_sql(f: FindingFilter, now: datetime, *, unit_ids: Sequence[int] | None,
              dialect: Dialect, paramstyle: Paramstyle = "named"
              ) -> tuple[str, dict[str, Any]]:
    where, params = where_sql(f, now, unit_ids=unit_ids, dialect=dialect,
                              paramstyle=paramstyle)
    return f"SELECT count(*) FROM finding WHERE {where}", params


def decode_rows(rows: Iterable[Sequence[Any]], now: datetime) -> list[FindingRow]:
    """Rows of :func:`list_sql` as ``FindingRow``s, with ``overdue`` derived."""
    out = []
    for fid, unit, sev, status, title, address, proto, port, owner, due, first, source in rows:
        st = FindingStatus(status)
        due_at = read_time(due)
        out.append(FindingRow(int(fid), unit, Severity(sev), st, title, address, proto, port,
                              owner, due_at, is_overdue(st, due_at, now), read_stamp(first),
                              FindingSource(source)))
    return out
