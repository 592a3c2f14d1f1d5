"""``experts import`` of what a Chinese office saves -- GBK/GB18030 CSV, XLSX -- through
the CLI on SQLite and PostgreSQL: the same experts whatever the format, every bad file
refused with its exact problems and nothing written, and a re-import that changes
nothing writes no audit event."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlmodel import col, select

from garrison.db import read_session
from garrison.models import AuditEvent, Expert
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import count, load_demo_org, snapshot

EXPERTS = FIXTURES / "experts"


def audit_actions(settings: Settings) -> list[str]:
    with read_session(settings) as session:
        return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.seq))))


def as_xlsx(csv_path: Path, out: Path, encoding: str) -> Path:
    """The CSV's cells in the first sheet of a workbook, row for row."""
    import csv

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名单"
    with csv_path.open(encoding=encoding, newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    book.save(out)
    return out


def errors(text: str) -> list[str]:
    return [line.removeprefix("error: ") for line in text.splitlines()]


def test_gbk_csv_then_the_same_roster_as_xlsx(settings: Settings, cli: CliRunner,
                                              tmp_path: Path) -> None:
    load_demo_org(settings)
    first = cli("experts", "import", str(EXPERTS / "roster_gbk.csv"), db_url=settings.db)
    assert first.code == 0, first.err
    assert "Added 3, updated 0, unchanged 0 expert(s)" in first.out
    with read_session(settings) as session:
        names = sorted(e.name for e in session.exec(select(Expert)))
    assert names == sorted(["张伟", "李娜", "朱镕"])
    book = as_xlsx(EXPERTS / "roster_gbk.csv", tmp_path / "roster.xlsx", "gbk")
    again = cli("experts", "import", str(book), db_url=settings.db)
    assert again.code == 0, again.err
    assert "Added 0, updated 0, unchanged 3 expert(s)" in again.out  # read alike
    forced = cli("experts", "import", str(EXPERTS / "roster_gb18030.csv"), "--encoding",
                 "gb18030", db_url=settings.db)
    assert forced.code == 0, forced.err
    assert "Added 2, updated 0, unchanged 0 expert(s)" in forced.out
    assert count(settings, Expert) == 5


def test_a_reimport_that_changes_nothing_writes_no_audit_event(
        settings: Settings, cli: CliRunner) -> None:
    load_demo_org(settings)
    for name in ("roster_zh.csv", "roster.yaml"):
        cli("experts", "import", str(EXPERTS / name), db_url=settings.db)
    before = audit_actions(settings)
    assert before.count("experts.imported") == 2
    for name in ("roster_zh.csv", "roster.yaml"):
        again = cli("experts", "import", str(EXPERTS / name), db_url=settings.db)
        assert again.code == 0, again.err
        assert "Added 0, updated 0" in again.out
    assert audit_actions(settings) == before
    dry = cli("experts", "import", str(EXPERTS / "roster_gbk.csv"), "--dry-run",
              db_url=settings.db)
    assert "Dry run: would add 3, update 0, leave 0 unchanged." in dry.out
    assert audit_actions(settings) == before


def test_a_bad_xlsx_row_is_refused_by_sheet_and_row_and_nothing_is_written(
        settings: Settings, cli: CliRunner, tmp_path: Path) -> None:
    load_demo_org(settings)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "名单"
    for row in (["姓名", "单位", "邮箱", "所属单位代码"],
                ["张伟", "浙江省网络安全应急中心", "zhang.wei@example.org", "hz-jw"],
                [],
                ["李娜", "宁波市住房公积金中心", "li.na@example", None]):
        sheet.append(row)
    path = tmp_path / "roster.xlsx"
    book.save(path)
    before = snapshot(settings)
    result = cli("experts", "import", str(path), db_url=settings.db)
    assert result.code == 1
    assert errors(result.err) == [
        f"{path}:名单!4: email 'li.na@example' is not an e-mail address",
        "Nothing was written. Fix the problems above and run the command again."]
    assert snapshot(settings) == before


def test_a_bad_encoding_is_refused_naming_the_option_and_nothing_is_written(
        settings: Settings, cli: CliRunner) -> None:
    load_demo_org(settings)
    before = snapshot(settings)
    latin = EXPERTS / "bad_encoding.csv"
    refused = cli("experts", "import", str(latin), db_url=settings.db)
    assert refused.code == 1
    lines = errors(refused.err)
    assert lines[0] == f"{latin}:2: not UTF-8 or GB18030 text (byte 27)"
    assert lines[1].startswith("Give the file's encoding with --encoding")
    wrong = cli("experts", "import", str(EXPERTS / "roster_gbk.csv"), "--encoding", "utf-8",
                db_url=settings.db)
    assert wrong.code == 1
    assert errors(wrong.err) == [
        f"{EXPERTS / 'roster_gbk.csv'}:1: not utf-8 text (byte 0)",
        "Give the file's real encoding with --encoding, or leave --encoding out to detect "
        "it."]
    unknown = cli("experts", "import", str(latin), "--encoding", "latin-9x",
                  db_url=settings.db)
    assert unknown.code == 1
    assert errors(unknown.err)[0] == "--encoding 'latin-9x': unknown encoding"
    assert snapshot(settings) == before
    right = cli("experts", "import", str(latin), "--encoding", "cp1252", db_url=settings.db)
    assert right.code == 0, right.err
    with read_session(settings) as session:
        assert [e.name for e in session.exec(select(Expert))] == ["José Müller"]
