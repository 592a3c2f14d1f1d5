"""Experts: the roster with its filters, who is on call now, the match form, assignments.

Every read and write is an action of ``expert_pool.service``, as the CLI's are. The
roster is ``garrison experts list`` (``service.list_experts``, ``show_contacts=False``):
phone numbers and e-mail addresses are always masked here; unmasking is an audited CLI
view, never a TUI one. The match form is ``garrison experts match --explain``: the
ranked experts, and beside them the excluded ones with the reason. ``g`` assigns the
highlighted expert (of the roster or the match) to the finding highlighted on the
findings screen, as ``garrison experts assign`` does: a conflict of interest or an
absence is refused with the reasons, and the screen asks whether to assign anyway and
why; that reason is stored on the assignment and audited, as the CLI's override is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Static,
)
from textual.worker import get_current_worker

from expert_pool.filters import ExpertFilter
from expert_pool.service_types import ConflictOfInterest, ExpertView
from garrison.errors import DatabaseBusy, GarrisonError
from garrison.i18n import _
from garrison.vocab import AssignmentRole
from tui.screens.base import GarrisonScreen, PaletteCommand
from tui.widgets.role_prompt import OverridePrompt, RolePrompt
from tui.widgets.table import Col, MeasuredTable
from tui.widgets.text_prompt import TextPrompt

ROSTER = [Col("id", _("id"), 0), Col("name", _("name"), 1),
          Col("organisation", _("organisation"), 7, max_width=18),
          Col("home_unit", _("home unit"), 9), Col("city", _("city"), 8),
          Col("skills", _("skills"), 3, flex=True, min_width=16),
          Col("phone", _("phone"), 5), Col("email", _("e-mail"), 6),
          Col("load", _("load"), 4), Col("state", _("state"), 2, max_width=24)]
"""Certifications, clearance, languages and notes are in the detail pane. A narrow
table drops the highest ranks first; long cells wrap (the rows grow)."""
MATCHES = [Col("rank", _("#"), 0), Col("name", _("name"), 1),
           Col("organisation", _("organisation"), 6, max_width=18),
           Col("city", _("city"), 5), Col("coverage", _("coverage"), 2, max_width=28),
           Col("load", _("load"), 4), Col("certs", _("certs"), 3, flex=True, min_width=10)]
EXCLUDED = [Col("name", _("name"), 0), Col("home_unit", _("home unit"), 2),
            Col("reasons", _("why not"), 1, flex=True, min_width=20)]
EXPERT_TABLES = ("roster", "matches", "excluded")
SPLIT = re.compile(r"[;,，；、]")
MAX_COUNT = 50


def parse_skill_list(text: str) -> tuple[tuple[str, int], ...]:
    """``forensics:2, malware`` -> ((forensics, 2), (malware, 1)); ``ValueError`` says why
    not. A skill named twice keeps its highest level; the order typed is kept."""
    from expert_pool.vocab import parse_skill, skills

    known = skills()
    wanted: dict[str, int] = {}
    for part in SPLIT.split(text):
        if part.strip():
            name, level = parse_skill(part, known)
            wanted[name] = max(level, wanted.get(name, 0))
    return tuple(wanted.items())


def skills_cell(skills: dict[str, int]) -> str:
    return ", ".join(f"{s}:{level}" for s, level in sorted(skills.items(),
                                                           key=lambda kv: (-kv[1], kv[0])))


def certs_cell(certs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['name']} ({c['expires']})" if c.get("expires") else str(c["name"])
                     for c in certs)


class ExpertsScreen(GarrisonScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        # before the focused table's own ``g`` (first row); not while typing in a field
        Binding("g", "assign", _("Assign to finding"), priority=True),
        Binding("m", "focus_match", _("Match form")),
        Binding("ctrl+r", "reload", _("Reload")),
        Binding("escape", "focus_roster", _("Roster"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = ExpertFilter()
        self.records: dict[int, ExpertView] = {}
        """The roster as shown: expert id -> its record (contacts masked)."""
        self.names: dict[int, str] = {}
        """Every expert shown in any table: id -> name (for the prompts)."""
        self.expert_source = "roster"
        """The expert table the officer was last in: ``g`` assigns its highlighted row."""
        self.last_match: tuple[tuple[tuple[str, int], ...], str | None, str | None,
                               int] | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "assign" and isinstance(self.focused, Input):
            return False  # a letter typed into a filter or the match form
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder=_("/ words in the name or organisation"), id="text",
                        classes="filter roster-filter compact-short")
            yield Input(placeholder=_("skill, e.g. forensics:2"), id="skill",
                        classes="roster-filter compact-short")
            yield Input(placeholder=_("city"), id="city", classes="roster-filter compact-short")
            yield Checkbox(_("include retired"), id="retired", classes="compact-short")
        with Horizontal(id="top"):
            yield MeasuredTable(id="roster", cursor_type="row", zebra_stripes=True)
            with Vertical(id="side"):
                yield Static(_("On call now: …"), id="oncall")
                with VerticalScroll(id="detail"):
                    yield Static(_("Highlight an expert."), id="detail-text")
        with Horizontal(id="match-form"):
            yield Input(placeholder=_("match skills, e.g. forensics:2, malware"),
                        id="m-skills", classes="match-field compact-short")
            yield Input(placeholder=_("city (first)"), id="m-city",
                        classes="match-field compact-short")
            yield Input(placeholder=_("unit under review"), id="m-unit",
                        classes="match-field compact-short")
            yield Input(value="5", placeholder=_("count"), type="integer", id="m-count",
                        classes="match-field compact-short")
            yield Button(_("Match"), variant="primary", id="m-go", classes="compact-short")
        with Horizontal(id="results"):
            yield MeasuredTable(id="matches", cursor_type="row", zebra_stripes=True)
            yield MeasuredTable(id="excluded", cursor_type="row", zebra_stripes=True)
        yield Label("", id="count")
        yield Footer()

    def on_mount(self) -> None:
        for table_id, columns in (("roster", ROSTER), ("matches", MATCHES),
                                  ("excluded", EXCLUDED)):
            self.query_one(f"#{table_id}", MeasuredTable).set_columns(columns)
        self.query_one("#matches", DataTable).border_title = _("Match")
        self.query_one("#excluded", DataTable).border_title = _("Excluded")
        self.query_one("#oncall", Static).border_title = _("On call now")
        self.query_one("#roster", DataTable).focus()
        self.load_suggestions()
        self.reload()
        self.set_interval(60, self.load_oncall)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(_("Experts: assign the highlighted expert to a finding"), "g",
                             self.action_assign)
        yield PaletteCommand(_("Experts: match (skills, city, unit under review)"), "m",
                             self.action_focus_match)
        yield PaletteCommand(_("Experts: run the match form"), _("enter in the form"),
                             self.run_match)
        yield PaletteCommand(_("Experts: focus the roster filter"), "/",
                             self.action_focus_filter)
        yield PaletteCommand(_("Experts: include or hide retired experts"), "",
                             self.toggle_retired)
        yield PaletteCommand(_("Experts: reload the roster and who is on call"), "ctrl+r",
                             self.action_reload)

    # ------------------------------------------------------------------ roster

    @work(thread=True, group="suggest")
    def load_suggestions(self) -> None:
        from expert_pool import service

        try:
            found = service.suggestions(self.context)
        except GarrisonError:
            return  # completion is a convenience: the roster reports the problem
        self.app.call_from_thread(self._set_suggestions, found.units, found.cities)

    def _set_suggestions(self, units: list[str], cities: list[str]) -> None:
        from expert_pool.vocab import skills

        self.query_one("#m-unit", Input).suggester = SuggestFromList(units,
                                                                    case_sensitive=False)
        for city_input in ("#city", "#m-city"):
            self.query_one(city_input, Input).suggester = SuggestFromList(cities)
        self.query_one("#skill", Input).suggester = SuggestFromList(list(skills()))

    def read_filter(self) -> ExpertFilter:
        """The filter bar as an ``ExpertFilter``; ``ValueError`` for a bad skill."""
        skill = self.query_one("#skill", Input).value
        return ExpertFilter(
            skills=parse_skill_list(skill) if skill.strip() else (),
            city=self.query_one("#city", Input).value.strip() or None,
            include_retired=self.query_one("#retired", Checkbox).value,
            text=self.query_one("#text", Input).value.strip() or None)

    @on(Input.Changed, ".roster-filter")
    @on(Checkbox.Changed, "#retired")
    def filter_changed(self) -> None:
        try:
            new = self.read_filter()
        except ValueError as exc:  # half-typed skills: say so, keep the rows
            self.query_one("#count", Label).update(Text(str(exc), style="bold red"))
            return
        if new != self.filter:
            self.filter = new
            self.load_roster(new)
        else:
            self._count_text()

    def toggle_retired(self) -> None:
        box = self.query_one("#retired", Checkbox)
        box.value = not box.value

    def action_reload(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.load_roster(self.filter)
        self.load_oncall()

    @work(thread=True, exclusive=True, group="roster")
    def load_roster(self, f: ExpertFilter) -> None:
        from expert_pool import service

        worker = get_current_worker()
        try:
            records = service.list_experts(self.context, f, show_contacts=False)
        except GarrisonError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_roster, f, records)

    def _show_roster(self, f: ExpertFilter, records: list[ExpertView]) -> None:
        if f != self.filter:
            return  # an older question
        table = self.query_one("#roster", DataTable)
        keep = self._row_id(table)
        table.clear()
        self.records = {rec.id: rec for rec in records}
        for rec in records:
            self.names[rec.id] = rec.name
            table.add_row(*self.roster_cells(rec), key=str(rec.id), height=None)
        if keep is not None and keep in self.records:
            table.move_cursor(row=table.get_row_index(str(keep)))
        elif not records:
            self.query_one("#detail-text", Static).update(
                Text(_("No expert matches the filter."), style="dim"))
        self._count_text()

    def roster_cells(self, rec: ExpertView) -> list[Any]:
        if not rec.active:
            state: Any = Text(_("retired"), style="dim")
        elif rec.away:
            state = Text(_("away until {d}").format(d=self._local(rec.away.ends)),
                         style="yellow")
        else:
            state = ""
        return [str(rec.id), rec.name, rec.organisation, rec.home_unit or "",
                rec.city or "", skills_cell(rec.skills), rec.phone or "",
                rec.email or "", str(rec.load), state]

    def _local(self, when: datetime) -> str:
        from expert_pool.times import local_text

        return local_text(when, self.settings.timezone)

    def _count_text(self) -> None:
        retired = _(", retired included") if self.filter.include_retired else ""
        finding = self.garrison.selected_finding
        target = (_("finding #{id}").format(id=finding) if finding is not None
                  else _("a finding (you will be asked which)"))
        self.query_one("#count", Label).update(_(
            "{n} experts{r} · contacts masked · enter in the form matches · g assigns the "
            "highlighted expert to {t}").format(n=len(self.records), r=retired, t=target))

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self._count_text()  # the findings screen may have changed the selection

    @on(DataTable.RowHighlighted, "#roster")
    def roster_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        rec = self.records.get(int(event.row_key.value))
        if rec is not None:
            self.query_one("#detail-text", Static).update(self.render_detail(rec))

    def render_detail(self, rec: ExpertView) -> Table:
        table = Table(show_header=False, box=None, expand=True, padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        rows = [
            (_("expert"), f"#{rec.id} {rec.name}"),
            (_("organisation"), rec.organisation),
            (_("home unit"), rec.home_unit or "-"),
            (_("city"), rec.city or "-"),
            (_("skills"), skills_cell(rec.skills) or "-"),
            (_("certifications"), certs_cell(rec.certifications) or "-"),
            (_("clearance"), rec.clearance or "-"),
            (_("languages"), ", ".join(rec.languages) or "-"),
            (_("phone"), rec.phone or "-"),
            (_("e-mail"), rec.email or "-"),
            (_("open assignments"), str(rec.load)),
        ]
        if rec.away:
            away = rec.away
            rows.append((_("away"), f"{self._local(away.starts)} → {self._local(away.ends)}"
                         + (f" ({away.reason})" if away.reason else "")))
        if not rec.active:
            rows.append((_("state"), _("retired")))
        if rec.notes:
            rows.append((_("notes"), rec.notes))
        for label, value in rows:
            table.add_row(label, escape(str(value)))
        return table

    # ------------------------------------------------------------------ on call

    @work(thread=True, exclusive=True, group="oncall")
    def load_oncall(self) -> None:
        from expert_pool import service
        from expert_pool.times import local_text

        tz = self.settings.timezone
        try:
            now = service.on_call(self.context, at=None, show_contacts=False)
            if now is None:
                text = Text(_("Nobody: no on-call plan covers now."), style="dim")
            else:
                text = Text(_("{s} → {e} (plan #{p})").format(
                    s=local_text(now.starts, tz), e=local_text(now.ends, tz),
                    p=now.plan_id) + "\n", style="bold")
                for person in now.people:  # contacts come masked
                    text.append(f"#{person.id} {person.name}", style="bold")
                    text.append(f" {person.organisation}"
                                + (f" · {person.phone}" if person.phone else "") + "\n")
        except GarrisonError as exc:
            text = Text(exc.message, style="red")
        self.app.call_from_thread(self.query_one("#oncall", Static).update, text)

    # ------------------------------------------------------------------ match

    def action_focus_match(self) -> None:
        self.query_one("#m-skills", Input).focus()

    def action_focus_roster(self) -> None:
        self.query_one("#roster", DataTable).focus()

    @on(Input.Submitted, ".match-field")
    @on(Button.Pressed, "#m-go")
    def run_match(self) -> None:
        text = self.query_one("#m-skills", Input).value
        try:
            wanted = parse_skill_list(text)
        except ValueError as exc:
            self.notify(str(exc), title=_("Match"), severity="error", markup=False)
            return
        if not wanted:
            self.notify(_("give at least one skill, e.g. forensics:2"), title=_("Match"),
                        severity="warning")
            return
        raw = self.query_one("#m-count", Input).value.strip() or "5"
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
            self.notify(_("count: a whole number from 1 to {m}").format(m=MAX_COUNT),
                        title=_("Match"), severity="error")
            return
        self.last_match = (wanted, self.query_one("#m-city", Input).value.strip() or None,
                           self.query_one("#m-unit", Input).value.strip() or None, int(raw))
        self.match(*self.last_match, focus=True)

    @work(thread=True, exclusive=True, group="match")
    def match(self, wanted: tuple[tuple[str, int], ...], city: str | None, unit: str | None,
              count: int, *, focus: bool = False) -> None:
        from expert_pool import service

        worker = get_current_worker()
        try:
            result = service.match(self.context, skills=wanted, city=city, unit=unit,
                                   count=count, at=None, show_contacts=False)
        except GarrisonError as exc:
            self.app.call_from_thread(self.notify, str(exc), title=_("Match"),
                                      severity="error", markup=False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_match, result, focus)

    def _show_match(self, result: Any, focus: bool) -> None:
        ranked = self.query_one("#matches", DataTable)
        excluded = self.query_one("#excluded", DataTable)
        ranked.clear()
        excluded.clear()
        for i, m in enumerate(result.ranked, start=1):
            c = m.candidate
            self.names[c.id] = c.name
            coverage = Text(f"{m.coverage:.0%}", style="green" if m.coverage >= 1 else
                            "yellow")
            if m.short:
                coverage.append(" (" + _("short: {s}").format(s=", ".join(m.short)) + ")",
                                style="dim")
            city = (c.city or "") + (" ✓" if m.same_city else "")
            ranked.add_row(str(i), c.name, c.organisation, city, coverage, str(c.load),
                           ", ".join(c.certs), key=str(c.id), height=None)
        for x in result.excluded:
            c = x.candidate
            self.names[c.id] = c.name
            excluded.add_row(c.name, c.home_unit or "",
                             Text("; ".join(x.reasons), style="red"), key=str(c.id),
                             height=None)
        ranked.border_subtitle = _(
            "{n} of {e} eligible · {u} without the skills · {c} considered").format(
                n=len(result.ranked), e=result.eligible, u=result.unqualified,
                c=result.considered)
        excluded.border_subtitle = str(len(result.excluded))
        for note in result.notes:
            self.notify(note, title=_("Match"), severity="warning")
        if not result.ranked:
            self.notify(_("Nobody available and unconflicted holds these skills."),
                        title=_("Match"), severity="warning")
        if focus and result.ranked:
            ranked.focus()
            ranked.move_cursor(row=0)

    # ------------------------------------------------------------------ assign

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget.id in EXPERT_TABLES:
            self.expert_source = event.widget.id

    @staticmethod
    def _row_id(table: DataTable[Any]) -> int | None:
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def highlighted_expert(self) -> int | None:
        """The expert under the cursor of the expert table last focused."""
        return self._row_id(self.query_one(f"#{self.expert_source}", DataTable))

    def action_assign(self) -> None:
        expert_id = self.highlighted_expert()
        if expert_id is None:
            self.notify(_("Highlight an expert in the roster or the match first."),
                        severity="warning")
            return
        finding = self.garrison.selected_finding
        if finding is not None:
            self.ask_role(expert_id, finding)
            return

        def got(answer: str | None) -> None:
            if answer is None:
                return
            text = answer.strip().lstrip("#")
            if not text.isdigit():
                self.notify(_("{v!r} is not a finding id (a number, e.g. 42)").format(v=answer),
                            severity="error", markup=False)
                return
            self.ask_role(expert_id, int(text))

        self.app.push_screen(TextPrompt(
            _("Assign {name} to which finding? No finding is selected on the findings "
              "screen; give its id:").format(name=self.names.get(expert_id, expert_id)),
            placeholder="42"), got)

    def ask_role(self, expert_id: int, finding_id: int) -> None:
        def chosen(role: AssignmentRole | None) -> None:
            if role is not None:
                self.write_assignment(expert_id, finding_id, role)

        self.app.push_screen(RolePrompt(_("Assign {name} to finding #{f} as:").format(
            name=self.names.get(expert_id, f"#{expert_id}"), f=finding_id)), chosen)

    def ask_override(self, expert_id: int, finding_id: int, role: AssignmentRole,
                     refused: ConflictOfInterest, value: str = "") -> None:
        """The assignment was refused: show why, and ask for the reason to assign anyway
        (escape assigns nobody; ``value``: the reason typed before, kept for a retry)."""
        def given(reason: str | None) -> None:
            if reason is not None:
                self.write_assignment(expert_id, finding_id, role, reason, refused)

        self.app.push_screen(OverridePrompt(
            _("{name} cannot be {role} on {t}:").format(name=refused.expert,
                                                        role=role.value, t=refused.target),
            refused.reasons, value=value), given)

    @work(thread=True, group="write")
    def write_assignment(self, expert_id: int, finding_id: int, role: AssignmentRole,
                         override: str | None = None,
                         refused: ConflictOfInterest | None = None) -> None:
        """Assign (one action); ``override``: the reason to assign despite the conflict
        the service reported (``refused``)."""
        from expert_pool import service

        name = self.names.get(expert_id, f"#{expert_id}")
        try:
            done = service.assign(self.context, str(expert_id), role=role,
                                  finding_id=finding_id, run_id=None, override=override)
        except DatabaseBusy as exc:  # nothing was saved: ask again, keeping what was typed
            overriding = refused is not None and override is not None
            self.app.call_from_thread(
                self.notify, (_("{why}. The reason is kept: confirm again to retry.")
                              if overriding else _("{why}. Choose the role again to retry."))
                .format(why=exc.message),
                title=_("Database busy"), severity="warning", timeout=12, markup=False)
            if refused is not None and override is not None:
                self.app.call_from_thread(self.ask_override, expert_id, finding_id, role,
                                          refused, override)
            else:
                self.app.call_from_thread(self.ask_role, expert_id, finding_id)
            return
        except ConflictOfInterest as exc:
            self.app.call_from_thread(self.notify, exc.message, title=_("Refused"),
                                      severity="error", timeout=10, markup=False)
            self.app.call_from_thread(self.ask_override, expert_id, finding_id, role, exc)
            return
        except GarrisonError as exc:
            self.app.call_from_thread(self.notify, str(exc), title=_("Refused"),
                                      severity="error", timeout=10, markup=False)
            return
        message = _("{name} is now {role} on finding #{f} (assignment #{a}).").format(
            name=name, role=role.value, f=finding_id, a=done.id)
        if done.override_reason:
            message += " " + _("Conflict overridden: {r} (audited).").format(
                r=done.override_reason)
        self.app.call_from_thread(self.notify, message, title=_("Assigned"), markup=False)
        self.app.call_from_thread(self._after_assign)

    def _after_assign(self) -> None:
        self.load_roster(self.filter)  # the load column
        if self.last_match is not None:
            self.match(*self.last_match)
