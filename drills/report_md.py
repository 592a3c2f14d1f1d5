"""The after-action report as Markdown, in the style of a CISA tabletop AAR/IP.

The report's content (section headings, run facts, every table as plain text) is
built here once and reused by ``report_html``, so both formats say the same thing;
each renderer only escapes and lays it out. Markdown escaping: a table cell's ``|``
becomes ``\\|`` and line breaks become spaces; everywhere ``<`` becomes ``\\<`` so text
like ``<b>x</b>`` stays text when the Markdown is rendered to HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drills.durations import clock_text, format_duration
from drills.report import (
    ClockRow,
    EscalationRow,
    ExpectationRow,
    FindingRow,
    Lesson,
    PostRow,
    ReportData,
    TeamScore,
    TimelineEntry,
    wall_text,
)
from garrison.i18n import _

SOURCES = ("expectation", "clock", "attack", "adjust")
CATEGORIES = ("detection", "analysis", "response", "notification", "coordination",
              "traceback")
HEAT_ROWS = 24
"""The heat table shows at most this many samples, evenly spread."""
SHA_PREFIX = 12
NONE = "-"


@dataclass(frozen=True)
class Table:
    """A table as plain (unescaped) text, ready for either renderer."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()
    """Columns of numbers (right-aligned)."""
    verdict_column: int | None = None
    verdicts: tuple[str, ...] = ()
    """Each row's raw verdict (met, late, ...) when the table has a verdict column."""


# ------------------------------------------------------------------ shared content


def headings() -> dict[str, str]:
    """The sections after the title, in report order."""
    return {"objectives": _("Objectives"), "scenario": _("Scenario"), "scores": _("Scores"),
            "expectations": _("Expectations"), "clocks": _("Statutory clocks"),
            "opinion": _("Opinion"), "timeline": _("Timeline"),
            "findings": _("Findings raised"), "lessons": _("Lessons learned"),
            "notes": _("Notes")}


def title(data: ReportData) -> str:
    return _("After-action report: {title}").format(title=data.title)


def facts(data: ReportData) -> list[tuple[str, str]]:
    """The run's facts as (label, value)."""
    return [
        (_("Run"), str(data.run_id)),
        (_("Playbook"), f"{data.playbook_id} (sha256 {data.playbook_sha256[:SHA_PREFIX]})"),
        (_("Kind"), data.kind),
        (_("Unit"), data.unit),
        (_("Clock"), data.clock),
        (_("State"), data.state),
        (_("Started (UTC)"), wall_text(data.started_at)),
        (_("Finished (UTC)"), wall_text(data.finished_at) or _("not finished")),
        (_("Drill duration"), f"{format_duration(data.drill_end)} "
                              f"({clock_text(data.drill_end)})"),
        (_("Level"), f"{data.level_start} -> {data.level_end}"),
        (_("Report generated (UTC)"), wall_text(data.generated_at)),
    ]


def term(value: str) -> str:
    """A verdict, score source or category in the reader's language."""
    terms = {"met": _("met"), "late": _("late"), "missed": _("missed"), "open": _("open"),
             "running": _("running"), "not started": _("not started"),
             "expectation": _("expectation"), "clock": _("clock"), "attack": _("attack"),
             "adjust": _("adjust"), "detection": _("detection"), "analysis": _("analysis"),
             "response": _("response"), "notification": _("notification"),
             "coordination": _("coordination"), "traceback": _("traceback")}
    return terms.get(value, value)


def points_text(value: float) -> str:
    """``12``, ``-3.5``, ``1,250``: points without trailing zeros."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed_points(value: float) -> str:
    text = points_text(value)
    return "+" + text if value > 0 and text != "0" else text


def reach_text(value: float) -> str:
    return f"{value:,.0f}"


def at_text(seconds: float | None) -> str:
    return clock_text(seconds) if seconds is not None else NONE


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def team_label(score: TeamScore) -> str:
    return score.name or score.team


def sample_heat(heat: Sequence[tuple[float, float]], limit: int = HEAT_ROWS
                ) -> list[tuple[float, float]]:
    """At most ``limit`` samples spread evenly, the first and the last included."""
    if len(heat) <= limit:
        return list(heat)
    picks = sorted({round(i * (len(heat) - 1) / (limit - 1)) for i in range(limit)})
    return [heat[i] for i in picks]


def sources_of(scores: Sequence[TeamScore]) -> list[str]:
    extra = sorted({s for score in scores for s in score.by_source} - set(SOURCES))
    return [*SOURCES, *extra]


def categories_of(score: TeamScore) -> list[tuple[str, float]]:
    """The team's points by HW category: known categories first, in their order."""
    known = [c for c in CATEGORIES if c in score.by_category]
    extra = sorted(set(score.by_category) - set(CATEGORIES))
    return [(c, score.by_category[c]) for c in [*known, *extra]]


