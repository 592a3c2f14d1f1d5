"""What the TUI's dashboard shows: the queries and the pure math.

Read through ``garrison.quickread`` (the DB-API driver, no ORM: the dashboard is the
TUI's first screen, and importing SQLAlchemy alone costs about half a second), or, when
that road cannot answer, through an ORM session's own connection: the same SQL either way
(:func:`read_dashboard`). The database aggregates, the trend included: five statements
return about a hundred rows in all.

Open findings by severity, the overdue league table by unit, the open-findings trend
of the last days (:func:`open_trend`, a pure function: a finding counts on day D when
it was first seen by the end of D and its last status change by then left it open or
in progress), the latest inventory changes and the drills running. Who is on call is
the expert pool's (``expert_pool.service.on_call``); the screen adds it. The screen
(``tui/screens/dashboard.py``) runs no SQL of its own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from garrison.findings.listing import Dialect, bind_time, read_stamp
from garrison.findings.quick import must_sweep
from garrison.i18n import _
from garrison.quickread import Fallback, json_value, mark, read, rows
from garrison.vocab import OPEN_STATES, SEVERITY_ORDER, FindingStatus, Severity

if TYPE_CHECKING:
    from sqlmodel import Session

    from garrison.actions import ActionContext

TREND_DAYS = 30
RECENT_CHANGES = 10
BAR_WIDTH = 16
STATUS_EVENT = "status"


# ---------------------------------------------------------------------- the trend


class TrendFinding(NamedTuple):
    id: int
    first_seen: datetime


class TrendEvent(NamedTuple):
    finding_id: int
    at: datetime
    to_status: FindingStatus
    kind: str = STATUS_EVENT


class _Seen(Protocol):
    @property
    def id(self) -> int | None: ...

    @property
    def first_seen(self) -> datetime: ...


class _StatusEvent(Protocol):
    @property
    def finding_id(self) -> int: ...

    @property
    def at(self) -> datetime: ...

    @property
    def to_status(self) -> FindingStatus: ...

    @property
    def kind(self) -> str: ...


def trend_days(days: int, now: datetime, tz: tzinfo = UTC) -> list[date]:
    """The ``days`` calendar days (in ``tz``) ending with the day of ``now``."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def _open_spans(first_seen: datetime, events: Sequence[_StatusEvent]
                ) -> list[tuple[datetime, datetime | None]]:
    """The periods ``(since, until)`` a finding was open: open from ``since`` (exclusive)
    up to and including ``until`` (``None``: still open).

    Before its first status event a finding is open (it is created open); each status
    event sets the status from its instant on."""
    spans: list[tuple[datetime | None, datetime | None]] = []
    since: datetime | None = None  # open since the beginning of time
    is_open = True
    for event in events:
        now_open = event.to_status in OPEN_STATES
        if is_open and not now_open:
            spans.append((since, event.at))
        elif now_open and not is_open:
            since = event.at
        is_open = now_open
    if is_open:
        spans.append((since, None))
    out: list[tuple[datetime, datetime | None]] = []
    for start, stop in spans:
        start = first_seen if start is None or start < first_seen else start
        if stop is None or stop > start:
            out.append((start, stop))
    return out


def open_trend(findings: Iterable[_Seen], events: Iterable[_StatusEvent], days: int,
               now: datetime, *, tz: tzinfo = UTC) -> list[int]:
    """How many findings were open (or in progress) at the end of each of the last
    ``days`` days (in ``tz``), oldest first; the last day is the day of ``now``.

    A finding is open on day D when its ``first_seen`` is before the end of D and its
    last status event before the end of D (if any) left it open or in progress.
    Only status events count (``kind == "status"``); events of equal time apply in the
    order given. Linear in findings and events: each open period adds one to a range
    of days."""
    if days <= 0:
        return []
    ends = [datetime.combine(d + timedelta(days=1), time.min, tzinfo=tz).timestamp()
            for d in trend_days(days, now, tz)]  # as numbers: comparing zoned times is slow
    by_finding: dict[int | None, list[_StatusEvent]] = defaultdict(list)
    for event in events:
        if event.kind == STATUS_EVENT:
            by_finding[event.finding_id].append(event)
    delta = [0] * (days + 1)
    for finding in findings:
        history = sorted(by_finding.get(finding.id, ()), key=lambda e: e.at)
        for start, stop in _open_spans(finding.first_seen, history):
            # open on the days whose end e has start < e <= stop
            low = bisect_right(ends, start.timestamp())
            high = days if stop is None else bisect_right(ends, stop.timestamp())
            if low < high:
                delta[low] += 1
                delta[high] -= 1
    out, running = [], 0
    for step in delta[:days]:
        running += step
        out.append(running)
    return out


