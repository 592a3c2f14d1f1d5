"""The after-action report's two renderers, fed a hand-built ReportData (no database)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from drills import report_html, report_md
from drills.report import (
    ClockRow,
    EscalationRow,
    ExpectationRow,
    FindingRow,
    Lesson,
    PostRow,
    ReportData,
    ScoreEntry,
    TeamScore,
    TimelineEntry,
)

T0 = datetime(2026, 5, 8, 9, 0, tzinfo=UTC)
END = 4 * 3600.0
SHA = "9f2c4e1ab37d5c80e6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
TITLE = "工地塔吊事故谣言舆情处置演练"
DESCRIPTION = ("情景概述：周五傍晚，微博账号发布帖文，称滨江区某在建住宅项目塔吊倒塌。\n\n"
               "Module 1 — 监测与研判（T+0 至 T+1h）：舆情岗须在30分钟内研判定级。")
OBJECTIVES = ("检验舆情监测预警到研判定级的时效（30分钟内）", "检验“黄金4小时”首次回应的能力")
OPINION, LEADERSHIP = "杭州市城建委网信办（舆情岗）", "杭州市城建委分管领导"
REASON = "裁判：研判报告质量高"
MARKUP = "<b>x</b>"
POST_TEXT = f"滨江某工地塔吊倒塌砸中工人宿舍，至少5人死亡！{MARKUP} #杭州塔吊倒塌#"
LESSON = f"现场核查信息到舆情岗位太慢，应建立直报通道 {MARKUP}"
PIPE_DOES = "decide|成立专班\n明确发言人"
HEADINGS = ["Objectives", "Scenario", "Scores", "Expectations", "Statutory clocks", "Opinion",
            "Timeline", "Findings raised", "Lessons learned", "Notes"]
VERDICTS = ["met", "late", "missed", "open", "met"]


def _heat() -> tuple[tuple[float, float], ...]:
    """Reach of one rumour every 60 s: x4 an hour, slower after the statement."""
    curve = []
    for t in range(0, int(END) + 1, 60):
        fast = min(t, 5400)
        curve.append((float(t), round(3000 * 4 ** (fast / 3600) * 2.2 ** ((t - fast) / 3600),
                                      1)))
    return tuple(curve)


HEAT = _heat()
ESCALATION_AT = next(t for t, h in HEAT if h > 100_000)
EXPECTATIONS = (
    ExpectationRow("alert", "opinion", "classify", 600, 2400, "met", 1500, 10, 10, "analysis",
                   False),
    ExpectationRow("draft-statement", "leadership", "approve-statement", 1200, 3600, "late",
                   4200, 5, 10, None, False),
    ExpectationRow("site-facts", "opinion", "authoritative-info", 3600, 10800, "missed", 10800,
                   -5, 10, None, False),
    ExpectationRow("heat-warning", "leadership", PIPE_DOES, 9000, 12600, "open", None, 0, 10,
                   None, False),
    ExpectationRow("to-province", "opinion", "detect", ESCALATION_AT, ESCALATION_AT + 1800,
                   "met", ESCALATION_AT + 60, 5, 5, "detection", True),
)
CLOCKS = (
    ClockRow("golden-4h", "黄金4小时首次回应", "opinion", "statement",
             "《政务舆情回应工作规范》", 1500, 1500 + 4 * 3600, "met", 10, 4200),
    ClockRow("press-24h", "24小时内新闻发布会", "leadership", "press-conference", None, 1500,
             1500 + 24 * 3600, "running", 0),
)
SCORES = (
    TeamScore("opinion", OPINION, "opinion", 18.0,
              {"expectation": 15.0, "clock": 10.0, "adjust": 3.0}, {"analysis": 10.0,
                                                                   "detection": 5.0},
              (ScoreEntry(1500, 10, "met: classify (alert)", "expectation", "analysis"),
               ScoreEntry(5400, 10, "met clock golden-4h", "clock", None),
               ScoreEntry(10800, -5, "missed: authoritative-info (site-facts)", "expectation",
                          None),
               ScoreEntry(ESCALATION_AT + 60, 5, "met: detect (to-province)", "expectation",
                          "detection"),
               ScoreEntry(END, 3, REASON, "adjust", None))),
    TeamScore("leadership", LEADERSHIP, "leadership", -5.0,
              {"expectation": 5.0, "adjust": -10.0}, {},
              (ScoreEntry(4200, 5, "late: approve-statement (draft-statement)", "expectation",
                          None),
               ScoreEntry(END, -10, "裁判：未按程序先审后发", "adjust", None))),
)
TIMELINE = (
    TimelineEntry(0, T0, "state", None, None, "started"),
    TimelineEntry(0, T0, "post", None, "rumour", f"weibo @杭城工地目击者: {POST_TEXT}"),
    TimelineEntry(600, T0 + timedelta(seconds=600), "inject", "opinion", "alert",
                  "message to opinion: [市城建委舆情监测中心] 【舆情预警】请立即研判定级。"),
    TimelineEntry(1500, T0 + timedelta(seconds=1500), "response", "opinion", "alert",
                  "classify [serious]: 较大舆情"),
    TimelineEntry(ESCALATION_AT, None, "escalation", None, "to-province",
                  "escalated city -> province at heat 101000"),
    TimelineEntry(END, T0 + timedelta(seconds=END), "adjust", "opinion", None, f"+3: {REASON}"),
)
DATA = ReportData(
    run_id=42, playbook_id="site-accident-rumour", playbook_sha256=SHA, title=TITLE,
    kind="opinion-response", description=DESCRIPTION, objectives=OBJECTIVES, unit="hz-jw",
    clock="step (auto)", state="finished", started_at=T0,
    finished_at=T0 + timedelta(hours=4, minutes=3), drill_end=END, level_start="city",
    level_end="province", timeline=TIMELINE, expectations=EXPECTATIONS, clocks=CLOCKS,
    scores=SCORES, heat=HEAT,
    posts=(PostRow("rumour", "weibo", "@杭城工地目击者", POST_TEXT, 0.0, 3000, 135_421.6,
                   "late_statement"),),
    escalations=(EscalationRow("to-province", ESCALATION_AT, "province",
                               dict(HEAT)[ESCALATION_AT]),),
    findings=(FindingRow(7, "舆情研判定级超时：权威信息未按时发布", "hz-jw", "medium", "open",
                         "王强"),),
    lessons=(Lesson(END, "opinion", LESSON, "李娜",
                    datetime(2026, 11, 27, 9, 30, tzinfo=timezone(timedelta(hours=8)))),),
    generated_at=T0 + timedelta(hours=5),
    notes=("1 expectation(s) were still open when the drill ended at T+04:00:00.",),
)
EMPTY = replace(DATA, posts=(), heat=(), escalations=(), lessons=(), findings=())
CJK = [TITLE, *DESCRIPTION.split("\n\n"), *OBJECTIVES, OPINION, LEADERSHIP, REASON, POST_TEXT,
       LESSON, "黄金4小时首次回应", "《政务舆情回应工作规范》", "王强", "李娜"]


# ------------------------------------------------------------------ Markdown helpers


def _md_sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _md_cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def _md_tables(section: str) -> list[list[list[str]]]:
    """The tables in a section, each as rows of cells (header first, rule dropped)."""
    tables: list[list[list[str]]] = []
    previous = False
    for line in section.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous:
            tables.append([])
        if is_row and not re.fullmatch(r"\|(-{3}:?\|)+", line):
            tables[-1].append(_md_cells(line))
        previous = is_row
    return tables


# ------------------------------------------------------------------ HTML helpers

VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Page(HTMLParser):
    """Start tags, headings, tables (cells with their classes) and text per section;
    fails on a mismatched end tag."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": []}
        self.tables: dict[str, list[list[tuple[str, str]]]] = {}
        """By class; a repeated class gets a suffix: entries, entries-2, ..."""
        self.sections: dict[str, str] = {}
        self.stack: list[str] = []
        self._table: str | None = None
        self._cell: tuple[list[str], str] | None = None
        self._heading: str | None = None
        self._section: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.starts.append((tag, found))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "section":
            self._section = found.get("id") or ""
            self.sections[self._section] = ""
        elif tag == "table":
            name = found.get("class") or ""
            count = sum(1 for key in self.tables if key.split("-")[0] == name)
            self._table = f"{name}-{count + 1}" if count else name
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = ([], found.get("class") or "")
        elif tag in self.headings:
            self._heading = tag
            self.headings[tag].append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append(("".join(self._cell[0]), self._cell[1]))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == self._heading:
            self._heading = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[0].append(data)
        if self._heading is not None:
            self.headings[self._heading][-1] += data
        if self._section is not None and self._heading != "h2":
            self.sections[self._section] += data

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.starts if tag == name]

    def texts(self, table: str) -> list[list[str]]:
        return [[text for text, _css in row] for row in self.tables[table]]


