"""Importing, editing and listing experts, on SQLite and PostgreSQL, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from garrison.db import read_session
from garrison.models import AuditEvent, Expert
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import count, load_demo_org, snapshot

EXPERTS = FIXTURES / "experts"


def experts(settings: Settings) -> dict[str, Expert]:
    with read_session(settings) as session:
        return {e.name: e for e in session.exec(select(Expert))}


def actions(settings: Settings, prefix: str = "experts.") -> list[str]:
    with read_session(settings) as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))
                if e.action.startswith(prefix)]


def test_import_with_chinese_headers_then_reimport_updates_by_key(
        settings: Settings, cli: CliRunner, tmp_path: Path) -> None:
    load_demo_org(settings)
    first = cli("experts", "import", str(EXPERTS / "roster_zh.csv"), db_url=settings.db)
    assert first.code == 0, first.err
    assert "Added 5, updated 0, unchanged 0 expert(s)" in first.out
    stored = experts(settings)
    assert len(stored) == 5
    some = next(e for e in stored.values() if e.skills.get("forensics") == 2)
    assert some.skills["malware"] == 3

    # the same file again changes nothing; a changed city is an update, not a new expert
    again = cli("experts", "import", str(EXPERTS / "roster_zh.csv"), db_url=settings.db)
    assert "Added 0, updated 0, unchanged 5" in again.out
    text = (EXPERTS / "roster_zh.csv").read_text(encoding="utf-8-sig")
    edited = tmp_path / "roster.csv"
    edited.write_text(text.replace(",13812345678,杭州,", ",13812345678,湖州,"),
                      encoding="utf-8-sig")
    third = cli("experts", "import", str(edited), db_url=settings.db)
    assert "Added 0, updated 1, unchanged 4" in third.out
    assert "updated 王伟: city" in third.out
    assert count(settings, Expert) == 5
    assert actions(settings) == ["experts.imported"] * 2  # the re-import changed nothing


def test_bad_rows_are_all_reported_and_nothing_is_written(
        settings: Settings, cli: CliRunner) -> None:
    load_demo_org(settings)
    before = snapshot(settings)
    result = cli("experts", "import", str(EXPERTS / "bad_rows.csv"), db_url=settings.db)
    assert result.code == 1
    lines = [ln.removeprefix("error: ") for ln in result.err.splitlines()]
    where = EXPERTS / "bad_rows.csv"
    assert lines[:8] == [
        f"{where}:3: email 'li.na@example' is not an e-mail address",
        f"{where}:4: unknown skill 'forensic' (did you mean 'forensics'?)",
        f"{where}:5: duplicate expert zhang.wei@example.org (also on line 2)",
        f"{where}:9: skill web: level '5' is not 1, 2 or 3 (row 8 in Excel and WPS)",
        f"{where}:10: certification CISP: expiry '2028-13-01' is not a date; write YYYY-MM-DD "
        "(row 9 in Excel and WPS)",
        f"{where}:11: organisation must not be empty (row 10 in Excel and WPS)",
        f"{where}:11: phone '12345' is not a phone number (7 to 20 digits; +, -, spaces and "
        "brackets allowed) (row 10 in Excel and WPS)",
        f"{where}:12: the row has 4 cells but the header has 7 columns (a value with a comma "
        "in it must be in double quotes) (row 11 in Excel and WPS)"]
    assert "Nothing was written" in result.err
    assert snapshot(settings) == before


def test_an_unknown_home_unit_is_reported_with_its_line_and_nothing_is_written(
        settings: Settings, cli: CliRunner, tmp_path: Path) -> None:
    load_demo_org(settings)
    roster = tmp_path / "r.csv"
    roster.write_text("name,organisation,home_unit\n甲,单位一,hz-jw\n乙,单位二,hz-jx\n"
                      "丙,单位三,nowhere\n", encoding="utf-8")
    before = snapshot(settings)
    result = cli("experts", "import", str(roster), db_url=settings.db)
    assert result.code == 1
    assert f"{roster}:3: home unit 'hz-jx' is not a unit code (did you mean 'hz-jw'?)" \
        in result.err
    assert f"{roster}:4: home unit 'nowhere' is not a unit code" in result.err
    assert snapshot(settings) == before


def test_list_filters(pool: Settings, cli: CliRunner) -> None:
    def ids(*args: str) -> list[int]:
        result = cli("experts", "list", "--json", *args, db_url=pool.db)
        assert result.code == 0, result.err
        return [r["id"] for r in json.loads(result.out)]

    assert ids() == [4, 1, 2, 3, 6, 5]  # by name; the retired 周杰 (7) only with --all
    assert 7 in ids("--all")
    assert ids("--skill", "forensics:2") == [4, 1, 2, 3]
    assert ids("--skill", "forensics:3", "--skill", "malware") == [1]
    assert ids("--skill", "电子取证:3") == [1, 3]
    assert ids("--city", "宁波") == [2]
    assert ids("--cert", "oscp") == [6]  # 李娜's OSCP expired in 2020
    assert ids("--cert", "CISSP") == [2]
    assert ids("--text", "住房保障") == [3]
    result = cli("experts", "list", "--skill", "forensic", db_url=pool.db)
    assert result.code == 1
    assert "unknown skill 'forensic' (did you mean 'forensics'?)" in result.err


def test_available_at_leaves_out_experts_on_leave(pool: Settings, cli: CliRunner) -> None:
    away = cli("experts", "away", "张伟", "--from", "2026-12-01", "--to", "2026-12-07",
               "--reason", "年假", db_url=pool.db)
    assert away.code == 0, away.err

    def ids(at: str) -> list[int]:
        out = cli("experts", "list", "--json", "--skill", "forensics:3", "--available-at", at,
                  db_url=pool.db)
        return [r["id"] for r in json.loads(out.out)]

    assert ids("2026-11-30 23:59") == [1, 3]
    assert ids("2026-12-01 00:00") == [3]
    assert ids("2026-12-07 23:59") == [3]  # a bare --to date runs to the end of that day
    assert ids("2026-12-08 00:00") == [1, 3]
    assert "experts.unavailable" in actions(pool)


def test_add_edit_retire(sqlite_pool: Settings, cli: CliRunner) -> None:
    db = sqlite_pool.db
    added = cli("experts", "add", "--name", "孙丽", "--org", "宁波大学", "--city", "宁波",
                "--skills", "cryptography:3;legal", "--certs", "CISP:2027-06-30",
                "--email", "Sun.Li@Example.ORG", "--phone", "139 0000 1234", db_url=db)
    assert added.code == 0, added.err
    sun = experts(sqlite_pool)["孙丽"]
    assert (sun.key, sun.email, sun.phone) == ("sun.li@example.org", "Sun.Li@example.org",
                                               "13900001234")
    assert sun.skills == {"cryptography": 3, "legal": 1}

    again = cli("experts", "add", "--name", "孙丽", "--org", "别处", "--email",
                "sun.li@example.org", db_url=db)
    assert again.code == 1
    assert f"expert #{sun.id} 孙丽 already has this identity (the same e-mail)" in again.err

    bad = cli("experts", "add", "--name", "x", "--org", "y", "--email", "nope", db_url=db)
    assert bad.code == 1 and "email 'nope' is not an e-mail address" in bad.err

    edit = cli("experts", "edit", str(sun.id), "--city", "杭州", "--skills", "cryptography:2",
               "--home-unit", "nb-jw", db_url=db)
    assert edit.code == 0, edit.err
    assert "changed city, skills, home_unit_id" in edit.out
    sun = experts(sqlite_pool)["孙丽"]
    assert (sun.city, sun.skills) == ("杭州", {"cryptography": 2})

    retire = cli("experts", "retire", "孙丽", "--reason", "调离", db_url=db)
    assert retire.code == 0
    twice = cli("experts", "retire", "孙丽", db_url=db)
    assert twice.code == 1 and "is already retired" in twice.err
    assert experts(sqlite_pool)["孙丽"].active is False
    back = cli("experts", "edit", "孙丽", "--active", db_url=db)
    assert "changed active" in back.out
    assert actions(sqlite_pool)[1:] == ["experts.added", "experts.edited", "experts.retired",
                                        "experts.edited"]


def test_show_names_the_expert_and_an_unknown_one_gets_a_suggestion(
        sqlite_pool: Settings, cli: CliRunner) -> None:
    shown = cli("experts", "show", "1", db_url=sqlite_pool.db)
    assert shown.code == 0, shown.err
    assert "#1 张伟" in shown.out and "forensics:3;malware:2" in shown.out
    assert "CISP:2028-06-30" in shown.out
    missing = cli("experts", "show", "张卫", db_url=sqlite_pool.db)
    assert missing.code == 1
    assert "no expert '张卫'" in missing.err


@pytest.mark.parametrize("row", ["name,organisation\n,单位\n"])
def test_import_is_refused_whole_for_one_bad_row(sqlite_settings: Settings, cli: CliRunner,
                                                 tmp_path: Path, row: str) -> None:
    roster = tmp_path / "one.csv"
    roster.write_text(row, encoding="utf-8")
    result = cli("experts", "import", str(roster), db_url=sqlite_settings.db)
    assert result.code == 1
    assert f"{roster}:2: name must not be empty" in result.err
