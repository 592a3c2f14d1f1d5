"""The CLI's quick list path answers exactly as the full (ORM) path, or steps aside."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from garrison.db import read_session, write_session
from garrison.findings.lifecycle import set_status
from garrison.findings.listing import FindingFilter, FindingRow
from garrison.findings.queries import count_findings, list_findings
from garrison.findings.quick import quick_list
from garrison.quickread import sqlite_path
from garrison.vocab import FindingSource, FindingStatus, Severity
from tests.garrison.conftest import NOW, Known
from tests.garrison.findings.test_queries import FILTERS
from tests.garrison.helpers import MAX_ACCEPT, POLICY


def full(known: Known, f: FindingFilter, limit: int, after: int | None = None
         ) -> tuple[list[FindingRow], int]:
    with read_session(known.settings) as session:
        return (list_findings(session, f, now=NOW, limit=limit, after_id=after),
                count_findings(session, f, now=NOW))


@pytest.mark.parametrize(("f", "expected"), FILTERS)
def test_quick_path_lists_what_the_full_path_lists(known: Known, f: FindingFilter,
                                                   expected: list[str]) -> None:
    page = quick_list(known.settings.db, f, limit=100, now=NOW)
    assert page is not None, "the quick path stepped aside on a plain listing"
    rows, _total = full(known, f, 100)
    assert page.rows == rows
    assert [r.id for r in page.rows] == [known.ids[name] for name in expected]
    assert page.total is None  # the page is not full: nothing to count


def test_quick_pages_and_counts_like_the_full_path(known: Known) -> None:
    f = FindingFilter(unit="zj-jst")
    first = quick_list(known.settings.db, f, limit=3, now=NOW)
    assert first is not None and first.total == 7
    second = quick_list(known.settings.db, f, limit=3, after_id=first.rows[-1].id, now=NOW)
    assert second is not None
    assert first.rows + second.rows == full(known, f, 6)[0]
    assert [r.overdue for r in first.rows + second.rows] == [
        False, True, False, False, False, True]


@hsettings(max_examples=60, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit=st.sampled_from([None, "zj-jst", "hz-jw"]),
       severities=st.lists(st.sampled_from(list(Severity)), max_size=2, unique=True),
       statuses=st.lists(st.sampled_from(list(FindingStatus)), max_size=2, unique=True),
       owner=st.sampled_from([None, "李娜", "nobody"]), overdue=st.booleans(),
       since=st.sampled_from([None, date(2026, 11, 1), date(2026, 8, 1)]),
       source=st.sampled_from([None, FindingSource.manual, FindingSource.scan]),
       text=st.sampled_from([None, "HIGH", "点我", "100%", "_", "'"]),
       limit=st.integers(1, 8))
def test_any_filter_gives_the_same_answer_both_ways(
        known: Known, unit: str | None, severities: list[Severity],
        statuses: list[FindingStatus], owner: str | None, overdue: bool, since: date | None,
        source: FindingSource | None, text: str | None, limit: int) -> None:
    f = FindingFilter(unit=unit, severities=tuple(severities), statuses=tuple(statuses),
                      owner=owner, overdue=overdue, since=since, source=source, text=text)
    page = quick_list(known.settings.db, f, limit=limit, now=NOW)
    assert page is not None
    rows, total = full(known, f, limit)
    assert page.rows == rows
    assert page.total == (total if len(rows) == limit else None)


def test_text_filter_treats_like_wildcards_as_text(known: Known) -> None:
    for text in ("%", "_"):
        page = quick_list(known.settings.db, FindingFilter(text=text), limit=50, now=NOW)
        assert page is not None and page.rows == []


def test_steps_aside_when_an_acceptance_expired(known: Known) -> None:
    """Reopening is a write with audit events: the full path must do it first."""
    with write_session(known.settings) as session:
        set_status(session, finding_id=known.ids["old-high"], status=FindingStatus.accepted_risk,
                   actor="tester", reason="compensating control", approver="王强",
                   until=date(2026, 12, 1), now=NOW, policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    f = FindingFilter()
    assert quick_list(known.settings.db, f, limit=50, now=NOW) is not None
    later = NOW + timedelta(days=10)
    assert quick_list(known.settings.db, f, limit=50, now=later) is None


def test_steps_aside_for_an_unknown_unit(known: Known) -> None:
    """The full path names the problem and suggests the nearest code."""
    assert quick_list(known.settings.db, FindingFilter(unit="hz-jx"), limit=50, now=NOW) is None


def test_steps_aside_when_the_schema_is_not_this_version(known: Known) -> None:
    engine = sa.create_engine(known.settings.db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0002_scanner'"))
    engine.dispose()
    assert quick_list(known.settings.db, FindingFilter(), limit=50, now=NOW) is None


def test_steps_aside_without_a_database(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert quick_list(missing, FindingFilter(), limit=50, now=NOW) is None
    assert not (tmp_path / "none.db").exists()  # and creates nothing
    assert quick_list("sqlite://", FindingFilter(), limit=50, now=NOW) is None
    assert quick_list("sqlite:///:memory:", FindingFilter(), limit=50, now=NOW) is None
    unreachable = "postgresql+psycopg://nobody:x@127.0.0.1:1/none"
    assert quick_list(unreachable, FindingFilter(), limit=50, now=NOW) is None


@pytest.mark.parametrize(("url", "path"), [
    ("sqlite:////var/lib/garrison.db", "/var/lib/garrison.db"),
    ("sqlite:///rel/g.db", "rel/g.db"),
    ("sqlite:///%E4%BD%8F%E5%BB%BA.db", "住建.db"),
    ("sqlite:///:memory:", None),
    ("sqlite://", None),
    ("sqlite:///g.db?mode=ro", None),
])
def test_sqlite_path(url: str, path: str | None) -> None:
    assert sqlite_path(url) == path