def score_table(scores: Sequence[TeamScore]) -> Table:
    sources = sources_of(scores)
    rows = tuple((s.team, s.name or "", s.role, points_text(s.total),
                  *(points_text(s.by_source.get(src, 0.0)) for src in sources))
                 for s in scores)
    return Table((_("team"), _("name"), _("role"), _("total"), *map(term, sources)), rows,
                 frozenset(range(3, 4 + len(sources))))


def entry_table(score: TeamScore) -> Table:
    rows = tuple((clock_text(e.at), signed_points(e.points), term(e.source),
                  term(e.category) if e.category else "", e.reason) for e in score.entries)
    return Table((_("drill time"), _("points"), _("source"), _("category"), _("reason")),
                 rows, frozenset({1}))


def expectation_table(rows: Sequence[ExpectationRow]) -> Table:
    cells = tuple((r.source, r.team, r.does, clock_text(r.opened_at), clock_text(r.deadline),
                   term(r.verdict), at_text(r.judged_at),
                   f"{points_text(r.points)}/{r.max_points}", yes_no(r.automatic))
                  for r in rows)
    return Table((_("source"), _("team"), _("must do"), _("opened"), _("deadline"),
                  _("verdict"), _("judged at"), _("points/max"), _("automatic")), cells,
                 frozenset({7}), 5, tuple(r.verdict for r in rows))


def clock_table(rows: Sequence[ClockRow]) -> Table:
    cells = tuple((r.id, r.title, r.team, r.does, at_text(r.started_at), at_text(r.deadline),
                   term(r.verdict), points_text(r.points), r.basis or "",
                   at_text(r.judged_at)) for r in rows)
    return Table((_("id"), _("title"), _("team"), _("must do"), _("started"), _("deadline"),
                  _("verdict"), _("points"), _("basis"), _("judged at")), cells,
                 frozenset({7}), 6,
                 tuple(r.verdict for r in rows))


def post_table(rows: Sequence[PostRow]) -> Table:
    cells = tuple((r.id, r.platform, r.author, r.text, at_text(r.appeared_at),
                   reach_text(r.start_reach), reach_text(r.final_reach), r.reaction or "")
                  for r in rows)
    return Table((_("id"), _("platform"), _("author"), _("text"), _("appeared"),
                  _("start reach"), _("final reach"), _("reaction")), cells,
                 frozenset({5, 6}))


def escalation_table(rows: Sequence[EscalationRow]) -> Table:
    cells = tuple((r.id, clock_text(r.at), r.to, reach_text(r.heat)) for r in rows)
    return Table((_("id"), _("at"), _("to"), _("heat at the time")), cells, frozenset({3}))


def heat_table(heat: Sequence[tuple[float, float]]) -> Table:
    cells = tuple((clock_text(t), reach_text(h)) for t, h in sample_heat(heat))
    return Table((_("drill time"), _("heat")), cells, frozenset({1}))


def timeline_table(entries: Sequence[TimelineEntry]) -> Table:
    cells = tuple((clock_text(e.drill_at), wall_text(e.wall_at), e.kind, e.team or "",
                   e.ref or "", e.text) for e in entries)
    return Table((_("drill time"), _("wall time (UTC)"), _("kind"), _("team"), _("ref"),
                  _("what happened")), cells)


def finding_table(rows: Sequence[FindingRow]) -> Table:
    cells = tuple((str(r.id), r.title, r.unit, r.severity, r.status, r.owner) for r in rows)
    return Table((_("id"), _("title"), _("unit"), _("severity"), _("status"), _("owner")),
                 cells, frozenset({0}))


def lesson_table(rows: Sequence[Lesson]) -> Table:
    cells = tuple((clock_text(r.drill_at), r.team or "", r.text, r.actor or "",
                   wall_text(r.wall_at)) for r in rows)
    return Table((_("drill time"), _("team"), _("lesson"), _("recorded by"),
                  _("recorded at (UTC)")), cells)


def no_lessons(data: ReportData) -> tuple[str, str]:
    """What to say when no lesson was recorded: a sentence and the command to add one."""
    return (_("No lessons were recorded. Add one with:"),
            f'garrison drill respond {data.run_id} --team TEAM --does lesson --note "..."')