def _page(data: ReportData) -> _Page:
    page = _Page()
    page.feed(report_html.render(data))
    page.close()
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def _number(value: str | None) -> float:
    assert value is not None
    return float(value)


# ------------------------------------------------------------------ both formats


def test_markdown_has_every_section_in_order() -> None:
    text = report_md.render(DATA)
    assert text.startswith(f"# After-action report: {TITLE}\n")
    assert re.findall(r"^## (.+)$", text, flags=re.MULTILINE) == HEADINGS


def test_html_has_every_section_in_order() -> None:
    page = _page(DATA)
    assert page.headings["h1"] == [f"After-action report: {TITLE}"]
    assert page.headings["h2"] == HEADINGS
    assert list(page.sections) == ["objectives", "scenario", "scores", "expectations",
                                   "clocks", "opinion", "timeline", "findings", "lessons",
                                   "notes"]


def test_markdown_run_facts() -> None:
    head = report_md.render(DATA).split("\n## ", 1)[0]
    for fact in ("- **Run:** 42", f"- **Playbook:** site-accident-rumour (sha256 {SHA[:12]})",
                 "- **Unit:** hz-jw", "- **Clock:** step (auto)", "- **State:** finished",
                 "- **Started (UTC):** 2026-05-08 09:00:00",
                 "- **Finished (UTC):** 2026-05-08 13:03:00",
                 "- **Drill duration:** 4h (T+04:00:00)", "- **Level:** city -> province"):
        assert fact + "\n" in head + "\n", fact
    assert SHA not in head


