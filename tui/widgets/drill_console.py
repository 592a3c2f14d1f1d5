"""The live console of one drill run: clock, timeline, expectations, heat, scores, responses.

Every second a worker reads the run and its replay (``drills.service.show``, what
``garrison drill status`` shows), so the console follows a run that another process
drives (``garrison drill run PLAYBOOK --clock fast:N``) and the responses other
terminals record. The response form calls ``drills.service.respond`` exactly as
``garrison drill respond`` does; each event is said by ``drills.events.describe``, as
the engine prints it and the report writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    RichLog,
    Select,
    Sparkline,
    Static,
)
from textual.worker import get_current_worker

from drills.events import QUIET, VERDICT_STYLE, EventKind
from garrison.errors import DatabaseBusy, GarrisonError
from garrison.i18n import _
from tui.screens.base import GarrisonScreen, PaletteCommand
from tui.widgets.table import Col, MeasuredTable

if TYPE_CHECKING:
    from drills.queries import EventRecord, RunStatus

REFRESH_SECONDS = 1.0
EXPECT_COLUMNS = [Col("due", _("due"), 0, max_width=13), Col("team", _("team"), 4, max_width=10),
                  Col("must", _("must"), 1, max_width=20),
                  Col("for", _("for"), 5, flex=True, min_width=13),
                  Col("left", _("left"), 3, max_width=12), Col("verdict", _("verdict"), 2)]
"""Longer cells wrap (the rows grow) rather than push the verdict out of sight; a narrow
table drops the highest ranks first (see ``Col``)."""
SCORE_COLUMNS = [Col("team", _("team"), 0), Col("name", _("name"), 2, flex=True, min_width=10),
                 Col("points", _("points"), 1)]
HIDDEN = QUIET | {EventKind.action}
"""Kinds the timeline leaves out (an action's request: its result follows)."""


@dataclass(frozen=True)
class ExpectRow:
    key: str
    due: str
    team: str
    must: str
    source: str
    left: Text
    verdict: Text
    """``open``, ``running``, or the verdict with its points (``met +10``)."""


@dataclass(frozen=True)
class ConsoleState:
    """What the console shows, computed in the worker (no ORM objects cross threads)."""

    run_id: int
    title: str
    state: str
    clock: str
    t: float
    level: str
    heat: float
    heat_series: list[float]
    engine: str | None
    unstamped: int
    ended: bool
    timeline: list[tuple[str, Text]]
    """(event key and its drill time, the line): in recorded order, newest last."""
    expectations: list[ExpectRow]
    scores: list[tuple[str, str, float]]
    teams: list[tuple[str, str]] = field(default_factory=list)
    """(label, team id): the form's choices (the scores table names the teams)."""
    targets: list[str] = field(default_factory=list)
    """Step, post, escalation and clock ids (what ``--step`` may name)."""
    actions: list[str] = field(default_factory=list)


def left_text(seconds: float) -> str:
    """``25m left``; ``due now`` in the last second."""
    from drills.durations import format_duration

    if seconds < 1:
        return _("due now")
    return _("{d} left").format(d=format_duration(seconds))


def verdict_text(verdict: str | None, points: float, *, pending: str | None = None) -> Text:
    if verdict is None or verdict == "open":
        return Text(pending or _("open"), style="" if pending else "dim")
    return Text(f"{verdict} {points:+g}" if points else verdict,
                style=VERDICT_STYLE.get(verdict, ""))


def event_line(event: EventRecord) -> Text | None:
    """A stored event as a timeline line, or None (not worth a line): its drill time and
    what ``drills.events.describe`` says of it, as the engine prints it."""
    from drills.durations import clock_text
    from drills.events import describe

    if event.kind in HIDDEN:
        return None
    pieces = describe(event, actor=event.actor)
    if not pieces:
        return None
    at = (clock_text(event.drill_at) if event.drill_at is not None
          else _("(the engine stamps it)"))
    return Text.assemble((f"{at}  ", "dim"), *pieces)


def console_state(run: RunStatus) -> ConsoleState:
    """What the console shows of a run (``drills.service.show``: what ``garrison drill
    status`` computes, plus its stored timeline)."""
    from drills.durations import clock_text

    sim, pb = run.sim, run.loaded.playbook
    t = sim.t
    rows: list[tuple[tuple[int, float], ExpectRow]] = []
    for e in sim.expectations:
        if e.verdict is None:
            if t <= e.deadline:
                left = Text(left_text(e.deadline - t),
                            style="bold" if e.deadline - t <= 600 else "")
            elif e.late_end is not None:
                left = Text(_("late: {d}").format(d=left_text(e.late_end - t)),
                            style="yellow")
            else:
                left = Text(_("overdue"), style="red")
            order = (0, e.deadline)
        else:
            left = Text("")
            order = (1, e.judged_at if e.judged_at is not None else e.deadline)
        rows.append((order, ExpectRow(
            e.key, clock_text(e.deadline), e.spec.team, e.spec.does, e.source, left,
            verdict_text(e.verdict, e.points))))
    for c in sim.clocks.values():
        if c.started_at is None or c.deadline is None:
            continue
        if c.verdict is None:
            left = Text(left_text(c.deadline - t))
            order = (0, c.deadline)
        else:
            left = Text("")
            order = (1, c.judged_at if c.judged_at is not None else c.deadline)
        rows.append((order, ExpectRow(
            f"clock:{c.spec.id}", clock_text(c.deadline), c.spec.team, c.spec.does,
            _("clock {c}").format(c=c.spec.id), left,
            verdict_text(c.verdict, c.points, pending=_("running")))))
    rows.sort(key=lambda pair: pair[0])
    names = {team.id: team.name or team.role for team in pb.teams}
    timeline = []
    for event in run.events:
        text = event_line(event)
        if text is not None:
            timeline.append((f"{event.key}@{event.drill_at}", text))
    series = [heat for _at, heat in sim.heat_curve]
    series.append(round(sim.heat(), 1))
    actions = [*(x.spec.does for x in sim.expectations),
               *(c.spec.does for c in sim.clocks.values()), *_known_actions()]
    return ConsoleState(
        run_id=run.id, title=run.title, state=run.state.value, clock=run.clock, t=t,
        level=str(sim.level), heat=sim.heat(), heat_series=series, engine=run.engine,
        unstamped=run.unstamped, ended=run.ended, timeline=timeline,
        expectations=[row for _order, row in rows],
        scores=[(team, names.get(team, team), points)
                for team, points in sim.totals().items()],
        teams=[(team.id, team.id) for team in pb.teams],
        targets=[s.id for s in pb.steps] + [p.id for p in pb.posts]
        + [x.id for x in pb.escalation] + [c.id for c in run.loaded.clocks],
        actions=list(dict.fromkeys(actions)))


def _known_actions() -> tuple[str, ...]:
    from drills.service import KNOWN_ACTIONS

    return KNOWN_ACTIONS


class DrillConsole(GarrisonScreen):
    """Pushed over the drills screen by ``enter`` on a run; ``escape`` goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _("Runs")),
        Binding("ctrl+n", "focus_form", _("Respond")),
        Binding("ctrl+r", "refresh_now", _("Refresh")),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.state: ConsoleState | None = None
        self.shown: list[str] = []
        """Keys of the timeline lines written to the log, in order."""
        self._busy = False
        self._form_ready = False
        self.refreshes = 0
        """How many database reads have reached the screen (tests wait on it)."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Drill run {id}: reading …").format(id=self.run_id), id="clock-bar")
        with Horizontal(id="console-body"):
            yield RichLog(id="timeline", wrap=True, auto_scroll=True, min_width=40)
            with Vertical(id="console-side"):
                yield MeasuredTable(id="expectations", cursor_type="row", zebra_stripes=True)
                yield Label(_("Opinion heat"), id="heat-label")
                yield Sparkline([0.0], id="heat")
                yield MeasuredTable(id="scores", cursor_type="none", show_cursor=False)
        with Horizontal(id="respond"):
            yield Select[str]([], prompt=_("team"), id="team", classes="compact-short")
            yield Input(placeholder=_("action"), id="does", classes="filter compact-short")
            yield Input(placeholder=_("step (optional)"), id="step", classes="compact-short")
            yield Input(placeholder=_("note: the wording, the finding, the lesson …"),
                        id="note", classes="compact-short")
            yield Select[str]([(level, level) for level in _levels()],
                              prompt=_("level (classify)"), id="level", disabled=True,
                              classes="compact-short")
            yield Button(_("Record"), variant="primary", id="record", classes="compact-short")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = _("drill run {id}").format(id=self.run_id)
        timeline = self.query_one("#timeline", RichLog)
        timeline.border_title = _("Timeline")
        self.query_one("#expectations", DataTable).border_title = _(
            "Expectations and clocks")
        scores = self.query_one("#scores", MeasuredTable)
        scores.border_title = _("Scores")
        scores.can_focus = False
        self.query_one("#expectations", MeasuredTable).set_columns(EXPECT_COLUMNS)
        scores.set_columns(SCORE_COLUMNS)
        self.query_one("#does", Input).suggester = SuggestFromList(_known_actions())
        self.refresh_state()
        self.set_interval(REFRESH_SECONDS, self.tick)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(_("Drill console: record a team's response"), "ctrl+n",
                             self.action_focus_form)
        yield PaletteCommand(_("Drill console: refresh now"), "ctrl+r",
                             self.action_refresh_now)
        yield PaletteCommand(_("Drill console: back to the runs"), "escape", self.action_back)

    def action_back(self) -> None:
        self.dismiss()

    def action_focus_form(self) -> None:
        self.query_one("#team", Select).focus()

    # ------------------------------------------------------------------ refreshing

    def tick(self) -> None:
        if self.is_current and not self._busy:
            self.refresh_state()

    def action_refresh_now(self) -> None:
        self.refresh_state()

    @work(thread=True, exclusive=True, group="console")
    def refresh_state(self) -> None:
        from drills import service

        self._busy = True
        try:
            state = console_state(service.show(self.context, self.run_id))
        except GarrisonError as exc:
            self.app.call_from_thread(self._problem, exc)
            return
        finally:
            self._busy = False
        if not get_current_worker().is_cancelled:  # a newer read is on its way
            self.app.call_from_thread(self.show, state)

    @property
    def gone(self) -> bool:
        """Closed (or the app closing) while a read was on its way: nothing left to show
        it on. A read's answer comes through ``call_from_thread``, not the screen's queue,
        so it can arrive after the screen's widgets were removed."""
        return self not in self.app.screen_stack or not self.query("#clock-bar")

    def _problem(self, exc: GarrisonError) -> None:
        if self.gone:
            return
        self.query_one("#clock-bar", Static).update(Text(str(exc), style="bold red"))

    def show(self, state: ConsoleState) -> None:
        from drills.durations import clock_text

        if self.gone:
            return
        self.state = state
        self.refreshes += 1
        bar = Text()
        bar.append(f"{clock_text(state.t)}", style="bold reverse")
        bar.append("  ")
        bar.append(_("Drill run {id}").format(id=state.run_id), style="bold")
        bar.append(f" {state.title}\n")
        colour = {"running": "green", "paused": "yellow", "done": "cyan"}.get(state.state,
                                                                              "red")
        bar.append(state.state, style=colour)
        bar.append(" · " + _("clock {c}").format(c=state.clock))
        bar.append(" · " + _("level {l}").format(l=state.level))
        bar.append(" · " + _("heat {h:,.0f}").format(h=state.heat))
        bar.append(" · " + _("engine {e}").format(
            e=state.engine or (_("none") if state.ended else _(
                "none (`garrison drill resume {id}`)").format(id=state.run_id))))
        if state.unstamped:
            bar.append(" · " + _("{n} response(s) waiting for the engine to stamp them")
                       .format(n=state.unstamped), style="yellow")
        self.query_one("#clock-bar", Static).update(bar)
        self._timeline(state)
        self._expectations(state)
        self.query_one("#heat", Sparkline).data = state.heat_series
        self.query_one("#heat-label", Label).update(
            _("Opinion heat {h:,.0f} (peak {p:,.0f})").format(
                h=state.heat, p=max(state.heat_series, default=0.0)))
        scores = self.query_one("#scores", DataTable)
        scores.clear()
        for team, name, points in state.scores:
            scores.add_row(team, name, Text(f"{points:g}", style="bold"), key=team)
        if not self._form_ready:
            self._form_ready = True
            self.query_one("#team", Select).set_options(state.teams)
            self.query_one("#step", Input).suggester = SuggestFromList(state.targets)
            self.query_one("#does", Input).suggester = SuggestFromList(state.actions)

    def _timeline(self, state: ConsoleState) -> None:
        log = self.query_one("#timeline", RichLog)
        keys = [key for key, _line in state.timeline]
        if keys[:len(self.shown)] != self.shown:  # an event was stamped: write it again
            log.clear()
            self.shown = []
        # wrapped to the log's width (left alone, the console's width bounds it)
        width = log.content_region.width - log.styles.scrollbar_size_vertical
        for key, line in state.timeline[len(self.shown):]:
            log.write(line, width=width if width >= log.min_width else None)
            self.shown.append(key)

    def _expectations(self, state: ConsoleState) -> None:
        table = self.query_one("#expectations", DataTable)
        row = table.cursor_row
        table.clear()
        for e in state.expectations:
            table.add_row(e.due, e.team, e.must, e.source, e.left, e.verdict, key=e.key,
                          height=None)
        if state.expectations:
            table.move_cursor(row=min(row, len(state.expectations) - 1), scroll=False)

    def on_resize(self, _event: events.Resize) -> None:
        """The timeline's lines were wrapped to its old width: write them again."""
        self.call_after_refresh(self._rewrap)

    def _rewrap(self) -> None:
        if self.state is not None and self.is_mounted:
            self.query_one("#timeline", RichLog).clear()
            self.shown = []
            self._timeline(self.state)

    def timeline_text(self) -> list[str]:
        """The timeline's lines as plain text (the log renders them lazily)."""
        return [line.plain for _key, line in (self.state.timeline if self.state else [])]

    # ------------------------------------------------------------------ responding

    @on(Input.Changed, "#does")
    def does_changed(self, event: Input.Changed) -> None:
        self.query_one("#level", Select).disabled = event.value.strip() != "classify"

    @on(Input.Submitted, "#respond Input")
    @on(Button.Pressed, "#record")
    def submit(self) -> None:
        team = self.query_one("#team", Select).value
        does = self.query_one("#does", Input).value.strip()
        if not isinstance(team, str):
            self.notify(_("Choose the team that acted."), severity="warning")
            self.query_one("#team", Select).focus()
            return
        if not does:
            self.notify(_("Say what the team did (the action)."), severity="warning")
            self.query_one("#does", Input).focus()
            return
        level = self.query_one("#level", Select).value
        self.record(team, does, self.query_one("#step", Input).value.strip() or None,
                    self.query_one("#note", Input).value.strip() or None,
                    level if isinstance(level, str) and does == "classify" else None)

    @work(thread=True, group="write")
    def record(self, team: str, does: str, step: str | None, note: str | None,
               level: str | None) -> None:
        from drills import service
        from drills.durations import clock_text

        try:
            at = service.respond(self.context, self.run_id, team=team, does=does, step=step,
                                 note=note, level=level).drill_at
        except DatabaseBusy as exc:  # the form keeps what was typed
            self.app.call_from_thread(
                self.notify, _("{why}. The form keeps your entry: record it again to retry.")
                .format(why=exc.message), title=_("Database busy"), severity="warning",
                timeout=12, markup=False)
            return
        except GarrisonError as exc:
            self.app.call_from_thread(self.notify, str(exc), title=_("Refused"),
                                      severity="error", timeout=8, markup=False)
            return
        when = clock_text(at) if at is not None else _("now (the engine stamps it)")
        self.app.call_from_thread(
            self.notify, _("recorded: {team} {does}{step} at {when}").format(
                team=team, does=does, step=f" ({step})" if step else "", when=when),
            markup=False)
        self.app.call_from_thread(self._recorded)

    def _recorded(self) -> None:
        for field_id in ("#step", "#note"):
            self.query_one(field_id, Input).value = ""
        self.refresh_state()


def _levels() -> tuple[str, ...]:
    from drills.service import CLASSIFY_LEVELS

    return CLASSIFY_LEVELS