# ------------------------------------------------------------------ Markdown


_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")


def md_text(text: str) -> str:
    """Free text (paragraphs kept): raw HTML cannot start."""
    return text.replace("<", "\\<")


def md_inline(text: str) -> str:
    """One line of text: line breaks become spaces."""
    return _BREAKS.sub(" ", md_text(text))


def md_cell(text: str) -> str:
    return md_inline(text).replace("|", "\\|")


def md_table(table: Table) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(md_cell(c) for c in cells) + " |"

    rule = "|" + "|".join("---:" if i in table.numeric else "---"
                          for i in range(len(table.headers))) + "|"
    return [line(table.headers), rule, *(line(row) for row in table.rows)]


def _section(key: str) -> list[str]:
    return [f"## {md_inline(headings()[key])}", ""]


def _head(data: ReportData) -> list[str]:
    return [f"# {md_inline(title(data))}", "",
            *(f"- **{md_inline(label)}:** {md_inline(value)}" for label, value in facts(data))]


def _objectives(data: ReportData) -> list[str]:
    items = [f"{n}. {md_inline(o)}" for n, o in enumerate(data.objectives, 1)]
    return [*_section("objectives"), *(items or [md_inline(_("None stated."))])]


def _scenario(data: ReportData) -> list[str]:
    text = data.description.strip() if data.description else ""
    return [*_section("scenario"), md_text(text) if text else md_inline(_("No description."))]


def _team(score: TeamScore) -> list[str]:
    head = _("{team} ({id}, {role}): total {total}").format(
        team=team_label(score), id=score.team, role=score.role, total=points_text(score.total))
    lines = ["", f"### {md_inline(head)}", ""]
    cats = categories_of(score)
    if cats:
        text = ", ".join(f"{term(c)} {points_text(p)}" for c, p in cats)
        lines += [f"{md_inline(_('By category:'))} {md_inline(text)}", ""]
    if score.entries:
        return lines + md_table(entry_table(score))
    return [*lines, md_inline(_("No score entries."))]


def _scores(data: ReportData) -> list[str]:
    if not data.scores:
        return [*_section("scores"), md_inline(_("No teams."))]
    lines = [*_section("scores"), *md_table(score_table(data.scores))]
    for score in data.scores:
        lines += _team(score)
    return lines


def _table_or(key: str, table: Table, empty: str) -> list[str]:
    return [*_section(key), *(md_table(table) if table.rows else [md_inline(empty)])]


def _expectations(data: ReportData) -> list[str]:
    return _table_or("expectations", expectation_table(data.expectations),
                     _("No expectations."))


def _clocks(data: ReportData) -> list[str]:
    return _table_or("clocks", clock_table(data.clocks), _("No statutory clocks."))


def _opinion(data: ReportData) -> list[str]:
    lines = _section("opinion")
    if not data.posts and not data.escalations:
        return [*lines, md_inline(_("No posts in this drill."))]
    lines += (md_table(post_table(data.posts)) if data.posts
              else [md_inline(_("No posts in this drill."))])
    lines += ["", f"### {md_inline(_('Escalations'))}", ""]
    lines += (md_table(escalation_table(data.escalations)) if data.escalations
              else [md_inline(_("No escalations."))])
    if data.heat:
        lines += ["", f"### {md_inline(_('Opinion heat'))}", "",
                  *md_table(heat_table(data.heat))]
    return lines


def _timeline(data: ReportData) -> list[str]:
    return _table_or("timeline", timeline_table(data.timeline), _("Nothing happened."))


def _findings(data: ReportData) -> list[str]:
    return _table_or("findings", finding_table(data.findings), _("None."))


def _lessons(data: ReportData) -> list[str]:
    if data.lessons:
        return [*_section("lessons"), *md_table(lesson_table(data.lessons))]
    sentence, command = no_lessons(data)
    return [*_section("lessons"), f"{md_inline(sentence)} `{command}`"]


def _notes(data: ReportData) -> list[str]:
    items = [f"- {md_inline(n)}" for n in data.notes]
    return [*_section("notes"), *(items or [md_inline(_("None."))])]


SECTIONS: tuple[Callable[[ReportData], list[str]], ...] = (
    _objectives, _scenario, _scores, _expectations, _clocks, _opinion, _timeline, _findings,
    _lessons, _notes)


def render(data: ReportData) -> str:
    """The whole report as Markdown text."""
    lines = _head(data)
    for section in SECTIONS:
        lines += ["", *section(data)]
    return "\n".join(lines) + "\n"
