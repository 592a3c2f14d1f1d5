"""Every export format, written to a file and read back with a real reader."""

from __future__ import annotations

import csv
import json
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped, unused-ignore]
import pytest

from garrison import __version__
from garrison.errors import GarrisonError
from garrison.findings.export.base import COLUMNS, ExportContext, ExportRow, ExportSummary, cell
from garrison.findings.export.ocsf_format import cvss_object
from garrison.findings.export.registry import FORMATS, get_exporter

T0 = datetime(2026, 11, 26, 18, 10, 58, tzinfo=UTC)
MS0 = 1795716658000  # T0 in epoch milliseconds
HZ, NB = "杭州市城乡建设委员会", "宁波市住房和城乡建设局"
HYPERLINK = '=HYPERLINK("http://x","click")'
SCRIPT = "<script>alert(1)</script>"
BASE = ExportRow(
    id=1, unit_code="hz-jw", unit_name=HZ, address="127.0.1.10", protocol="tcp", port=6379,
    service="redis", product="Redis", version="7.0.11", rule_id="redis-no-auth",
    title="Redis 未授权访问", severity="high",
    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", cwe="CWE-306", status="open",
    owner="王强", source="scan", first_seen=T0, last_seen=T0 + timedelta(days=2),
    due_at=T0 + timedelta(days=7), overdue=True, status_changed_at=T0,
    description="无需认证即可读写", remediation="启用 requirepass", evidence={"banner": "redis 7"},
)
ROWS = [
    BASE,
    BASE._replace(id=2, title=HYPERLINK, owner="@evil", severity="critical",
            status="in_progress", overdue=False, status_changed_at=T0 + timedelta(hours=1)),
    BASE._replace(id=3, title=SCRIPT, address=None, protocol=None, port=None, service=None,
            product=None, version=None, severity="low", cvss_vector=None, cwe=None,
            status="false_positive", source="manual", due_at=None, overdue=False,
            first_seen=datetime(2026, 11, 27, 2, 10, 58, tzinfo=timezone(timedelta(hours=8))),
            last_seen=T0, description=None, remediation=None, evidence={}),
    BASE._replace(id=4, title="#N/A", severity="info", status="accepted_risk", overdue=False),
    BASE._replace(id=5, unit_code="nb-js", unit_name=NB, severity="medium", status="fixed"),
    BASE._replace(id=6, unit_code="nb-js", unit_name=NB, title="-1+2", status="verified",
            cwe="CWE-287: Improper Authentication", overdue=False),
]
SUMMARY = ExportSummary(
    by_unit_severity={"hz-jw": {"high": 1, "critical": 1, "low": 1, "info": 1},
                      "nb-js": {"medium": 1, "high": 1}},
    overdue_by_unit={"hz-jw": 1, "nb-js": 1},
    by_severity={"critical": 1, "high": 2, "medium": 1, "low": 1, "info": 1},
    unit_names={"hz-jw": HZ, "nb-js": NB},
)
CONTEXT = ExportContext(
    generated_at=T0 + timedelta(hours=3), actor="审计员 li",
    filters={"unit": "hz-jw", "status": ["open", "in_progress"], "since": date(2026, 1, 1)},
    summary=SUMMARY,
)
HEADERS = [header for _key, header in COLUMNS]
ROW1_TEXT = ["1", "hz-jw", HZ, "127.0.1.10", "tcp/6379", "redis", "Redis", "7.0.11",
             "redis-no-auth", "Redis 未授权访问", "high",
             "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CWE-306", "open", "王强", "scan",
             "2026-11-26T18:10:58Z", "2026-11-28T18:10:58Z", "2026-12-03T18:10:58Z", "yes",
             "2026-11-26T18:10:58Z"]


