"""The after-action report as one self-contained offline HTML file.

Same content as ``report_md`` (it reuses that module's headings, facts and tables),
laid out with inline CSS and two inline SVG charts: the opinion-heat curve with the
escalations marked, and the scores per team. No script, no external font, style
sheet or image, and a Content-Security-Policy that forbids loading any, so the report
opens on an air-gapped machine and an escaping mistake could not run code. Every
value from the data goes through ``html.escape``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape
from math import ceil, floor, log10

from drills import report_md as md
from drills.durations import clock_text
from drills.report import EscalationRow, ReportData, TeamScore
from garrison import __version__
from garrison.i18n import _

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
VERDICT_CLASSES = {"met": "v-met", "late": "v-late", "missed": "v-missed", "open": "v-open",
                   "running": "v-open", "not started": "v-open"}
TIME_STEPS = (60, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
              172_800, 604_800)
"""Candidate spacings of the heat chart's time ticks (seconds)."""
MAX_TIME_TICKS = 6

# the heat chart's geometry
HEAT_W, HEAT_H = 760, 280
# presentation attributes too, not only CSS: the charts look right when an SVG is
# copied out of the report or viewed without its style sheet
GRID = 'stroke="#e3e7eb"'
AXIS = 'stroke="#5b6672"'
ESC = 'stroke="#c2410c" stroke-dasharray="4 3"'
LEFT, RIGHT, TOP, BOTTOM = 76, 48, 24, 40
PLOT_W, PLOT_H = HEAT_W - LEFT - RIGHT, HEAT_H - TOP - BOTTOM