# ---------------------------------------------------------------------- the data


@dataclass(frozen=True)
class OverdueLine:
    code: str
    name: str
    overdue: int
    oldest_due: datetime | None


@dataclass(frozen=True)
class ChangeLine:
    at: datetime
    unit: str
    address: str
    what: str


@dataclass(frozen=True)
class OnCallPerson:
    name: str
    organisation: str
    phone: str | None
    """Masked."""


@dataclass(frozen=True)
class OnCall:
    starts: datetime
    ends: datetime
    people: list[OnCallPerson]


@dataclass(frozen=True)
class DrillLine:
    id: int
    title: str
    unit: str
    started_at: datetime


@dataclass
class DashboardData:
    severity: dict[Severity, int]
    overdue: list[OverdueLine]
    changes: list[ChangeLine]
    drills: list[DrillLine]
    trend: list[int]
    days: list[date]
    now: datetime


def change_text(kind: str, protocol: str | None, port: int | None,
                before: dict[str, object] | None, after: dict[str, object] | None) -> str:
    """One inventory change in a few words."""
    before, after = before or {}, after or {}
    where = f"{protocol}/{port}" if port is not None else ""
    if kind == "asset_appeared":
        opened = after.get("open")
        host = after.get("hostname")
        text = _("came back") if before.get("state") == "gone" else _("appeared")
        if host:
            text += f" · {host}"
        if isinstance(opened, list):  # "tcp/22 ssh OpenSSH 7.4" -> "tcp/22 ssh"
            text += " · " + (", ".join(" ".join(str(x).split()[:2]) for x in opened)
                             or _("no open port"))
        return text
    if kind == "asset_gone":
        return _("gone after {n} missed runs").format(n=after.get("missed_runs", "?"))
    if kind == "port_opened":
        return _("opened {s}").format(s=after.get("service") or where)
    if kind == "port_closed":
        return _("closed {s}").format(s=before.get("service") or where)
    if kind == "service_changed":
        def label(d: dict[str, object]) -> str:
            return " ".join(str(d[k]) for k in ("name", "product", "version") if d.get(k)) or "?"
        return f"{where} {label(before)} → {label(after)}"
    return f"{kind} {where}".strip()


OPEN_LIST = ", ".join(sorted(f"'{s.value}'" for s in OPEN_STATES))
OPEN_SQL = f"status IN ({OPEN_LIST})"


def read_dashboard(conn: Any, dialect: Dialect, now: datetime, tz: tzinfo, *, days: int
                   ) -> DashboardData:
    """Everything the dashboard shows, from a DB-API connection (``sqlite3`` or
    ``psycopg``), in five statements that return about a hundred rows in all.

    The database does the work: the drivers release the interpreter's lock while a
    statement runs but take it back for every row they hand over, so a read that
    returned thousands of rows crawled while the TUI's main thread was busy drawing
    (``tui.prefetch`` runs this while Textual is imported)."""
    m = mark(dialect)
    at_now = bind_time(now, dialect)
    severity = dict.fromkeys(SEVERITY_ORDER, 0)
    for sev, n in rows(conn, f"SELECT severity, COUNT(*) FROM finding WHERE {OPEN_SQL} "
                             "GROUP BY severity"):
        severity[Severity(sev)] = int(n)
    overdue = sorted(
        (OverdueLine(code, name, int(n), read_stamp(oldest)) for code, name, n, oldest in rows(
            conn, f"""SELECT u.code, u.name, COUNT(*), MIN(f.due_at)
                        FROM finding f JOIN unit u ON u.id = f.unit_id
                       WHERE f.{OPEN_SQL} AND f.due_at < {m}
                       GROUP BY u.code, u.name""", (at_now,))),
        key=lambda o: (-o.overdue, o.oldest_due or now, o.code))
    changes = [ChangeLine(read_stamp(at), code, address,
                          change_text(kind, protocol, port, _json(before), _json(after)))
               for at, code, address, kind, protocol, port, before, after in rows(conn, f"""
                   SELECT c.at, u.code, c.address, c.kind, c.protocol, c.port, c.before,
                          c.after
                     FROM change c JOIN unit u ON u.id = c.unit_id
                    ORDER BY c.id DESC LIMIT {int(RECENT_CHANGES)}""")]
    drills = [DrillLine(rid, title, code, read_stamp(started)) for rid, title, code, started
              in rows(conn, """
                   SELECT r.id, r.playbook_title, u.code, r.started_at
                     FROM drillrun r JOIN unit u ON u.id = r.unit_id
                    WHERE r.state = 'running' ORDER BY r.id""")]
    day_list = trend_days(days, now, tz)
    trend = _trend(conn, dialect, day_list, tz, open_now=sum(severity.values()))
    return DashboardData(severity, overdue, changes, drills, trend, day_list, now)


