"""Drills: the runs (``garrison drill runs``), refreshed every two seconds; ``enter`` opens
a run's live console (``tui.widgets.drill_console``). ``/`` filters the runs read: every
word typed must be in the run's id, playbook, unit, clock or state.

Runs are started and driven by the engine (``garrison drill run PLAYBOOK``), in
another terminal; this screen and the console read through ``drills.service`` and
record responses with it, as ``garrison drill respond`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Label

from garrison.errors import GarrisonError
from garrison.i18n import _
from tui.screens.base import GarrisonScreen, PaletteCommand
from tui.widgets.drill_console import DrillConsole
from tui.widgets.table import Col, MeasuredTable

if TYPE_CHECKING:
    from drills.queries import RunRow

REFRESH_SECONDS = 2.0
LIMIT = 500
COLUMNS = [Col("id", _("run"), 0), Col("title", _("playbook"), 1, flex=True, min_width=28),
           Col("unit", _("unit"), 3, max_width=14), Col("clock", _("clock"), 5),
           Col("state", _("state"), 2), Col("time", _("drill time"), 4),
           Col("engine", _("engine"), 7), Col("started", _("started"), 6)]
"""Shown left to right; a narrow table drops the highest ranks first (see ``Col``)."""
STATE_STYLE = {"running": "green", "paused": "yellow", "done": "cyan", "aborted": "red",
               "failed": "bold red"}


class DrillsScreen(GarrisonScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_console", _("Console")),
        Binding("ctrl+r", "reload", _("Reload")),
        Binding("escape", "focus_table", _("Table"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[int, RunRow] = {}
        """The runs shown (those the filter lets through)."""
        self.read: list[RunRow] = []
        """Every run of the last read."""
        self.words: tuple[str, ...] = ()
        """The filter's words, case-folded."""
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder=_("/ words in the playbook, unit, clock or state"), id="text",
                    classes="filter compact-short")
        yield MeasuredTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Label("", id="count")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", MeasuredTable)
        table.set_columns(COLUMNS)
        table.border_title = _("Drill runs")
        table.focus()
        self.reload()
        self.set_interval(REFRESH_SECONDS, self.tick)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(_("Drills: open the live console of the highlighted run"),
                             _("enter"), self.action_open_console)
        yield PaletteCommand(_("Drills: filter the runs"), "/", self.action_focus_filter)
        yield PaletteCommand(_("Drills: reload the runs"), "ctrl+r", self.action_reload)

    # ------------------------------------------------------------------ filter

    @on(Input.Changed, "#text")
    def filter_changed(self, event: Input.Changed) -> None:
        words = tuple(event.value.casefold().split())
        if words != self.words:
            self.words = words
            if self.is_mounted:
                self._show(self.read)

    @on(Input.Submitted, "#text")
    def filter_submitted(self) -> None:
        self.action_focus_table()

    def action_focus_table(self) -> None:
        self.query_one("#runs", DataTable).focus()

    def matches(self, row: RunRow) -> bool:
        """Is every word of the filter in the run's id, playbook, unit, clock or state?"""
        if not self.words:
            return True
        said = " ".join((str(row.id), row.playbook_id, row.title, row.unit, row.clock,
                         row.state.value)).casefold()
        return all(word in said for word in self.words)

    # ------------------------------------------------------------------ rows

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.runs:  # back from a console: the states moved on
            self.reload()

    def tick(self) -> None:
        if self.is_current and not self._busy:
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="runs")
    def reload(self) -> None:
        from drills import service

        self._busy = True
        try:
            rows = service.list_runs(self.context, limit=LIMIT)
        except GarrisonError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        finally:
            self._busy = False
        self.app.call_from_thread(self._show, rows)

    def _show(self, read: list[RunRow]) -> None:
        if not self.query("#runs"):
            # the app closed while the read was on its way: its answer comes through
            # call_from_thread, not the screen's queue, so it can outlive the widgets
            return
        self.read = read
        rows = [row for row in read if self.matches(row)]
        table = self.query_one("#runs", DataTable)
        if [r.id for r in rows] == list(self.runs) and table.row_count == len(rows):
            for row in rows:  # same runs: update the cells
                for column, value in zip(COLUMNS, self.cells(row), strict=True):
                    table.update_cell(str(row.id), column.key, value, update_width=True)
        else:
            keep = self.selected_id()
            table.clear()
            for row in rows:
                table.add_row(*self.cells(row), key=str(row.id))
            if keep is not None and any(r.id == keep for r in rows):
                table.move_cursor(row=table.get_row_index(str(keep)), scroll=False)
        self.runs = {r.id: r for r in rows}
        running = sum(1 for r in rows if r.state == "running")
        if not read:
            text = _("No drill run yet: start one with `garrison drill run "
                     "site-accident-rumour --clock fast:60`.")
        elif self.words:
            text = _("{m} of {n} runs match the filter, {r} running · enter opens the live "
                     "console · escape goes back to the table").format(
                         m=len(rows), n=len(read), r=running)
        else:
            text = _("{n} runs, {r} running · enter opens the live console · refreshed every "
                     "{s:g} s · start one with `garrison drill run PLAYBOOK --clock fast:60`"
                     ).format(n=len(rows), r=running, s=REFRESH_SECONDS)
        self.query_one("#count", Label).update(text)

    def cells(self, row: RunRow) -> list[Any]:
        from drills.durations import clock_text

        started = row.started_at.astimezone(ZoneInfo(self.settings.timezone))
        return [str(row.id), row.title, row.unit, row.clock,
                Text(row.state.value, style=STATE_STYLE.get(row.state, "")),
                clock_text(row.drill_time),
                Text("●", style="green") if row.engine else Text("-", style="dim"),
                started.strftime("%Y-%m-%d %H:%M")]

    def selected_id(self) -> int | None:
        table = self.query_one("#runs", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    # ------------------------------------------------------------------ console

    @on(DataTable.RowSelected, "#runs")
    def selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_console(int(event.row_key.value))

    def action_open_console(self) -> None:
        run_id = self.selected_id()
        if run_id is None:
            self.notify(_("No drill run to open."), severity="warning")
            return
        self.open_console(run_id)

    def open_console(self, run_id: int) -> None:
        self.app.push_screen(DrillConsole(run_id))