@pytest.mark.parametrize("render", [report_md.render, report_html.render])
def test_cjk_text_comes_through_unchanged(render: Callable[[ReportData], str]) -> None:
    text = render(DATA)
    missing = [part for s in CJK for part in s.split(MARKUP) if part.strip() not in text]
    assert missing == []


# ------------------------------------------------------------------ Markdown tables


def test_markdown_expectation_table_has_one_row_per_expectation() -> None:
    tables = _md_tables(_md_sections(report_md.render(DATA))["Expectations"])
    assert len(tables) == 1
    head, *rows = tables[0]
    assert head == ["source", "team", "must do", "opened", "deadline", "verdict", "judged at",
                    "points/max", "automatic"]
    assert len(rows) == len(EXPECTATIONS)
    assert all(len(row) == len(head) for row in rows)
    assert [row[5] for row in rows] == VERDICTS
    assert rows[0] == ["alert", "opinion", "classify", "T+00:10:00", "T+00:40:00", "met",
                       "T+00:25:00", "10/10", "no"]
    assert rows[3][2] == "decide|成立专班 明确发言人" and rows[3][6] == "-"
    assert rows[4][8] == "yes" and rows[2][7] == "-5/10"


def test_markdown_pipe_and_newline_stay_inside_their_cell() -> None:
    text = report_md.render(DATA)
    lines = text.splitlines()
    line = next(x for x in lines if "成立专班" in x)
    header = next(x for x in lines if x.startswith("| source | team | must do |"))
    assert "decide\\|成立专班 明确发言人" in line
    assert len(re.findall(r"(?<!\\)\|", line)) == header.count("|") == 10
    assert "明确发言人 |" in line and "\n明确发言人" not in text


def test_markdown_clock_table() -> None:
    head, *rows = _md_tables(_md_sections(report_md.render(DATA))["Statutory clocks"])[0]
    assert head == ["id", "title", "team", "must do", "started", "deadline", "verdict",
                    "points", "basis", "judged at"]
    assert rows == [
        ["golden-4h", "黄金4小时首次回应", "opinion", "statement", "T+00:25:00", "T+04:25:00",
         "met", "10", "《政务舆情回应工作规范》", "T+01:10:00"],
        ["press-24h", "24小时内新闻发布会", "leadership", "press-conference", "T+00:25:00",
         "T+1d 00:25:00", "running", "0", "", "-"],
    ]


def test_markdown_scores_per_team_with_sources_categories_and_reasons() -> None:
    section = _md_sections(report_md.render(DATA))["Scores"]
    summary, opinion, leadership = _md_tables(section)
    assert summary[0] == ["team", "name", "role", "total", "expectation", "clock", "attack",
                          "adjust"]
    assert summary[1:] == [["opinion", OPINION, "opinion", "18", "15", "10", "0", "3"],
                           ["leadership", LEADERSHIP, "leadership", "-5", "5", "0", "0",
                            "-10"]]
    assert f"### {OPINION} (opinion, opinion): total 18" in section
    assert "By category: detection 5, analysis 10" in section
    assert section.index("By category") < section.index(f"### {LEADERSHIP}")
    assert section.count("By category") == 1  # leadership has no categorised points
    assert ["T+04:00:00", "+3", "adjust", "", REASON] in opinion
    assert ["T+04:00:00", "-10", "adjust", "", "裁判：未按程序先审后发"] in leadership
    assert len(opinion) == 1 + len(SCORES[0].entries)


