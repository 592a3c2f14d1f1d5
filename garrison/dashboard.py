"""What the TUI's dashboard shows, read in one session: the queries and the pure math.

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
from typing import TYPE_CHECKING, NamedTuple, Protocol

from garrison.i18n import _
from garrison.vocab import OPEN_STATES, SEVERITY_ORDER, FindingStatus, Severity

if TYPE_CHECKING:
    from sqlmodel import Session

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
    ends = [datetime.combine(d + timedelta(days=1), time.min, tzinfo=tz)
            for d in trend_days(days, now, tz)]
    by_finding: dict[int | None, list[_StatusEvent]] = defaultdict(list)
    for event in events:
        if event.kind == STATUS_EVENT:
            by_finding[event.finding_id].append(event)
    delta = [0] * (days + 1)
    for finding in findings:
        history = sorted(by_finding.get(finding.id, ()), key=lambda e: e.at)
        for start, stop in _open_spans(finding.first_seen, history):
            # open on the days whose end e has start < e <= stop
            low = bisect_right(ends, start)
            high = days if stop is None else bisect_right(ends, stop)
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
    oncall: OnCall | None
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


def gather(session: Session, now: datetime, tz: tzinfo, *, days: int
           ) -> DashboardData:
    """Everything the dashboard shows, read in one session (in a worker thread)."""
    import sqlalchemy as sa
    from sqlmodel import col, or_, select

    from garrison.findings.listing import FindingFilter, read_time
    from garrison.findings.summary import summarise
    from garrison.models import Change, DrillRun, DrillState, Finding, FindingEvent, Unit

    summary = summarise(session, FindingFilter(), now=now, time_to_fix=False)
    severity = {s: sum(line.active.get(s, 0) for line in summary.lines)
                for s in SEVERITY_ORDER}

    status, due = col(Finding.status), col(Finding.due_at)
    oldest = dict(session.exec(
        select(col(Unit.code), sa.func.min(due))
        .join(Unit, col(Finding.unit_id) == col(Unit.id))
        .where(status.in_(OPEN_STATES), due < now).group_by(col(Unit.code))).all())
    overdue = sorted(
        (OverdueLine(line.code, line.name, line.overdue, read_time(oldest.get(line.code)))
         for line in summary.lines if line.overdue),
        key=lambda o: (-o.overdue, o.oldest_due or now, o.code))

    changes = [ChangeLine(c.at, code, c.address,
                          change_text(c.kind.value, c.protocol, c.port, c.before, c.after))
               for c, code in session.exec(
                   select(Change, Unit.code).join(Unit, col(Change.unit_id) == col(Unit.id))
                   .order_by(col(Change.id).desc()).limit(RECENT_CHANGES)).all()]

    oncall = None  # the expert pool's (``expert_pool.service.on_call``): filled by the caller

    drills = [DrillLine(r.id or 0, r.playbook_title, code, r.started_at)
              for r, code in session.exec(
                  select(DrillRun, Unit.code).join(Unit, col(DrillRun.unit_id) == col(Unit.id))
                  .where(col(DrillRun.state) == DrillState.running)
                  .order_by(col(DrillRun.id))).all()]

    day_list = trend_days(days, now, tz)
    window = datetime.combine(day_list[0], time.min, tzinfo=tz) if day_list else now
    # A finding closed before the window, and unchanged since, was closed throughout it.
    candidates = select(col(Finding.id)).where(or_(
        status.in_(OPEN_STATES), col(Finding.status_changed_at) >= window))
    findings = [TrendFinding(fid or 0, first) for fid, first in session.exec(
        select(col(Finding.id), col(Finding.first_seen))
        .where(col(Finding.id).in_(candidates))).all()]
    events = [TrendEvent(fid, at, to) for fid, at, to in session.exec(
        select(col(FindingEvent.finding_id), col(FindingEvent.at), col(FindingEvent.to_status))
        .where(col(FindingEvent.kind) == STATUS_EVENT,
               col(FindingEvent.finding_id).in_(candidates))
        .order_by(col(FindingEvent.at), col(FindingEvent.id))).all()]
    trend = open_trend(findings, events, days, now, tz=tz)
    return DashboardData(severity, overdue, changes, oncall, drills, trend, day_list, now)