def _trend(conn: Any, dialect: Dialect, day_list: list[date], tz: tzinfo, *, open_now: int
           ) -> list[int]:
    """:func:`open_trend` over every finding (tested equal), in one statement.

    Only the findings first seen or changed within the window are looked at: any other
    has had its present status throughout it, so the ``open_now`` findings less the
    open ones looked at were open on every day. Each finding looked at adds +1 from its
    first sight and, at each status event that opens or closes it (the event records
    the move: ``from_status`` -> ``to_status``, none for the first), ±1 from that
    instant (or from its first sight, if that is later); the statement sums these by
    the day they start counting on, and a day's figure is what was added before its
    end."""
    if not day_list:
        return []
    m = mark(dialect)
    window = bind_time(datetime.combine(day_list[0], time.min, tzinfo=tz), dialect)
    ends = [bind_time(datetime.combine(d + timedelta(days=1), time.min, tzinfo=tz), dialect)
            for d in day_list]
    opened = f"CASE WHEN to_status IN ({OPEN_LIST}) THEN 1 ELSE 0 END"
    was_open = f"CASE WHEN from_status IS NULL OR from_status IN ({OPEN_LIST}) THEN 1 ELSE 0 END"
    day = " ".join(f"WHEN t < {m} THEN {i}" for i in range(len(ends)))
    added: dict[int, int] = {}
    for bucket, n in rows(conn, f"""
            WITH c AS (SELECT id, first_seen AS fs, status FROM finding
                        WHERE status_changed_at >= {m} OR first_seen >= {m}),
                 moves AS (SELECT finding_id, at, {opened} - {was_open} AS d
                             FROM findingevent
                            WHERE kind = '{STATUS_EVENT}' AND finding_id IN (SELECT id FROM c)),
                 d AS (SELECT fs AS t, 1 AS d FROM c
                       UNION ALL
                       SELECT CASE WHEN moves.at > c.fs THEN moves.at ELSE c.fs END, moves.d
                         FROM moves JOIN c ON c.id = moves.finding_id WHERE moves.d <> 0)
            SELECT CASE {day} ELSE {len(ends)} END, SUM(d) FROM d GROUP BY 1
            UNION ALL
            SELECT -1, COUNT(*) FROM c WHERE {OPEN_SQL}""", (window, window, *ends)):
        added[int(bucket)] = int(n)
    out, running = [], open_now - added.pop(-1, 0)
    for i in range(len(day_list)):
        running += added.get(i, 0)
        out.append(running)
    return out


def _json(value: Any) -> dict[str, Any] | None:
    """A change's ``before`` / ``after`` (an object, or nothing)."""
    decoded = json_value(value)
    return decoded if isinstance(decoded, dict) else None


def quick_gather(url: str, now: datetime, tz: tzinfo, *, days: int) -> DashboardData | None:
    """The dashboard through ``garrison.quickread`` (no ORM: the TUI's first screen paints
    before SQLAlchemy is imported); None when the full path must answer (see
    :func:`gather`), including when an expired risk acceptance must be reopened first."""
    def answer(conn: Any, dialect: Dialect) -> DashboardData:
        if must_sweep(conn, dialect, now):
            raise Fallback
        return read_dashboard(conn, dialect, now, tz, days=days)

    return read(url, answer)


def gather(session: Session, now: datetime, tz: tzinfo, *, days: int) -> DashboardData:
    """The same, through an ORM session's own DB-API connection (the same SQL)."""
    bind = session.get_bind()
    dialect: Dialect = "postgresql" if bind.dialect.name == "postgresql" else "sqlite"
    conn = session.connection().connection.driver_connection
    return read_dashboard(conn, dialect, now, tz, days=days)


@dataclass(frozen=True)
class Loaded:
    data: DashboardData
    reopened: tuple[int, ...]
    """Findings whose expired risk acceptance was reopened first (the full path)."""


def load(ctx: ActionContext, now: datetime, tz: tzinfo, *, days: int) -> Loaded:
    """The full path, when :func:`quick_gather` cannot answer: reopen expired risk
    acceptances (as every findings view does), then read through an ORM session."""
    from garrison.db import read_session
    from garrison.findings.service import sweep

    reopened = sweep(ctx)
    with read_session(ctx.settings) as session:
        return Loaded(gather(session, now, tz, days=days), reopened)