def test_markdown_opinion_posts_escalations_and_sampled_heat() -> None:
    posts, escalations, heat = _md_tables(_md_sections(report_md.render(DATA))["Opinion"])
    assert posts[1] == ["rumour", "weibo", "@杭城工地目击者", POST_TEXT.replace("<", "\\<"),
                        "T+00:00:00", "3,000", "135,422", "late_statement"]
    assert escalations[1][:3] == ["to-province", "T+03:19:00", "province"]
    assert escalations[1][3] == f"{dict(HEAT)[ESCALATION_AT]:,.0f}"
    samples = heat[1:]
    assert 20 <= len(samples) <= 24 < len(HEAT)
    assert samples[0] == ["T+00:00:00", "3,000"] and samples[-1][0] == "T+04:00:00"
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", h) for _t, h in samples)


def test_markdown_timeline_findings_lessons_notes() -> None:
    sections = _md_sections(report_md.render(DATA))
    timeline = _md_tables(sections["Timeline"])[0]
    assert len(timeline) == 1 + len(TIMELINE)
    assert timeline[3] == ["T+00:10:00", "2026-05-08 09:10:00", "inject", "opinion", "alert",
                           TIMELINE[2].text]
    assert timeline[5][1] == ""  # no wall time recorded
    assert _md_tables(sections["Findings raised"])[0][1] == [
        "7", "舆情研判定级超时：权威信息未按时发布", "hz-jw", "medium", "open", "王强"]
    assert _md_tables(sections["Lessons learned"])[0][1] == [
        "T+04:00:00", "opinion", LESSON.replace("<", "\\<"), "李娜",
        "2026-11-27 01:30:00"]  # recorded at 09:30 in UTC+8
    assert sections["Notes"].strip() == f"- {DATA.notes[0]}"


def test_markdown_markup_in_text_cannot_become_html() -> None:
    text = report_md.render(DATA)
    assert MARKUP not in text and "\\<b>x\\</b>" in text


def test_markdown_empty_report_says_none() -> None:
    sections = _md_sections(report_md.render(EMPTY))
    assert sections["Opinion"].strip() == "No posts in this drill."
    assert sections["Findings raised"].strip() == "None."
    assert sections["Lessons learned"].strip() == (
        "No lessons were recorded. Add one with: "
        '`garrison drill respond 42 --team TEAM --does lesson --note "..."`')
    assert "|" not in sections["Opinion"] + sections["Findings raised"]


# ------------------------------------------------------------------ HTML