def as_text(row: ExportRow) -> list[str]:
    """What the text formats must show, computed independently of the exporters."""
    def one(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return str(value)
    return [one(cell(row, key)) for key, _header in COLUMNS]


def write(name: str, tmp_path: Path) -> Path:
    exporter = get_exporter(name)
    path = tmp_path / f"findings{exporter.suffix}"
    assert exporter.write(iter(ROWS), path, CONTEXT) == len(ROWS)
    return path


def test_csv_has_a_bom_iso_times_and_inert_formulas(tmp_path: Path) -> None:
    path = write("csv", tmp_path)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == HEADERS
    assert rows[0] == ROW1_TEXT
    assert rows[1][9] == "'" + HYPERLINK and rows[1][14] == "'@evil"
    assert rows[2][3:5] == ["", ""] and rows[2][16] == "2026-11-26T18:10:58Z"  # from +08:00
    assert rows[5][9] == "'-1+2"
    expected = [as_text(row) for row in ROWS]
    for texts in expected:
        texts[9], texts[14] = (t if t[:1] not in "=+-@" else "'" + t for t in texts[9:15:5])
    assert rows == expected


def test_xlsx_is_typed_safe_and_laid_out(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write("xlsx", tmp_path))
    assert book.sheetnames == ["findings", "summary", "export"]
    ws = book["findings"]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    assert grid[0] == HEADERS and all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:U7"
    assert ws.column_dimensions["C"].width == 30 and ws.column_dimensions["J"].width == 50
    assert all(ws.column_dimensions[c].width >= 9 for c in "ABCDEFGHIJKLMNOPQRSTU")
    link = ws["J3"]
    assert link.data_type == "s" and link.value == "'" + HYPERLINK
    assert ws["J5"].data_type == "s" and ws["J5"].value == "#N/A"  # text, not an error
    assert ws["O3"].value == "'@evil" and ws["J7"].value == "'-1+2"
    for sheet in book.worksheets:
        assert not [c.coordinate for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    assert grid[1] == [1, "hz-jw", HZ, "127.0.1.10", "tcp/6379", "redis", "Redis", "7.0.11",
                       "redis-no-auth", "Redis 未授权访问", "high", BASE.cvss_vector, "CWE-306",
                       "open", "王强", "scan", datetime(2026, 11, 26, 18, 10, 58),
                       datetime(2026, 11, 28, 18, 10, 58), datetime(2026, 12, 3, 18, 10, 58),
                       "yes", datetime(2026, 11, 26, 18, 10, 58)]
    assert ws["Q2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert grid[3][3:5] == [None, None] and grid[3][18] is None
    assert grid[3][16] == datetime(2026, 11, 26, 18, 10, 58)  # +08:00 became UTC
    assert [r[0] for r in grid[1:]] == [1, 2, 3, 4, 5, 6]
    assert list(book["summary"].iter_rows(values_only=True)) == [
        ("unit code", "unit name", "critical", "high", "medium", "low", "info", "total",
         "overdue"),
        ("hz-jw", HZ, 1, 1, 0, 1, 1, 4, 1),
        ("nb-js", NB, 0, 1, 1, 0, 0, 2, 1),
        ("total", None, 1, 2, 1, 1, 1, 6, 2),
    ]
    assert list(book["export"].iter_rows(values_only=True)) == [
        ("field", "value"), ("generator", f"Garrison {__version__}"),
        ("generated at (UTC)", datetime(2026, 11, 26, 21, 10, 58)), ("actor", "审计员 li"),
        ("findings", 6), ("filter: unit", "hz-jw"), ("filter: status", "open, in_progress"),
        ("filter: since", "2026-01-01"),
    ]


# (title as stored, the cell a spreadsheet reader must get back from CSV and XLSX)
SPOOFED = [
    ("＝HYPERLINK(\"http://x\")", "'＝HYPERLINK(\"http://x\")"),  # full-width = (U+FF1D)
    ("＋86 571", "'＋86 571"), ("－1+2", "'－1+2"), ("＠SUM(A1)", "'＠SUM(A1)"),
    ("﹦1+2", "'﹦1+2"),  # small equals sign (U+FE66): NFKC folds it to "=" as well
    (" =1+2", "' =1+2"), ("\u3000=1+2", "'\u3000=1+2"),  # a space, an ideographic space
    ("\xa0＠SUM(A1)", "'\xa0＠SUM(A1)"), ("\u200b=1+2", "'\u200b=1+2"),  # NBSP, zero-width
    ("\nLF=1+2", "'\nLF=1+2"),  # OWASP added LF (0x0A) to tab and CR
    ("１+1", "１+1"), (" plain", " plain"), ("\u3000", "\u3000"), ("a=1", "a=1"),  # left alone
]


@pytest.mark.parametrize("name", ["csv", "xlsx"])
def test_full_width_and_blank_led_formulas_are_inert(name: str, tmp_path: Path) -> None:
    rows = [BASE._replace(id=i, title=title, owner=title)
            for i, (title, _cell) in enumerate(SPOOFED, 1)]
    path = tmp_path / f"spoofed.{name}"
    assert get_exporter(name).write(iter(rows), path, CONTEXT) == len(rows)
    if name == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            cells: list[tuple[Any, Any]] = [(r[9], r[14]) for r in list(csv.reader(handle))[1:]]
    else:
        sheet = openpyxl.load_workbook(path)["findings"]
        cells = [(r[9], r[14]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells == [(want, want) for _title, want in SPOOFED]


def test_the_guarded_characters_follow_their_rule() -> None:
    """Every character NFKC folds to = + - @ is a formula start; every Unicode space but
    tab, CR and LF (formula starts themselves) is a blank a spreadsheet may strip."""
    import sys
    import unicodedata

    from garrison.findings.export.base import FORMULA_START, LEADING_BLANKS

    every = [chr(c) for c in range(sys.maxunicode + 1)]
    folds = {c for c in every if unicodedata.normalize("NFKC", c) in ("=", "+", "-", "@")}
    assert folds <= FORMULA_START and {"\t", "\r", "\n", "\0"} <= FORMULA_START
    assert len(FORMULA_START) == len(folds) + 4
    spaces = {c for c in every if c.isspace()} - FORMULA_START
    assert set(LEADING_BLANKS) == spaces | {"\u200b", "\ufeff"}


def test_json_is_one_document_with_every_field(tmp_path: Path) -> None:
    path = write("json", tmp_path)
    assert HZ in path.read_text(encoding="utf-8")  # ensure_ascii=False
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc) == ["generator", "generated_at", "actor", "filters", "findings"]
    assert doc["generator"] == "garrison" and doc["generated_at"] == "2026-11-26T21:10:58Z"
    assert doc["actor"] == "审计员 li"
    assert doc["filters"] == {"unit": "hz-jw", "status": ["open", "in_progress"],
                              "since": "2026-01-01"}
    assert len(doc["findings"]) == len(ROWS)
    first = doc["findings"][0]
    assert list(first) == list(ExportRow._fields)
    assert first["first_seen"] == "2026-11-26T18:10:58Z" and first["overdue"] is True
    assert first["evidence"] == {"banner": "redis 7"} and first["port"] == 6379
    for got, row in zip(doc["findings"], ROWS, strict=True):
        want = row._asdict()
        for key in ("first_seen", "last_seen", "due_at", "status_changed_at"):
            if want[key] is not None:
                want[key] = want[key].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert got == want


def test_ocsf_events_map_class_severity_and_status(tmp_path: Path) -> None:
    events = json.loads(write("ocsf", tmp_path).read_text(encoding="utf-8"))
    assert isinstance(events, list) and len(events) == len(ROWS)
    first = events[0]
    assert first == {
        "class_uid": 2002, "class_name": "Vulnerability Finding", "category_uid": 2,
        "category_name": "Findings", "activity_id": 2, "activity_name": "Update",
        "type_uid": 200202, "type_name": "Vulnerability Finding: Update",
        "severity_id": 4, "severity": "High", "status_id": 1, "status": "New",
        "status_detail": "open", "time": MS0, "message": "Redis 未授权访问",
        "metadata": {"version": "1.3.0", "uid": "1", "product": {
            "name": "Garrison", "vendor_name": "Garrison", "version": __version__}},
        "finding_info": {
            "uid": "1", "title": "Redis 未授权访问", "desc": "无需认证即可读写",
            "first_seen_time": MS0, "last_seen_time": MS0 + 2 * 86_400_000,
            "modified_time": MS0, "types": ["redis-no-auth"], "data_sources": ["scan"]},
        "vulnerabilities": [{
            "title": "Redis 未授权访问", "desc": "无需认证即可读写", "severity": "High",
            "cwe": {"uid": "CWE-306"},
            "cvss": [{"vector_string": BASE.cvss_vector, "version": "3.1", "base_score": 9.8}],
            "remediation": {"desc": "启用 requirepass"},
            "first_seen_time": MS0, "last_seen_time": MS0 + 2 * 86_400_000}],
        "resources": [{"uid": "127.0.1.10", "type": "Host", "name": "127.0.1.10",
                       "labels": ["hz-jw"]}],
        "device": {"ip": "127.0.1.10", "type_id": 0},
        "unmapped": {"unit_code": "hz-jw", "unit_name": HZ, "owner": "王强",
                     "due_time": MS0 + 7 * 86_400_000, "overdue": True, "port": 6379,
                     "protocol": "tcp", "service": "redis", "product": "Redis",
                     "version": "7.0.11", "evidence": {"banner": "redis 7"}},
    }
    mapped = [(e["severity_id"], e["severity"], e["status_id"], e["status"], e["status_detail"])
              for e in events]
    assert mapped == [(4, "High", 1, "New", "open"), (5, "Critical", 2, "In Progress",
                      "in_progress"), (2, "Low", 3, "Suppressed", "false_positive"),
                      (1, "Informational", 3, "Suppressed", "accepted_risk"),
                      (3, "Medium", 4, "Resolved", "fixed"), (4, "High", 4, "Resolved",
                      "verified")]
    assert all(e["type_uid"] == 2002 * 100 + e["activity_id"] for e in events)
    plain = events[2]  # no address, seen once, no CWE/CVSS/text
    assert (plain["activity_id"], plain["type_uid"], plain["time"]) == (1, 200201, MS0)
    assert "resources" not in plain and "device" not in plain
    assert plain["vulnerabilities"] == [{"title": SCRIPT, "severity": "Low",
                                         "first_seen_time": MS0, "last_seen_time": MS0}]
    assert plain["unmapped"]["due_time"] is None and plain["unmapped"]["port"] is None
    assert events[5]["vulnerabilities"][0]["cwe"] == {"uid": "CWE-287",
                                                      "caption": "Improper Authentication"}


@pytest.mark.parametrize(("vector", "expected"), [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", {"version": "3.1", "base_score": 9.8}),
    ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", {"version": "3.1", "base_score": 8.1}),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", {"version": "3.1", "base_score": 10.0}),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", {"version": "3.1", "base_score": 5.4}),
    ("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", {"version": "3.0", "base_score": 1.6}),
    ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", {"version": "3.1", "base_score": 0.0}),
    ("CVSS:3.1/AV:N/AC:L", {"version": "3.1"}),  # incomplete: no score rather than a wrong one
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", {"version": "4.0"}),
])
def test_cvss_objects_carry_the_v3_base_score(vector: str, expected: dict[str, Any]) -> None:
    assert cvss_object(vector) == {"vector_string": vector, **expected}


class _Report(HTMLParser):
    """Collects the tables (by class), the tags seen and every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: list[str] = []
        self.links: list[str] = []
        self.texts: dict[str, str] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag == "table":
            self._table = found.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        self._id = found.get("id")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._id is not None:
            self.texts[self._id] = self.texts.get(self._id, "") + data


def test_html_report_is_offline_escaped_and_complete(tmp_path: Path) -> None:
    source = write("html", tmp_path).read_text(encoding="utf-8")
    assert source.startswith('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source and "Noto Sans CJK SC" in source
    report = _Report()
    report.feed(source)
    report.close()
    assert "script" not in report.tags and "link" not in report.tags
    assert report.tags.count("svg") == 2 and report.tags.count("rect") == 5 + 2
    assert not [link for link in report.links if link.lower().startswith(("http:", "https:"))]
    assert report.texts["count"].strip() == "6"
    findings = report.tables["findings"]
    assert findings[0] == HEADERS and findings[1] == ROW1_TEXT
    assert findings[1:] == [as_text(row) for row in ROWS]
    assert findings[3][9] == SCRIPT and findings[2][9] == HYPERLINK
    assert report.tables["summary"] == [
        ["unit code", "unit name", "critical", "high", "medium", "low", "info", "total",
         "overdue"],
        ["hz-jw", HZ, "1", "1", "0", "1", "1", "4", "1"],
        ["nb-js", NB, "0", "1", "1", "0", "0", "2", "1"],
        ["total", "", "1", "2", "1", "1", "1", "6", "2"],
    ]


def test_registry_names_every_format_and_suggests_a_close_one() -> None:
    assert {name: (cls.name, cls.suffix) for name, cls in FORMATS.items()} == {
        "csv": ("csv", ".csv"), "xlsx": ("xlsx", ".xlsx"), "json": ("json", ".json"),
        "ocsf": ("ocsf", ".ocsf.json"), "html": ("html", ".html")}
    assert type(get_exporter(" CSV ")) is FORMATS["csv"]
    with pytest.raises(GarrisonError) as wrong:
        get_exporter("xlxs")
    assert wrong.value.message == "unknown export format 'xlxs' (did you mean 'xlsx'?)"
    assert wrong.value.hint == "Formats: csv, xlsx, json, ocsf, html."
    with pytest.raises(GarrisonError, match=r"^unknown export format 'pdf'\n"):
        get_exporter("pdf")


@pytest.mark.parametrize(("name", "count"), [("csv", 100_000), ("xlsx", 20_000),
                                             ("json", 5_000), ("ocsf", 5_000), ("html", 5_000)])
def test_rows_stream_through_without_being_held(name: str, count: int, tmp_path: Path) -> None:
    live = most = 0

    def gone() -> None:
        nonlocal live
        live -= 1

    class Tracked(dict[str, object]):  # a tuple takes no weakref; a dict subclass does
        pass

    def rows() -> Iterator[ExportRow]:
        nonlocal live, most
        for i in range(count):
            evidence = Tracked(service="ssh")
            row = BASE._replace(id=i, title=f"finding {i}", overdue=i % 3 == 0,
                                evidence=evidence)
            weakref.finalize(evidence, gone)
            del evidence
            live += 1
            most = max(most, live)
            yield row
            del row

    exporter = get_exporter(name)
    started = time.perf_counter()
    assert exporter.write(rows(), tmp_path / f"big{exporter.suffix}", CONTEXT) == count
    took = time.perf_counter() - started
    print(f"\n{name}: {count:,} rows in {took:.1f} s")  # noqa: T201 - the figure asked for
    assert most <= 2  # one row at a time, not a list of them
