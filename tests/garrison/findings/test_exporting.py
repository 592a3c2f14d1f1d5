"""Exports from a real database: read each format back and compare with the findings."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import select

from garrison.canonical import sha256_file
from garrison.db import read_session, write_session
from garrison.findings.exporting import export_findings
from garrison.findings.queries import FindingFilter
from garrison.models import AuditEvent, Finding
from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.garrison.conftest import NOW, Known
from tests.garrison.helpers import plain_sql


def _export(settings: Settings, fmt: str, path: Path, f: FindingFilter | None = None) -> None:
    with write_session(settings) as session:
        export_findings(session, fmt=fmt, path=path, filters=f or FindingFilter(),
                        actor="auditor", database="test", now=NOW)


def _db(settings: Settings) -> dict[int, Finding]:
    with read_session(settings) as session:
        return {f.id or 0: f for f in session.exec(select(Finding)).all()}


def test_csv_round_trips_cjk_and_neutralises_formulas(known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    _export(known.settings, "csv", path)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    db = _db(known.settings)
    assert {int(r["finding id"]) for r in rows} == set(db)
    for row in rows:
        f = db[int(row["finding id"])]
        assert (row["severity"], row["status"], row["owner"]) == (
            f.severity.value, f.status.value, f.owner)
    formula = next(r for r in rows if int(r["finding id"]) == known.ids["formula"])
    assert formula["title"] == '\'=HYPERLINK("http://x","点我")'
    assert {r["unit name"] for r in rows} == {"杭州市城乡建设委员会", "浙江省住房和城乡建设厅"}
    overdue = {int(r["finding id"]) for r in rows if r["overdue"] == "yes"}
    assert overdue == {known.ids["old-high"], known.ids["province-medium"]}


def test_xlsx_has_no_formula_cells(known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    _export(known.settings, "xlsx", path, FindingFilter(unit="hz-jw"))
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in r], strict=True))
            for r in sheet.iter_rows(min_row=2)]
    assert len(rows) == 6  # hz-jw's findings only
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    formula = next(r for r in rows if r["finding id"] == known.ids["formula"])
    assert formula["title"] == '\'=HYPERLINK("http://x","点我")'


def test_json_and_ocsf_carry_every_finding(known: Known, tmp_path: Path) -> None:
    _export(known.settings, "json", tmp_path / "f.json")
    _export(known.settings, "ocsf", tmp_path / "f.ocsf.json")
    data = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    ocsf = json.loads((tmp_path / "f.ocsf.json").read_text(encoding="utf-8"))
    db = _db(known.settings)
    assert {f["id"] for f in data["findings"]} == set(db)
    assert {int(e["finding_info"]["uid"]) for e in ocsf} == set(db)
    assert all(e["class_uid"] == 2002 and e["type_uid"] in (200201, 200202) for e in ocsf)
    critical = [e for e in ocsf if e["severity_id"] == 5]
    assert len(critical) == 2


def test_html_report_lists_the_findings(known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.html"
    _export(known.settings, "html", path)

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.svgs = 0
            self.scripts = 0
            self.text: list[str] = []

        def handle_starttag(self, tag: str, _attrs: list[tuple[str, str | None]]) -> None:
            self.svgs += tag == "svg"
            self.scripts += tag == "script"

        def handle_data(self, data: str) -> None:
            self.text.append(data)

    parser = Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    body = " ".join(parser.text)
    assert parser.svgs >= 2 and parser.scripts == 0
    for f in _db(known.settings).values():
        assert f.title in body


def test_manifest_audit_and_verify_export(cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    result = cli("findings", "export", "--format", "csv", "-o", str(path), "--unit", "hz-jw",
                 "--severity", "critical,high", db_url=known.settings.db)
    assert result.code == 0, result.err
    manifest = json.loads(path.with_name("f.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 4 and manifest["format"] == "csv"
    assert manifest["filters"] == {"unit": "hz-jw", "severity": ["critical", "high"]}
    assert manifest["sha256"] == sha256_file(path)
    with read_session(known.settings) as session:
        last = session.exec(select(AuditEvent).where(
            AuditEvent.action == "findings.exported")).one()
        assert json.loads(last.payload)["sha256"] == manifest["sha256"]
        assert manifest["head_seq"] == last.seq - 1  # the head before the export's own event
    ok = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert ok.code == 0 and ok.out.startswith(f"OK {path} matches its manifest (4 rows")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one byte
    path.write_bytes(bytes(data))
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert bad.err.startswith("error: f.csv was changed after export: SHA-256 ")


def test_verify_export_notices_the_database_changed_since(
    cli: CliRunner, known: Known, tmp_path: Path
) -> None:
    path = tmp_path / "f.json"
    assert cli("findings", "export", "-f", "json", "-o", str(path),
               db_url=known.settings.db).code == 0
    manifest = json.loads(path.with_name("f.json.manifest.json").read_text(encoding="utf-8"))
    plain_sql(known.settings, f"UPDATE auditevent SET actor = 'x' WHERE seq = "
                              f"{manifest['head_seq']}")
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert f"f.json matches its manifest and audit event seq={manifest['head_seq'] + 1} " \
        "(findings.exported by tester at " in bad.err
    assert f"but the audit chain is broken: row seq={manifest['head_seq']} " in bad.err


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "ocsf", "html"])
def test_every_format_exports_an_empty_selection(known: Known, tmp_path: Path,
                                                 fmt: str) -> None:
    path = tmp_path / f"empty.{fmt}"
    _export(known.settings, fmt, path, FindingFilter(rule="no-such-rule"))
    assert path.stat().st_size > 0
    assert json.loads(path.with_name(path.name + ".manifest.json").read_text())["rows"] == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "ocsf", "html"])
def test_one_changed_byte_fails_verify_export_in_every_format(
        cli: CliRunner, known: Known, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"f.{fmt}"
    assert cli("findings", "export", "-f", fmt, "-o", str(path),
               db_url=known.settings.db).code == 0
    assert cli("audit", "verify-export", str(path), db_url=known.settings.db).code == 0
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20  # one byte in the middle
    path.write_bytes(bytes(data))
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert bad.err.startswith(f"error: f.{fmt} was changed after export: SHA-256 ")