def test_html_is_offline_and_self_contained() -> None:
    source = report_html.render(DATA)
    assert source.startswith("<!DOCTYPE html>\n")
    page = _page(DATA)
    assert "script" not in [tag for tag, _attrs in page.starts]
    assert "<script" not in source.lower()
    assert {"link", "img", "iframe", "object"}.isdisjoint(tag for tag, _a in page.starts)
    links = [v or "" for _t, attrs in page.starts for k, v in attrs.items()
             if k in ("src", "href", "xlink:href")]
    assert not [x for x in links if x.lower().startswith(("http://", "https://", "//"))]
    assert "http://" not in source and "https://" not in source
    metas = page.tags("meta")
    assert {"charset": "utf-8"} in metas
    csp = [m for m in metas if m.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1 and "default-src 'none'" in (csp[0].get("content") or "")
    assert "script-src" not in (csp[0].get("content") or "")
    assert len(page.tags("style")) == 1 and len(page.tags("svg")) == 2


def test_html_heat_curve_has_one_point_per_sample_and_escalation_markers() -> None:
    page = _page(DATA)
    (curve,) = page.tags("polyline")
    points = [tuple(map(float, p.split(","))) for p in (curve["points"] or "").split()]
    assert len(points) == len(HEAT)
    xs, ys = [x for x, _y in points], [y for _x, y in points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert ys[0] > ys[-1]  # SVG y grows downwards: the curve rises
    markers = [a for a in page.tags("line") if a.get("class") == "esc"]
    assert len(markers) == len(DATA.escalations)
    at = xs[[t for t, _h in HEAT].index(ESCALATION_AT)]
    assert _number(markers[0]["x1"]) == pytest.approx(at, abs=0.2)
    source = report_html.render(DATA)
    assert ">province</text>" in source
    assert ">T+00:00:00</text>" in source and ">T+04:00:00</text>" in source
    assert re.search(r">\d{1,3},\d{3}</text>", source)  # heat ticks: thousands separators


def test_html_score_bars_hang_negative_totals_below_zero() -> None:
    page = _page(DATA)
    svg = report_html.score_chart(SCORES)
    inner = _Page()
    inner.feed(svg)
    (zero,) = [a for a in inner.tags("line") if a.get("class") == "axis"]
    opinion, leadership = inner.tags("rect")
    line = _number(zero["y1"])
    assert _number(opinion["y"]) + _number(opinion["height"]) == pytest.approx(line)
    assert _number(opinion["height"]) > 0
    assert _number(leadership["y"]) == pytest.approx(line)
    assert _number(leadership["height"]) == pytest.approx(_number(opinion["height"]) * 5 / 18,
                                                          abs=0.2)
    assert len(page.tags("rect")) == len(SCORES)


def test_html_tables_match_the_markdown_and_colour_verdicts() -> None:
    page = _page(DATA)
    expectations = page.tables["expectations"]
    assert len(expectations) == 1 + len(EXPECTATIONS)
    md = _md_tables(_md_sections(report_md.render(DATA))["Expectations"])[0]
    assert [[" ".join(c.split()) for c in row] for row in page.texts("expectations")] == md
    assert [row[5] for row in expectations[1:]] == [
        (v, f"v-{v}") for v in VERDICTS]
    assert [row[6][1] for row in page.tables["clocks"][1:]] == ["v-met", "v-open"]
    assert page.texts("findings")[1][1] == "舆情研判定级超时：权威信息未按时发布"
    assert len(page.texts("entries")) == 1 + len(SCORES[0].entries)
    assert ["T+04:00:00", "+3", "adjust", "", REASON] in page.texts("entries")
    assert ["T+04:00:00", "-10", "adjust", "", "裁判：未按程序先审后发"] in page.texts(
        "entries-2")
    assert page.headings["h3"][:2] == [f"{OPINION} (opinion, opinion): total 18",
                                       f"{LEADERSHIP} (leadership, leadership): total -5"]


def test_html_escapes_markup_in_posts_and_lessons() -> None:
    source = report_html.render(DATA)
    page = _page(DATA)
    assert MARKUP not in source and "&lt;b&gt;x&lt;/b&gt;" in source
    assert "b" not in [tag for tag, _attrs in page.starts]
    assert page.texts("posts")[1][3] == POST_TEXT
    assert page.texts("lessons")[1][2] == LESSON


def test_html_escapes_markup_in_names_and_attributes() -> None:
    hostile = replace(DATA, title='"><script>alert(1)</script>', scores=(
        replace(SCORES[0], name="<svg onload=x>"),), escalations=(
        replace(DATA.escalations[0], to="<img src=http://x>"),))
    source = report_html.render(hostile)
    page = _page(hostile)
    assert "<script" not in source and "<img" not in source
    assert len(page.tags("svg")) == 2 and page.tags("img") == []
    assert page.headings["h1"] == ['After-action report: "><script>alert(1)</script>']


def test_html_empty_report_says_none_and_draws_only_the_scores() -> None:
    page = _page(EMPTY)
    assert [a.get("class") for a in page.tags("svg")] == ["chart scores"]
    assert page.tags("polyline") == []
    assert page.sections["opinion"].strip() == "No posts in this drill."
    assert page.sections["findings"].strip() == "None."
    assert "No lessons were recorded." in page.sections["lessons"]
    assert "garrison drill respond 42 --team TEAM --does lesson" in page.sections["lessons"]
    assert {"posts", "findings", "lessons", "heat"}.isdisjoint(page.tables)


def test_html_flat_zero_heat_draws_no_curve() -> None:
    flat = replace(DATA, heat=tuple((t, 0.0) for t, _h in HEAT), escalations=())
    page = _page(flat)
    assert len(page.tags("svg")) == 1 and page.tags("polyline") == []
    assert "The opinion heat stayed at 0." in page.sections["opinion"]


def test_html_without_teams_draws_no_chart() -> None:
    page = _page(replace(EMPTY, scores=()))
    assert page.tags("svg") == []
    assert page.sections["scores"].strip() == "No teams."
