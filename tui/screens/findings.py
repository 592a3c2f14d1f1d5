"""Findings: a filter bar, a sortable paged table, the selected finding's detail, actions.

The table holds pages of ``PAGE`` rows read with the same SQL as ``garrison findings
list`` (``garrison.findings.listing``), sorted in the database; the next page loads as
the cursor nears the end, so 100,000 findings paint as fast as 100. Every query runs
in a worker thread; a newer filter cancels the older query's result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, DataTable, Footer, Header, Input, Label, Select, Static
from textual.worker import get_current_worker

from garrison.errors import DatabaseBusy, GarrisonError
from garrison.findings.listing import FindingFilter, FindingRow, is_overdue
from garrison.i18n import _
from garrison.vocab import FindingStatus, Severity
from garrison.words import SEVERITY_STYLE
from tui.screens.base import GarrisonScreen, PaletteCommand
from tui.timefmt import zone_label
from tui.widgets.export_prompt import ExportPrompt
from tui.widgets.status_prompt import StatusChange, StatusPrompt
from tui.widgets.table import Col, MeasuredTable
from tui.widgets.text_prompt import TextPrompt

PAGE = 100
COUNT_WAIT = 0.06
"""Seconds the first page waits for the count of every match (read beside it) so that
one frame draws both; a slower count (a big PostgreSQL table) follows the rows."""
ACTIVE = "active"
COLUMNS = [Col("id", _("id"), 0), Col("unit", _("unit"), 7, max_width=14),
           Col("severity", _("severity"), 1), Col("status", _("status"), 2),
           Col("title", _("title"), 3, flex=True, min_width=20),
           Col("where", _("where"), 8, max_width=28), Col("owner", _("owner"), 4, max_width=16),
           Col("due", _("due"), 5), Col("overdue", _("overdue"), 6)]
"""Shown left to right; when the table is narrow the highest ranks go first (where, then
unit, ...) and the title takes the width left."""
UNSORTED = ("where", "overdue")


def where_text(row: FindingRow) -> str:
    where = row.address or "-"
    if row.port is not None:
        where += f":{row.port}/{row.protocol}"
    return where


def _result(counted: Future[int | None]) -> int | None:
    """The count's answer; None when it could not answer (the full path will)."""
    try:
        return counted.result()
    except Exception:  # noqa: BLE001 - the full path reports any problem properly
        return None


