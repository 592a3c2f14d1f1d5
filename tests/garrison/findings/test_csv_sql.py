"""The database-rendered CSV is byte for byte what the Python CSV exporter writes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from garrison.db import read_session, write_session
from garrison.findings.csv_sql import neutralise_sql, write_csv
from garrison.findings.export.base import (
    FORMULA_START,
    LEADING_BLANKS,
    ExportContext,
    ExportSummary,
    neutralise,
)
from garrison.findings.export.csv_format import CsvExporter
from garrison.findings.lifecycle import set_status
from garrison.findings.listing import Dialect, FindingFilter
from garrison.findings.queries import export_rows
from garrison.models import Finding, FindingStatus, RuleRecord, Severity
from garrison.settings import Settings
from tests.garrison.conftest import NOW, Known
from tests.garrison.helpers import MAX_ACCEPT, POLICY

NASTY = ["=HYPERLINK(\"http://x\")", "+86 571", "-1", "@SUM(A1)", "\tTAB", "\rCR", "'quoted",
         "普通文本", "a,b \"c\"\nline", "",
         "＝HYPERLINK(\"http://x\")", "＋86 571", "－1", "＠SUM(A1)", "\u3000=1+2", " @SUM(A1)",
         "\xa0＋1", "\nLF", "１+1", " plain"]


@pytest.fixture
def varied(known: Known) -> Known:
    """Findings whose every text column starts with something a spreadsheet runs."""
    with write_session(known.settings) as session:
        session.add(RuleRecord(id="ssh-weak", title="弱口令", severity=Severity.high,
                               rationale="r", remedy="m", cwe="CWE-521",
                               cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                               source="test", updated_at=known.settings.now()))
        base = session.exec(select(Finding).where(
            Finding.id == known.ids["level3-critical"])).one()
        for i, text in enumerate(NASTY):
            session.add(Finding(
                fingerprint=f"nasty|{i}", rule_id="ssh-weak" if i % 2 else "manual",
                title=text or "blank evidence", severity=Severity.medium, source=base.source,
                unit_id=base.unit_id, asset_id=base.asset_id, address=f"127.0.1.{i}",
                protocol="udp" if i % 3 else None, port=None if i == 4 else 161 + i,
                owner=text or "王强", status=FindingStatus.open,
                due_at=NOW - timedelta(days=1) if i % 2 else None,
                first_seen=NOW.replace(microsecond=999_999) - timedelta(days=i),
                last_seen=NOW.replace(microsecond=500_000), status_changed_at=NOW,
                cvss_vector=text if i == 2 else None,
                evidence={"service": text, "product": f"产品 {text}", "version": None}
                if text else {}))
    with write_session(known.settings) as session:
        set_status(session, finding_id=known.ids["old-high"], status=FindingStatus.fixed,
                   actor="t", now=NOW, policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    return known


def python_csv(known: Known, f: FindingFilter, path: Path) -> int:
    context = ExportContext(NOW, "t", {}, ExportSummary({}, {}, {}, {}))
    with read_session(known.settings) as session:
        return CsvExporter().write(export_rows(session, f, now=NOW), path, context)


@pytest.mark.parametrize("f", [FindingFilter(), FindingFilter(unit="hz-jw", overdue=True),
                               FindingFilter(text="hyperlink"),
                               FindingFilter(statuses=(FindingStatus.fixed,))])
def test_database_rendered_csv_is_byte_identical(varied: Known, f: FindingFilter,
                                                 tmp_path: Path) -> None:
    expected = python_csv(varied, f, tmp_path / "python.csv")
    with read_session(varied.settings) as session:
        count = write_csv(session, f, tmp_path / "sql.csv", NOW)
    assert count == expected and count > 0
    assert (tmp_path / "sql.csv").read_bytes() == (tmp_path / "python.csv").read_bytes()


def test_every_filter_row_is_there_with_its_guards(varied: Known, tmp_path: Path) -> None:
    with read_session(varied.settings) as session:
        write_csv(session, FindingFilter(), tmp_path / "all.csv", NOW)
    text = (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(\"\"http://x\"\")" in text and ",=HYPERLINK" not in text
    assert ",'@SUM(A1)," in text and ",'+86 571," in text and ",'\tTAB," in text
    assert "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" in text  # from the rule


def test_every_new_formula_start_is_guarded_in_the_file(varied: Known, tmp_path: Path) -> None:
    with read_session(varied.settings) as session:
        write_csv(session, FindingFilter(), tmp_path / "all.csv", NOW)
    text = (tmp_path / "all.csv").read_text(encoding="utf-8-sig")
    for guarded in ("'＝HYPERLINK", ",'＋86 571,", ",'－1,", ",'＠SUM(A1),", ",'\u3000=1+2,",
                    ",' @SUM(A1),", ",'\xa0＋1,", "\"'\nLF\""):
        assert guarded in text, guarded
    assert ",１+1," in text and ", plain," in text  # a full-width digit, a blank: left alone


def _sample() -> list[str]:
    """Every formula start and every blank, alone, before text and before a formula."""
    heads = [*sorted(FORMULA_START), *LEADING_BLANKS, "a", "'", "１", ""]
    return [h + tail for h in heads for tail in ("", "x", "=1", " =1", "\u3000＋1", " ", "\0x")]


def test_the_sql_guard_agrees_with_neutralise_on_every_character(settings: Settings) -> None:
    postgres = settings.db.startswith("postgresql")
    values = [v for v in _sample() if not (postgres and "\0" in v)]  # PG text holds no NUL
    dialect: Dialect = "postgresql" if postgres else "sqlite"
    query = sa.text("SELECT " + neutralise_sql("CAST(:v AS TEXT)", dialect))
    with read_session(settings) as session:
        got = {v: session.execute(query, {"v": v}).scalar_one() for v in values}
    assert {v: g for v, g in got.items() if g != neutralise(v)} == {}
    assert sum(g != v for v, g in got.items()) > len(FORMULA_START) * 4  # it did guard