# the score chart's geometry
BAR, GAP, BAR_TOP, BAR_H = 56, 28, 24, 180
TEAM_LABEL = 6
"""Characters of a team's name under its bar (the full name is in the tooltip)."""

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",
"Noto Sans SC",sans-serif;margin:24px;color:#1d232a;font-size:14px;max-width:1200px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid #d5dbe1;padding-bottom:3px}h3{font-size:15px;margin:18px 0 6px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}
dt{color:#5b6672}dd{margin:0}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border:1px solid #d5dbe1;padding:3px 7px;text-align:left;vertical-align:top}
thead th{background:#eef1f4}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.v-met{background:#e3f4e5;color:#1b6b2a}td.v-late{background:#fff4d6;color:#8a5a00}
td.v-missed{background:#fde4e1;color:#a12617}td.v-open{background:#eef0f2;color:#4d5863}
p.pre{white-space:pre-wrap}p.muted{color:#5b6672}
figure{margin:8px 0}figcaption{color:#5b6672;margin-bottom:4px}
svg text{font-family:inherit;font-size:12px;fill:#1d232a}
svg .grid{stroke:#e3e7eb}svg .axis{stroke:#5b6672}
svg .curve{fill:none;stroke:#1c6fb8;stroke-width:2}
svg .esc{stroke:#c2410c;stroke-dasharray:4 3}svg text.esc{fill:#c2410c;stroke:none}
@media print{section{break-inside:avoid-page}}
"""


def _e(value: object) -> str:
    """Escaped text; control characters HTML cannot carry are replaced."""
    return escape(CONTROL_CHARS.sub("\ufffd", str(value)))


# ------------------------------------------------------------------ the heat chart


def time_step(span: float) -> int:
    """The smallest candidate spacing giving at most ``MAX_TIME_TICKS`` intervals."""
    return next((s for s in TIME_STEPS if span / s <= MAX_TIME_TICKS), TIME_STEPS[-1])


def heat_ticks(peak: float) -> list[float]:
    """Round heat values from 0 to at least ``peak``: 1, 2 or 5 times a power of ten apart."""
    raw = max(peak / 4, 1.0)
    power = 10.0 ** floor(log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power)
    return [i * step for i in range(max(1, ceil(peak / step)) + 1)]


def _axes(span: float, ticks: list[float]) -> list[str]:
    top = ticks[-1]
    parts = []
    for value in ticks:
        y = TOP + PLOT_H * (1 - value / top)
        parts.append(f'<line class="grid" {GRID} x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" '
                     f'y2="{y:.1f}"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_e(md.reach_text(value))}</text>')
    step = time_step(span)
    for t in range(0, int(span) + 1, step):
        x = LEFT + PLOT_W * t / span
        parts.append(f'<line class="axis" {AXIS} x1="{x:.1f}" y1="{TOP + PLOT_H}" x2="{x:.1f}" '
                     f'y2="{TOP + PLOT_H + 4}"/><text x="{x:.1f}" y="{TOP + PLOT_H + 18}" '
                     f'text-anchor="middle">{_e(clock_text(t))}</text>')
    parts.append(f'<line class="axis" {AXIS} x1="{LEFT}" y1="{TOP}" x2="{LEFT}" '
                 f'y2="{TOP + PLOT_H}"/><line class="axis" {AXIS} x1="{LEFT}" y1="{TOP + PLOT_H}" '
                 f'x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}"/>')
    return parts


def _markers(escalations: Sequence[EscalationRow], span: float) -> list[str]:
    parts = []
    for index, esc in enumerate(escalations):
        x = LEFT + PLOT_W * esc.at / span
        tip = _("escalation {id} to {to} at {at}, heat {heat}").format(
            id=esc.id, to=esc.to, at=clock_text(esc.at), heat=md.reach_text(esc.heat))
        near_end = x > LEFT + PLOT_W * 0.85  # label to the left of the line, not off the chart
        label = (f'x="{x - 4:.1f}" text-anchor="end"' if near_end else f'x="{x + 4:.1f}"')
        parts.append(f'<g><title>{_e(tip)}</title><line class="esc" {ESC} x1="{x:.1f}" y1="{TOP}" '
                     f'x2="{x:.1f}" y2="{TOP + PLOT_H}"/><text class="esc" {label} '
                     f'y="{TOP + 12 + 14 * index}">{_e(esc.to)}</text></g>')
    return parts


def heat_chart(data: ReportData) -> str:
    """The heat curve as an SVG line chart, or a short note when there is no heat."""
    if not data.heat or max(h for _t, h in data.heat) <= 0:
        note = _("No posts in this drill.") if not data.posts else _(
            "The opinion heat stayed at 0.")
        return f'<p class="muted">{_e(note)}</p>\n'
    span = max(data.drill_end, data.heat[-1][0], *(e.at for e in data.escalations), 1.0)
    ticks = heat_ticks(max(h for _t, h in data.heat))
    points = " ".join(f"{LEFT + PLOT_W * t / span:.1f},"
                      f"{TOP + PLOT_H * (1 - max(h, 0.0) / ticks[-1]):.1f}"
                      for t, h in data.heat)
    label = _e(_("opinion heat over drill time"))
    return (f'<figure><figcaption>{label}</figcaption><svg class="chart heat" '
            f'width="{HEAT_W}" height="{HEAT_H}" role="img" aria-label="{label}">'
            + "".join(_axes(span, ticks))
            + f'<polyline class="curve" fill="none" stroke="#1c6fb8" stroke-width="2" '
              f'points="{points}"/>'
            + "".join(_markers(data.escalations, span)) + "</svg></figure>\n")


# ------------------------------------------------------------------ the score chart


def _bar(index: int, score: TeamScore, zero: float, scale: float) -> str:
    x, h = GAP + index * (BAR + GAP), abs(score.total) * scale
    y = zero - h if score.total >= 0 else zero
    value_y = y - 6 if score.total >= 0 else zero + h + 14
    colour = "#1c6fb8" if score.total >= 0 else "#c2410c"
    name = md.team_label(score)
    short = name if len(name) <= TEAM_LABEL else name[:TEAM_LABEL - 1] + "…"
    middle = x + BAR // 2
    return (f'<g><title>{_e(name)} ({_e(score.team)}): {_e(md.points_text(score.total))}'
            f'</title><rect x="{x}" y="{y:.1f}" width="{BAR}" height="{h:.1f}" '
            f'fill="{colour}"/><text x="{middle}" y="{value_y:.1f}" text-anchor="middle">'
            f'{_e(md.points_text(score.total))}</text><text x="{middle}" '
            f'y="{BAR_TOP + BAR_H + 32}" text-anchor="middle">{_e(short)}</text></g>')


def score_chart(scores: Sequence[TeamScore]) -> str:
    """Total points per team as SVG bars; negative totals hang below the zero line."""
    high = max(0.0, *(s.total for s in scores))
    low = min(0.0, *(s.total for s in scores))
    scale = BAR_H / ((high - low) or 1.0)
    zero = BAR_TOP + high * scale
    width = max(GAP + len(scores) * (BAR + GAP), 200)
    label = _e(_("points per team"))
    return (f'<figure><figcaption>{label}</figcaption><svg class="chart scores" '
            f'width="{width}" height="{BAR_TOP + BAR_H + 42}" role="img" '
            f'aria-label="{label}">'
            + "".join(_bar(i, s, zero, scale) for i, s in enumerate(scores))
            + f'<line class="axis" {AXIS} x1="0" y1="{zero:.1f}" x2="{width}" y2="{zero:.1f}"/>'
            + "</svg></figure>\n")


# ------------------------------------------------------------------ tables and sections


def _cell(table: md.Table, row: int, column: int, text: str) -> str:
    classes = ["n"] if column in table.numeric else []
    if column == table.verdict_column:
        classes.append(VERDICT_CLASSES.get(table.verdicts[row], "v-other"))
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{_e(text)}</td>"


def table_html(table: md.Table, css: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(_cell(table, r, c, text) for c, text in enumerate(row))
                   + "</tr>\n" for r, row in enumerate(table.rows))
    return (f'<table class="{_e(css)}"><thead><tr>{head}</tr></thead>\n<tbody>\n{body}'
            "</tbody></table>\n")


def _muted(text: str) -> str:
    return f'<p class="muted">{_e(text)}</p>\n'


def _table_or(table: md.Table, css: str, empty: str) -> str:
    return table_html(table, css) if table.rows else _muted(empty)


def _head(data: ReportData) -> str:
    title = _e(md.title(data))
    rows = "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>\n"
                   for label, value in md.facts(data))
    return ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
            f'<meta name="generator" content="Garrison {_e(__version__)}">\n'
            f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n<dl>\n{rows}</dl>\n")


def _objectives(data: ReportData) -> str:
    if not data.objectives:
        return _muted(_("None stated."))
    return "<ol>" + "".join(f"<li>{_e(o)}</li>" for o in data.objectives) + "</ol>\n"


def _scenario(data: ReportData) -> str:
    text = data.description.strip() if data.description else ""
    return f'<p class="pre">{_e(text)}</p>\n' if text else _muted(_("No description."))


def _team(score: TeamScore) -> str:
    head = _("{team} ({id}, {role}): total {total}").format(
        team=md.team_label(score), id=score.team, role=score.role,
        total=md.points_text(score.total))
    out = f"<h3>{_e(head)}</h3>\n"
    cats = md.categories_of(score)
    if cats:
        text = ", ".join(f"{md.term(c)} {md.points_text(p)}" for c, p in cats)
        out += f"<p>{_e(_('By category:'))} {_e(text)}</p>\n"
    return out + _table_or(md.entry_table(score), "entries", _("No score entries."))


def _scores(data: ReportData) -> str:
    if not data.scores:
        return _muted(_("No teams."))
    return (score_chart(data.scores) + table_html(md.score_table(data.scores), "scores")
            + "".join(_team(s) for s in data.scores))


def _expectations(data: ReportData) -> str:
    return _table_or(md.expectation_table(data.expectations), "expectations",
                     _("No expectations."))


def _clocks(data: ReportData) -> str:
    return _table_or(md.clock_table(data.clocks), "clocks", _("No statutory clocks."))


def _opinion(data: ReportData) -> str:
    if not data.posts and not data.escalations:
        return heat_chart(data) if data.heat else _muted(_("No posts in this drill."))
    out = _table_or(md.post_table(data.posts), "posts", _("No posts in this drill."))
    out += f"<h3>{_e(_('Escalations'))}</h3>\n"
    out += _table_or(md.escalation_table(data.escalations), "escalations",
                     _("No escalations."))
    out += f"<h3>{_e(_('Opinion heat'))}</h3>\n" + heat_chart(data)
    if data.heat:
        out += (f"<details><summary>{_e(_('heat samples'))}</summary>"
                + table_html(md.heat_table(data.heat), "heat") + "</details>\n")
    return out


def _timeline(data: ReportData) -> str:
    return _table_or(md.timeline_table(data.timeline), "timeline", _("Nothing happened."))


def _findings(data: ReportData) -> str:
    return _table_or(md.finding_table(data.findings), "findings", _("None."))


def _lessons(data: ReportData) -> str:
    if data.lessons:
        return table_html(md.lesson_table(data.lessons), "lessons")
    sentence, command = md.no_lessons(data)
    return f'<p class="muted">{_e(sentence)} <code>{_e(command)}</code></p>\n'


def _notes(data: ReportData) -> str:
    if not data.notes:
        return _muted(_("None."))
    return "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in data.notes) + "</ul>\n"


SECTIONS: dict[str, Callable[[ReportData], str]] = {
    "objectives": _objectives, "scenario": _scenario, "scores": _scores,
    "expectations": _expectations, "clocks": _clocks, "opinion": _opinion,
    "timeline": _timeline, "findings": _findings, "lessons": _lessons, "notes": _notes}


def render(data: ReportData) -> str:
    """The whole report as one HTML document."""
    headings = md.headings()
    body = "".join(f'<section id="{_e(key)}">\n<h2>{_e(headings[key])}</h2>\n'
                   f"{section(data)}</section>\n" for key, section in SECTIONS.items())
    return _head(data) + body + "</body>\n</html>\n"
