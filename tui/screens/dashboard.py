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

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static
from textual.worker import get_current_worker

from garrison.dashboard import BAR_WIDTH, TREND_DAYS, DashboardData, OnCall, OnCallPerson
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.vocab import SEVERITY_ORDER, Severity
from garrison.words import SEVERITY_STYLE
from tui.screens.base import GarrisonScreen, PaletteCommand
from tui.timefmt import zoned
from tui.widgets.table import Col, MeasuredTable

REFRESH_SECONDS = 30.0
PANEL_COLUMNS = {
    "overdue": [Col("unit", _("unit"), 0), Col("name", _("name"), 2, flex=True, min_width=10),
                Col("overdue", _("overdue"), 1), Col("oldest_due", _("oldest due"), 3)],
    "changes": [Col("time", _("time"), 1), Col("unit", _("unit"), 2, max_width=14),
                Col("address", _("address"), 3),
                Col("what", _("what"), 0, flex=True, min_width=16)],
    "oncall": [Col("name", _("name"), 0),
               Col("organisation", _("organisation"), 2, flex=True, min_width=10),
               Col("phone", _("phone"), 1)],
    "drills": [Col("id", _("id"), 0), Col("title", _("playbook"), 1, flex=True, min_width=16),
               Col("unit", _("unit"), 2, max_width=14), Col("started", _("started"), 3)],
}
"""The panels' tables: a narrow panel drops the highest ranks first (see ``Col``)."""
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
        self.oncall: OnCall | None = None
        """Who is on call (read after the rest: the expert pool's service)."""
        self.oncall_loads = 0
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
        for table_id, columns in PANEL_COLUMNS.items():
            self.query_one(f"#{table_id}", MeasuredTable).set_columns(columns)
        self.timer = self.set_interval(REFRESH_SECONDS, self.tick)
        for widget_id in ("oncall", "oncall-empty"):
            self.query_one(f"#{widget_id}").display = False
        self.query_one("#oncall-shift", Static).update(Text(_("Loading…"), style="dim"))

    def on_screen_resume(self) -> None:
        self.reload()

    def on_resize(self, _event: events.Resize) -> None:
        """The trend's height follows the terminal's: its axis is written again."""
        if self.data is not None:
            self.call_after_refresh(self._trend, self.data)

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
        self.load(self.tz)

    @work(thread=True, exclusive=True, group="dashboard")
    def load(self, tz: tzinfo) -> None:
        """The findings' panels (``garrison.dashboard``: without the ORM when it can); who
        is on call follows once they are drawn (:meth:`load_oncall`)."""
        from garrison import dashboard

        worker = get_current_worker()
        now = self.garrison.now()
        try:
            first = self.garrison.take_prefetched()
            data = first if isinstance(first, DashboardData) else None
            if data is None:
                data = dashboard.quick_gather(self.settings.db, now, tz, days=TREND_DAYS)
            if data is None:
                loaded = dashboard.load(self.context, now, tz, days=TREND_DAYS)
                data = loaded.data
                if loaded.reopened:
                    self.app.call_from_thread(self.say_reopened, loaded.reopened)
        except GarrisonError as exc:
            self.app.call_from_thread(self._show_problem, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, data)

    @work(thread=True, exclusive=True, group="oncall")
    def load_oncall(self, now: datetime) -> None:
        """Who is on call: the expert pool's service (through the ORM, whose import would
        slow the first frame down if it ran beside it)."""
        from expert_pool import service as experts

        try:
            shift = experts.on_call(self.context, at=now, show_contacts=False)
        except GarrisonError as exc:
            self.app.call_from_thread(self._show_problem, exc)
            return
        oncall = None if shift is None else OnCall(shift.starts, shift.ends, [
            OnCallPerson(p.name, p.organisation, p.phone) for p in shift.people])
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_oncall, oncall)

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
        self.query_one("#updated", Label).update(_(
            "Updated {t} · refreshes every {n} s · ctrl+r refreshes now").format(
                t=zoned(data.now, self.settings.timezone, "%Y-%m-%d %H:%M:%S"),
                n=int(REFRESH_SECONDS)))
        self.call_after_refresh(self.load_oncall, data.now)

    def _show_oncall(self, oncall: OnCall | None) -> None:
        self.oncall = oncall
        self.oncall_loads += 1
        people = oncall.people if oncall else []
        self._fill("oncall", [[p.name, p.organisation, p.phone or "-"] for p in people])
        shift = self.query_one("#oncall-shift", Static)
        shift.display = oncall is not None
        if oncall is not None:
            shift.update(_("Shift {s} → {e}").format(
                s=self.local(oncall.starts), e=zoned(oncall.ends, self.settings.timezone)))

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
