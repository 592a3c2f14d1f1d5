"""Dashboard: what needs attention now, on one screen.

Six panels, read in one worker thread every 30 seconds (and on ``ctrl+r``, and when
the screen comes back into view): open findings by severity, the league table of
overdue findings by unit, the open-findings trend of the last 30 days, the latest
inventory changes, who is on call, and the drills running.

The trend is computed from the findings' status history by :func:`open_trend`, a
pure function: a finding counts on day D when it was first seen by the end of D and
its last status change by then left it open or in progress.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static
from textual.worker import get_current_worker

from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.vocab import OPEN_STATES, SEVERITY_ORDER, FindingStatus, Severity
from tui.screens.base import SEVERITY_STYLE, GarrisonScreen, PaletteCommand
from tui.widgets.table import MeasuredTable

if TYPE_CHECKING:
    from sqlmodel import Session

REFRESH_SECONDS = 30.0
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


def gather(session: Session, now: datetime, tz: tzinfo, *, days: int = TREND_DAYS
           ) -> DashboardData:
    """Everything the dashboard shows, read in one session (in a worker thread)."""
    import sqlalchemy as sa
    from sqlmodel import col, or_, select

    from expert_pool.masking import mask_phone
    from expert_pool.oncall import on_call
    from garrison.findings.listing import FindingFilter, read_time
    from garrison.findings.summary import summarise
    from garrison.models import Change, DrillRun, DrillState, Finding, FindingEvent, Unit

    summary = summarise(session, FindingFilter(), now=now)
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

    shift = on_call(session, now)
    oncall = None if shift is None else OnCall(shift.starts, shift.ends, [
        OnCallPerson(e.name, e.organisation, mask_phone(e.phone)) for e in shift.experts])

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


# ---------------------------------------------------------------------- the screen


class DashboardScreen(GarrisonScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", _("Refresh")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: DashboardData | None = None
        """What the panels show (the last load)."""
        self.loads = 0
        self.timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            with Vertical(id="severity-panel", classes="panel") as panel:
                panel.border_title = _("Open findings")
                for s in SEVERITY_ORDER:
                    yield Static("", id=f"sev-{s.value}", classes="sev")
                yield Static("", id="sev-total")
            with Vertical(id="trend-panel", classes="panel") as panel:
                panel.border_title = _("Open findings, last {n} days").format(n=TREND_DAYS)
                with Horizontal(id="trend-row"):
                    yield Static("", id="trend-axis")
                    yield Sparkline([], id="trend")
                yield Static("", id="trend-caption")
        with Horizontal(id="middle"):
            with Vertical(id="overdue-panel", classes="panel") as panel:
                panel.border_title = _("Overdue findings by unit")
                yield MeasuredTable(id="overdue", cursor_type="none", zebra_stripes=True)
                yield Static(_("No overdue findings."), id="overdue-empty", classes="empty")
            with Vertical(id="changes-panel", classes="panel") as panel:
                panel.border_title = _("Recent inventory changes")
                yield MeasuredTable(id="changes", cursor_type="none", zebra_stripes=True)
                yield Static(_("No inventory change yet: import a scan with "
                               "garrison scan import or run one with garrison scan run."),
                             id="changes-empty", classes="empty")
        with Horizontal(id="bottom"):
            with Vertical(id="oncall-panel", classes="panel") as panel:
                panel.border_title = _("On call now")
                yield Static("", id="oncall-shift")
                yield MeasuredTable(id="oncall", cursor_type="none")
                yield Static(_("Nobody is on call: plan a rotation with "
                               "garrison experts oncall plan"),
                             id="oncall-empty", classes="empty")
            with Vertical(id="drills-panel", classes="panel") as panel:
                panel.border_title = _("Running drills")
                yield MeasuredTable(id="drills", cursor_type="none")
                yield Static(_("No drill is running: start one with "
                               "garrison drill run PLAYBOOK."),
                             id="drills-empty", classes="empty")
        yield Label(_("Loading…"), id="updated")
        yield Footer()

    def on_mount(self) -> None:
        columns = {
            "overdue": [_("unit"), _("name"), _("overdue"), _("oldest due")],
            "changes": [_("time"), _("unit"), _("address"), _("what")],
            "oncall": [_("name"), _("organisation"), _("phone")],
            "drills": [_("id"), _("playbook"), _("unit"), _("started")],
        }
        for table_id, labels in columns.items():
            self.query_one(f"#{table_id}", DataTable).add_columns(*labels)
        self.timer = self.set_interval(REFRESH_SECONDS, self.tick)

    def on_screen_resume(self) -> None:
        self.reload()

    def tick(self) -> None:
        """Every ``REFRESH_SECONDS``: reload, unless another screen is shown (coming back
        reloads)."""
        if self.is_current:
            self.reload()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(_("Dashboard: refresh"), "ctrl+r", self.action_reload)

    def action_reload(self) -> None:
        self.reload()

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.settings.timezone)

    def reload(self) -> None:
        self.load(self.garrison.now(), self.tz)

    @work(thread=True, exclusive=True, group="dashboard")
    def load(self, now: datetime, tz: tzinfo) -> None:
        from garrison.db import read_session

        try:
            with read_session(self.settings) as session:
                data = gather(session, now, tz)
        except GarrisonError as exc:
            self.app.call_from_thread(self._show_problem, exc)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, data)

    def _show_problem(self, exc: GarrisonError) -> None:
        self.query_one("#updated", Label).update(Text(exc.message, style="bold red"))

    # ------------------------------------------------------------------ panels

    def local(self, value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(self.tz).strftime(fmt)

    def _show(self, data: DashboardData) -> None:
        self.data = data
        self.loads += 1
        self._severity(data.severity)
        self._trend(data)
        self._fill("overdue", [
            [o.code, o.name, Text(str(o.overdue), style="bold red", justify="right"),
             self.local(o.oldest_due, "%Y-%m-%d") if o.oldest_due else ""]
            for o in data.overdue], [o.code for o in data.overdue])
        self._fill("changes", [[self.local(c.at), c.unit, c.address, c.what]
                               for c in data.changes])
        self._fill("drills", [[str(d.id), d.title, d.unit, self.local(d.started_at)]
                              for d in data.drills], [str(d.id) for d in data.drills])
        people = data.oncall.people if data.oncall else []
        self._fill("oncall", [[p.name, p.organisation, p.phone or "-"] for p in people])
        shift = self.query_one("#oncall-shift", Static)
        shift.display = data.oncall is not None
        if data.oncall is not None:
            shift.update(_("Shift {s} → {e}").format(s=self.local(data.oncall.starts),
                                                       e=self.local(data.oncall.ends)))
        self.query_one("#updated", Label).update(_(
            "Updated {t} · refreshes every {n} s · ctrl+r refreshes now").format(
                t=self.local(data.now, "%Y-%m-%d %H:%M:%S"), n=int(REFRESH_SECONDS)))

    def _severity(self, counts: dict[Severity, int]) -> None:
        top = max(counts.values(), default=0) or 1
        for s in SEVERITY_ORDER:
            n = counts.get(s, 0)
            style = SEVERITY_STYLE[s.value]
            bar = "█" * (round(n / top * BAR_WIDTH) if n else 0)
            self.query_one(f"#sev-{s.value}", Static).update(Text.assemble(
                (f"{s.value:<9}", style), (f"{n:>6} ", "bold" if n else "dim"), (bar, style)))
        total = sum(counts.values())
        self.query_one("#sev-total", Static).update(
            Text(_("{n} open or in progress").format(n=total), style="bold") if total
            else Text(_("No open findings."), style="dim"))

    def _trend(self, data: DashboardData) -> None:
        self.query_one("#trend", Sparkline).data = list(data.trend)
        caption = self.query_one("#trend-caption", Static)
        axis = self.query_one("#trend-axis", Static)
        # The sparkline stretches lowest to highest: the axis says what those are.
        height = self.query_one("#trend", Sparkline).styles.height
        lines = int(height.value) if height is not None else 1
        low, high = min(data.trend, default=0), max(data.trend, default=0)
        axis.update("\n".join([str(high) if high != low else "",
                                *([""] * max(lines - 2, 0)), str(low)]))
        if not data.trend or not any(data.trend):
            caption.update(Text(_("No open findings in the last {n} days.").format(
                n=len(data.trend)), style="dim"))
            return
        caption.update(_(
            "Open at the end of each day, {a} → {b}: {first} → {last} "
            "(lowest {low}, highest {high})").format(
                a=data.days[0].isoformat(), b=data.days[-1].isoformat(), first=data.trend[0],
                last=data.trend[-1], low=min(data.trend), high=max(data.trend)))

    def _fill(self, table_id: str, rows: list[list[object]],
              keys: list[str] | None = None) -> None:
        """Replace a panel's rows; show its empty message instead when there are none."""
        table = self.query_one(f"#{table_id}", DataTable)
        table.clear()
        for i, row in enumerate(rows):
            table.add_row(*row, key=keys[i] if keys else None)
        table.display = bool(rows)
        self.query_one(f"#{table_id}-empty", Static).display = not rows