class FindingsScreen(GarrisonScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "change_status", _("Status")),
        Binding("o", "assign", _("Assign")),
        Binding("n", "note", _("Note")),
        Binding("x", "export", _("Export")),
        Binding("ctrl+r", "reload", _("Reload")),
        Binding("escape", "focus_table", _("Table"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = FindingFilter(statuses=(FindingStatus.open, FindingStatus.in_progress))
        self.order, self.descending = "id", False
        self.loaded = 0
        self.total: int | None = None
        self.total_of: FindingFilter | None = None
        """The filter ``total`` counts."""
        self.counting = False
        """A read is on its way: the detail of a row highlighted meanwhile waits for it."""
        self.detail_wanted: int | None = None
        self.more = False
        self.asked_at = 0.0
        self.latency: float | None = None
        """Seconds from the last filter change to its rows on screen (for bench/)."""
        self.painted: FindingFilter | None = None
        """The filter whose first page the table shows."""
        self.rows: dict[int, FindingRow] = {}
        self.keep: int | None = None
        self.keep_row = 0
        """The finding the cursor stays on when the table is read again."""
        self.warmed = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder=_("/ words in the title"), id="text",
                        classes="filter compact-short")
            yield Input(placeholder=_("unit (and below)"), id="unit", classes="compact-short")
            yield Select([(s.value, s.value) for s in Severity], prompt=_("any severity"),
                         id="severity", classes="compact-short")
            yield Select([(_("open + in progress"), ACTIVE),
                          *((s.value, s.value) for s in FindingStatus)],
                         value=ACTIVE, prompt=_("any status"), id="status",
                         classes="compact-short")
            yield Input(placeholder=_("owner"), id="owner", classes="compact-short")
            yield Checkbox(_("overdue"), id="overdue", classes="compact-short")
        with Horizontal(id="body"):
            yield MeasuredTable(id="table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail"):
                yield Static(_("Select a finding."), id="detail-text")
        yield Label("", id="count")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#table", MeasuredTable)
        table.more_below = lambda: self.more or (
            self.shown_total is not None and self.loaded < self.shown_total)
        table.set_columns(COLUMNS)
        table.focus()
        self.load_units()
        self.reload()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(_("Findings: change status"), _("s"), self.action_change_status)
        yield PaletteCommand(_("Findings: assign an owner"), _("o"), self.action_assign)
        yield PaletteCommand(_("Findings: add a note"), _("n"), self.action_note)
        yield PaletteCommand(_("Findings: export the current filter"), _("x"),
                             self.action_export)
        yield PaletteCommand(_("Findings: focus the filter"), "/", self.action_focus_filter)
        for column in COLUMNS:
            if column.key not in UNSORTED:
                yield PaletteCommand(_("Findings: sort by {c}").format(c=column.label), "",
                                     partial(self.sort_by, column.key))

    # ------------------------------------------------------------------ filters

    @work(thread=True, group="units")
    def load_units(self) -> None:
        from garrison.org.service import unit_codes

        self.app.call_from_thread(self._set_units, unit_codes(self.context))

    def _set_units(self, codes: list[str]) -> None:
        self.query_one("#unit", Input).suggester = SuggestFromList(codes, case_sensitive=False)

    def read_filter(self) -> FindingFilter:
        severity = self.query_one("#severity", Select).value
        status = self.query_one("#status", Select).value
        if status == ACTIVE:
            statuses: tuple[FindingStatus, ...] = (FindingStatus.open,
                                                   FindingStatus.in_progress)
        elif isinstance(status, str):
            statuses = (FindingStatus(status),)
        else:
            statuses = ()
        overdue = self.query_one("#overdue", Checkbox).value
        if overdue and status == ACTIVE:
            statuses = ()  # overdue means open or in progress already
        return FindingFilter(
            unit=self.query_one("#unit", Input).value.strip() or None,
            severities=(Severity(severity),) if isinstance(severity, str) else (),
            statuses=statuses, owner=self.query_one("#owner", Input).value.strip() or None,
            overdue=overdue, text=self.query_one("#text", Input).value.strip() or None)

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def filter_changed(self) -> None:
        new = self.read_filter()
        if new != self.filter:
            self.filter = new
            self.reload(same_rows=False)

    def sort_by(self, key: str) -> None:
        if key in UNSORTED:
            return
        self.descending = not self.descending if key == self.order else key in (
            "first_seen",)
        self.order = key
        self.reload(same_rows=False)

    @on(DataTable.HeaderSelected)
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    # ------------------------------------------------------------------ rows

    def action_reload(self) -> None:
        self.reload()

    def reload(self, keep: int | None = None, *, same_rows: bool = True) -> None:
        """Read the table again. The cursor stays on the finding it is on (or on ``keep``,
        the finding just acted on) if that finding still matches; as many rows as were
        loaded are read again, so it is found however far down it was. If it no longer
        matches, the cursor stays on the same line (``same_rows``: the rows are the same
        question's) or goes to the top (a new filter or order)."""
        self.keep = keep if keep is not None else self.selected_id()
        self.keep_row = self.query_one("#table", DataTable).cursor_row if same_rows else 0
        self.asked_at = time.perf_counter()
        self.counting = True
        self.fetch(self.filter, self.order, self.descending, 0, max(PAGE, self.loaded))

    @work(thread=True, exclusive=True, group="rows")
    def fetch(self, f: FindingFilter, order: str, descending: bool, offset: int,
              limit: int = PAGE) -> None:
        worker = get_current_worker()
        if (order == "id" and not descending and offset == 0 and limit == PAGE
                and self._quick(f)):
            return
        from garrison.findings import service

        try:
            if offset == 0:  # risk acceptances past their date reopen, as in the CLI
                reopened = service.sweep(self.context)
                if reopened:
                    self.app.call_from_thread(self.say_reopened, reopened)
            if not self._read_page(f, order, descending, offset, limit):
                return
            if offset == 0:
                total = service.count(self.context, f)
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._show_total, f, total)
        except GarrisonError as exc:
            self.app.call_from_thread(self._show_problem, exc)

    def _read_page(self, f: FindingFilter, order: str, descending: bool, offset: int,
                   limit: int = PAGE) -> bool:
        """Read a page and hand it to the table; False if the worker was cancelled."""
        from garrison.findings import service

        rows = service.rows(self.context, f, limit=limit + 1, offset=offset, order=order,
                            descending=descending)
        if get_current_worker().is_cancelled:
            return False
        self.app.call_from_thread(self._show_rows, f, rows[:limit], offset, len(rows) > limit)
        return True

    def _quick(self, f: FindingFilter) -> bool:
        """The first page by id through ``garrison.findings.quick`` (the standard library's
        sqlite3, no ORM), as ``findings list`` does; False when that road cannot answer
        exactly (the ORM path then does). The count of every match runs beside the page,
        on a connection of its own (the database works without the interpreter's lock),
        so both are on screen about when the rows alone would be. Then the ORM is
        imported in the background."""
        from garrison.findings.quick import quick_count, quick_list
        from tui.prefetch import in_thread

        worker = get_current_worker()
        now = self.garrison.now()
        counted = in_thread("findings-count",
                            partial(quick_count, self.settings.db, f, now=now))
        page = quick_list(self.settings.db, f, limit=PAGE, now=now, count=False)
        if page is None:
            return False
        if worker.is_cancelled:
            return True
        full = len(page.rows) == PAGE
        total: int | None = len(page.rows)
        if full:  # rows and count drawn in one frame, unless the count is slow to come
            try:
                total = counted.result(timeout=COUNT_WAIT)
            except FutureTimeout:
                self.app.call_from_thread(self._show_page, f, page.rows, full, None)
                total = _result(counted)
                if total is not None and not worker.is_cancelled:
                    self.app.call_from_thread(self._show_total, f, total)
                return self._warmed(total is not None)
            except Exception:  # noqa: BLE001 - the full path reports any problem properly
                total = None
        if total is None:  # e.g. a risk acceptance expired in between: the full path sweeps
            return False
        self.app.call_from_thread(self._show_page, f, page.rows, full, total)
        return self._warmed(True)

    def _warmed(self, answered: bool) -> bool:
        """After the first quick page: import the ORM for what follows, then take the
        start-up's objects out of the garbage collector's scans."""
        if answered and not self.warmed:
            self.warmed = True
            import garrison.findings.queries  # noqa: F401 - warm the ORM for what follows

            self.garrison.settle_memory()
        return answered
    def _show_problem(self, exc: GarrisonError) -> None:
        self.query_one("#count", Label).update(Text(exc.message, style="bold red"))
        self.query_one("#table", DataTable).clear()
        self.rows.clear()
        self.counting, self.detail_wanted = False, None

    def _show_rows(self, f: FindingFilter, rows: list[FindingRow], offset: int,
                   more: bool) -> None:
        if f != self.filter:
            return  # an older question
        table = self.query_one("#table", DataTable)
        if offset == 0:
            table.clear()
            self.rows.clear()
        for row in rows:
            self.rows[row.id] = row
            table.add_row(*self.cells(row), key=str(row.id))
        self.loaded = offset + len(rows)
        self.more = more
        if offset == 0:
            self.latency = time.perf_counter() - self.asked_at
            self.painted = f
            if rows:
                ids = [r.id for r in rows]
                keep = self.keep
                # gone from the filter (fixed, say): the row that took its place
                at = ids.index(keep) if keep in ids else min(self.keep_row, len(ids) - 1)
                table.move_cursor(row=at if keep is not None else 0)
            else:
                self._detail(Text(_("No finding matches the filter."), style="dim"))
        self._count_text()

    def _show_page(self, f: FindingFilter, rows: list[FindingRow], more: bool,
                   total: int | None) -> None:
        """The first page, and the count when it has come (one frame draws both)."""
        self._show_rows(f, rows, 0, more)
        if total is not None:
            self._show_total(f, total)

    def _show_total(self, f: FindingFilter, total: int) -> None:
        if f == self.filter:
            self.total, self.total_of = total, f
            self.more = self.loaded < total
            self._count_text()
            self._detail_when_counted()

    def _detail_when_counted(self) -> None:
        """The detail of the row highlighted while the rows were being counted (after a
        keystroke in the filter: its read would slow the count's drawing down)."""
        self.counting = False
        wanted, self.detail_wanted = self.detail_wanted, None
        if wanted is not None and wanted == self.selected_id():
            # after the frame with the rows: its read would compete with the drawing
            self.call_after_refresh(self._detail_if_still, wanted)

    def _detail_if_still(self, wanted: int) -> None:
        if wanted == self.selected_id() and not self.counting:
            self.show_detail(wanted)

    @property
    def shown_total(self) -> int | None:
        """The count of every match of the filter shown (None while it is counted)."""
        return self.total if self.total_of == self.filter else None

    def _count_text(self) -> None:
        arrow = "↓" if self.descending else "↑"
        total = f"{self.shown_total:,}" if self.shown_total is not None else "…"
        self.query_one("#count", Label).update(_(
            "{n:,} of {t} findings shown · sorted by {o} {a} · s status, o assign, n note, "
            "x export").format(n=self.loaded, t=total, o=self.order, a=arrow))

    def cells(self, row: FindingRow) -> list[Any]:
        due = self.local(row.due_at, "%Y-%m-%d") if row.due_at else ""
        return [str(row.id), row.unit,
                Text(row.severity.value, style=SEVERITY_STYLE[row.severity.value]),
                row.status.value, row.title, where_text(row), row.owner,
                Text(due, style="bold red") if row.overdue else due,
                Text(_("overdue"), style="bold red") if row.overdue else ""]

    @on(DataTable.RowHighlighted, "#table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        self.garrison.selected_finding = int(event.row_key.value)
        if self.more and event.cursor_row >= self.loaded - 10:
            self.more = False
            self.fetch_more()
        if self.counting:
            self.detail_wanted = int(event.row_key.value)
        else:
            self.show_detail(int(event.row_key.value))

    @work(thread=True, group="more")
    def fetch_more(self) -> None:
        """The next page, in its own group (it must not cancel the count of the first)."""
        self._read_page(self.filter, self.order, self.descending, self.loaded)

    @on(MeasuredTable.WantsEnd)
    def load_to_end(self) -> None:
        self.more = False
        self.notify(_("Loading to the end of the list…"), timeout=3)
        self.fetch_rest(self.filter, self.order, self.descending, self.loaded)

    @work(thread=True, exclusive=True, group="more")
    def fetch_rest(self, f: FindingFilter, order: str, descending: bool, offset: int) -> None:
        """Every row after the loaded ones (``G``/``End``: the real end), then the cursor
        goes to the last."""
        from garrison.findings import service

        rows = service.rows(self.context, f, limit=None, offset=offset, order=order,
                            descending=descending)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_rows, f, rows, offset, False)
            self.app.call_from_thread(self._cursor_to_end)

    def _cursor_to_end(self) -> None:
        table = self.query_one("#table", DataTable)
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    # ------------------------------------------------------------------ detail

    def selected_id(self) -> int | None:
        table = self.query_one("#table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    @work(thread=True, exclusive=True, group="detail")
    def show_detail(self, finding_id: int) -> None:
        from garrison.findings import service

        try:
            detail = service.read_detail(self.context, finding_id)
        except GarrisonError as exc:
            self.app.call_from_thread(self._detail, Text(exc.message))
            return
        render = self.render_detail(detail, self.garrison.now(), self.local,
                                    self.settings.timezone)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._detail, render)

    def _detail(self, render: Any) -> None:
        try:
            self.query_one("#detail-text", Static).update(render)
        except NoMatches:  # a late answer while the screen is taken down is dropped
            pass

    def local(self, moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A stored (UTC) time in the deployment's zone, as every screen shows times."""
        return moment.astimezone(ZoneInfo(self.settings.timezone)).strftime(fmt)

    @staticmethod
    def render_detail(detail: Any, now: datetime, local: Any, zone: str) -> Group:
        f = detail.finding
        overdue = is_overdue(f.status, f.due_at, now)
        head = Text.from_markup(
            f"[b]#{f.id} {escape(f.title)}[/b]\n"
            f"[{SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/] · {f.status.value}"
            + (f" · [bold red]{_('overdue')}[/]" if overdue else "") + "\n"
            + _("unit {c} {n}").format(c=detail.unit_code, n=escape(detail.unit_name)) + "\n"
            + _("owner {o} · due {d}").format(
                o=escape(f.owner), d=local(f.due_at, "%Y-%m-%d") if f.due_at else "-")
            + "\n" + _("where {w}").format(w=f.address or "-")
            + (f":{f.port}/{f.protocol}" if f.port is not None else "") + "\n"
            + _("rule {r} · source {s}").format(r=f.rule_id, s=f.source.value))
        parts: list[Any] = [head]
        if f.description:
            parts.append(Text("\n" + f.description))
        if f.remediation:
            parts.append(Text("\n" + _("Remediation: ") + f.remediation, style="italic"))
        if f.evidence:
            evidence = Table(title=_("Evidence"), show_header=False, expand=True)
            for key, value in list(f.evidence.items())[:20]:
                evidence.add_row(str(key), escape(str(value))[:300])
            parts.append(evidence)
        history = Table(_("when ({zone})").format(zone=zone_label(zone, now)), _("what"),
                        _("who"), title=_("History"), expand=True)
        for event in detail.events:
            what = event.kind.value
            if event.from_status and event.from_status != event.to_status:
                what = f"{event.from_status.value} → {event.to_status.value}"
            elif event.kind.value == "status":
                what = event.to_status.value
            if event.note:
                what += f"\n{event.note}"
            history.add_row(local(event.at), escape(what),
                            escape(event.actor))
        parts.append(history)
        return Group(*parts)

    # ------------------------------------------------------------------ actions

    def action_focus_table(self) -> None:
        self.query_one("#table", DataTable).focus()

    def _need_selection(self) -> int | None:
        finding_id = self.selected_id()
        if finding_id is None:
            self.notify(_("No finding selected."), severity="warning")
        return finding_id

    def action_change_status(self) -> None:
        finding_id = self._need_selection()
        if finding_id is None:
            return
        current = self.rows[finding_id].status if finding_id in self.rows else (
            FindingStatus.open)
        self._ask_status(finding_id, current, None)

    def _ask_status(self, finding_id: int, current: FindingStatus,
                    initial: StatusChange | None, error: str | None = None) -> None:
        def done(change: StatusChange | None) -> None:
            if change is not None:
                self.write_status(finding_id, change, current)

        self.app.push_screen(StatusPrompt(finding_id, current, initial, error), done)

    @work(thread=True, group="write")
    def write_status(self, finding_id: int, change: StatusChange,
                     current: FindingStatus) -> None:
        from garrison.findings import service

        def act() -> str:
            service.set_status(self.context, finding_id=finding_id, status=change.status,
                               reason=change.reason, until=change.until,
                               approver=change.approver)
            return _("Finding #{id} is now {s}.").format(id=finding_id, s=change.status.value)

        self._write(act, finding_id,
                    again=lambda error: self._ask_status(finding_id, current, change, error))

    def _write(self, act: Callable[[], str], finding_id: int | None, *,
               again: Callable[[str | None], None]) -> None:
        """Run one action (``act``: a service call, one transaction); say what happened.

        When the action is refused, or the database stays busy, nothing was saved: the
        prompt comes back (``again``) with what the user entered and why, so nothing
        typed is lost. After a write the table reloads with the cursor still on the
        finding acted on (``finding_id``)."""
        try:
            message = act()
        except DatabaseBusy as exc:
            self.app.call_from_thread(
                self.notify, _("{why}. What you entered is kept: confirm again to retry.")
                .format(why=exc.message), title=_("Database busy"), severity="warning",
                timeout=12, markup=False)
            self.app.call_from_thread(again, None)
            return
        except GarrisonError as exc:
            self.app.call_from_thread(self.notify, exc.message, title=_("Refused"),
                                      severity="error", timeout=8, markup=False)
            self.app.call_from_thread(again, exc.message)
            return
        self.app.call_from_thread(self.notify, message, markup=False)
        self.app.call_from_thread(self.reload, finding_id)

    def action_assign(self) -> None:
        finding_id = self._need_selection()
        if finding_id is None:
            return
        self._ask_owner(finding_id, self.rows[finding_id].owner if finding_id in self.rows
                        else "")

    def _ask_owner(self, finding_id: int, value: str, error: str | None = None) -> None:
        def done(owner: str | None) -> None:
            if owner:
                self.write_owner(finding_id, owner)

        self.app.push_screen(TextPrompt(_("New owner of finding #{id}:").format(id=finding_id),
                                        value=value, error=error), done)

    @work(thread=True, group="write")
    def write_owner(self, finding_id: int, owner: str) -> None:
        from garrison.findings import service

        def act() -> str:
            service.assign(self.context, finding_id=finding_id, owner=owner, note=None)
            return _("Finding #{id} now belongs to {o}.").format(id=finding_id, o=owner)

        self._write(act, finding_id,
                    again=lambda error: self._ask_owner(finding_id, owner, error))

    def action_note(self) -> None:
        finding_id = self._need_selection()
        if finding_id is not None:
            self._ask_note(finding_id, "")

    def _ask_note(self, finding_id: int, value: str, error: str | None = None) -> None:
        def done(text: str | None) -> None:
            if text:
                self.write_note(finding_id, text)

        self.app.push_screen(TextPrompt(_("Note on finding #{id}:").format(id=finding_id),
                                        value=value, error=error), done)

    @work(thread=True, group="write")
    def write_note(self, finding_id: int, text: str) -> None:
        from garrison.findings import service

        def act() -> str:
            service.add_note(self.context, finding_id=finding_id, text=text)
            return _("Note added to finding #{id}.").format(id=finding_id)

        self._write(act, finding_id,
                    again=lambda error: self._ask_note(finding_id, text, error))

    def action_export(self) -> None:
        self._ask_export(replace(self.filter), None)

    def _ask_export(self, f: FindingFilter, initial: tuple[str, Any] | None,
                    error: str | None = None) -> None:
        described = ", ".join(f"{k}={v}" for k, v in f.describe().items()) or _("everything")

        def done(answer: Any) -> None:
            if answer is not None:
                fmt, path = answer
                self.write_export(f, fmt, path)

        self.app.push_screen(ExportPrompt(described, initial, error), done)

    @work(thread=True, group="write")
    def write_export(self, f: FindingFilter, fmt: str, path: Any) -> None:
        from garrison.findings import service

        def act() -> str:
            result, _reopened = service.export(self.context, fmt=fmt, path=path, filters=f)
            return _("Wrote {n} findings to {p} (manifest beside it).").format(
                n=result.rows, p=result.path)

        self._write(act, None, again=lambda error: self._ask_export(f, (fmt, path), error))
