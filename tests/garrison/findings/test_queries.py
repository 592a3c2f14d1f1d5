"""Listing, filtering, paging and the league table."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from garrison.db import read_session, write_session
from garrison.findings.lifecycle import set_status
from garrison.findings.queries import FindingFilter, count_findings, list_findings
from garrison.findings.summary import summarise
from garrison.models import FindingSource, FindingStatus, Severity
from tests.garrison.conftest import NOW, Known
from tests.garrison.helpers import MAX_ACCEPT, POLICY


def ids(known: Known, f: FindingFilter, **kwargs: object) -> list[str]:
    names = {v: k for k, v in known.ids.items()}
    with read_session(known.settings) as session:
        return [names[r.id] for r in list_findings(session, f, now=NOW, **kwargs)]  # type: ignore[arg-type]


FILTERS = [
    (FindingFilter(), ["fresh-high", "old-high", "old-low", "level3-critical",
                       "plain-critical", "province-medium", "formula"]),
    (FindingFilter(unit="hz-jw"), ["fresh-high", "old-high", "old-low", "level3-critical",
                                   "plain-critical", "formula"]),
    (FindingFilter(unit="zj-jst"), ["fresh-high", "old-high", "old-low", "level3-critical",
                                    "plain-critical", "province-medium", "formula"]),
    (FindingFilter(severities=(Severity.critical,)), ["level3-critical", "plain-critical"]),
    (FindingFilter(overdue=True), ["old-high", "province-medium"]),
    (FindingFilter(unit="hz-jw", overdue=True), ["old-high"]),
    (FindingFilter(owner="李娜", unit="zj-jst"),
     ["fresh-high", "old-high", "old-low", "level3-critical", "plain-critical",
      "province-medium", "formula"]),
    (FindingFilter(since=date(2026, 11, 1)), ["fresh-high", "level3-critical",
                                              "plain-critical", "formula"]),
    (FindingFilter(source=FindingSource.scan), []),
    (FindingFilter(text="HYPERLINK"), ["formula"]),
    (FindingFilter(text="critical"), ["level3-critical", "plain-critical"]),
]


@pytest.mark.parametrize(("f", "expected"), FILTERS)
def test_filters(known: Known, f: FindingFilter, expected: list[str]) -> None:
    assert ids(known, f) == expected
    with read_session(known.settings) as session:
        assert count_findings(session, f, now=NOW) == len(expected)


def test_status_filter_and_overdue_only_counts_active(known: Known) -> None:
    with write_session(known.settings) as session:
        set_status(session, finding_id=known.ids["old-high"], status=FindingStatus.fixed,
                   actor="tester", now=NOW, policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    assert ids(known, FindingFilter(overdue=True)) == ["province-medium"]
    assert ids(known, FindingFilter(statuses=(FindingStatus.fixed,))) == ["old-high"]


def test_keyset_pages_cover_everything_once(known: Known) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = ids(known, FindingFilter(), limit=3, after_id=after)
        if not page:
            break
        seen += page
        after = known.ids[page[-1]]
    assert seen == ids(known, FindingFilter())


def test_league_table(known: Known) -> None:
    fid = known.ids["fresh-high"]
    with write_session(known.settings) as session:  # fixed after 5 days
        set_status(session, finding_id=fid, status=FindingStatus.fixed, actor="t",
                   now=NOW + timedelta(days=5), policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    with read_session(known.settings) as session:
        table = summarise(session, now=NOW + timedelta(days=5))
    lines = {u.code: u for u in table.lines}
    assert [u.code for u in table.lines] == ["hz-jw", "zj-jst"]  # most overdue first
    hz = lines["hz-jw"]
    assert hz.active == {Severity.high: 1, Severity.low: 1, Severity.critical: 2,
                         Severity.info: 1}
    # overdue five days on: old-high, and level3-critical (due after 4 days at MLPS 3)
    assert (hz.overdue, hz.fixed, hz.mean_days_to_fix) == (2, 1, 5.0)
    assert (lines["zj-jst"].overdue, lines["zj-jst"].active_total) == (1, 1)
    assert table.for_export().by_severity["critical"] == 2


def test_time_to_fix_restarts_when_a_finding_is_reopened(known: Known) -> None:
    """old-low: seen 40 days ago, fixed now, reopened 10 days on, fixed again 2 days
    later: it took 2 days (the last round), not 52. fresh-high took 5: the mean is 3.5."""
    fid, fresh = known.ids["old-low"], known.ids["fresh-high"]
    with write_session(known.settings) as session:
        set_status(session, finding_id=fresh, status=FindingStatus.fixed, actor="t",
                   now=NOW + timedelta(days=5), policy=POLICY, max_acceptance_days=MAX_ACCEPT)
        set_status(session, finding_id=fid, status=FindingStatus.fixed, actor="t", now=NOW,
                   policy=POLICY, max_acceptance_days=MAX_ACCEPT)
        set_status(session, finding_id=fid, status=FindingStatus.open, actor="t",
                   reason="came back", now=NOW + timedelta(days=10), policy=POLICY,
                   max_acceptance_days=MAX_ACCEPT)
        set_status(session, finding_id=fid, status=FindingStatus.fixed, actor="t",
                   now=NOW + timedelta(days=12), policy=POLICY, max_acceptance_days=MAX_ACCEPT)
        set_status(session, finding_id=fid, status=FindingStatus.verified, actor="t",
                   now=NOW + timedelta(days=13), policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    with read_session(known.settings) as session:
        hz = {u.code: u for u in summarise(session, now=NOW + timedelta(days=13)).lines}["hz-jw"]
    assert (hz.fixed, hz.mean_days_to_fix) == (2, 3.5)
    with read_session(known.settings) as session:  # the filter applies to the mean too
        only = summarise(session, FindingFilter(severities=(Severity.low,)),
                         now=NOW + timedelta(days=13))
    assert [(u.code, u.fixed, u.mean_days_to_fix) for u in only.lines] == [("hz-jw", 1, 2.0)]


def test_sort_orders_and_offsets(known: Known) -> None:
    """The TUI's sortable columns: ordered in the database, the same on both backends;
    ties by id; findings without a due date (info) last either way."""
    by_severity = ids(known, FindingFilter(), order="severity")
    assert by_severity == ["level3-critical", "plain-critical", "fresh-high", "old-high",
                           "province-medium", "old-low", "formula"]
    assert ids(known, FindingFilter(), order="severity", descending=True) == [
        "formula", "old-low", "province-medium", "old-high", "fresh-high", "plain-critical",
        "level3-critical"]
    by_due = ids(known, FindingFilter(), order="due")
    assert by_due[0] in ("old-high", "province-medium") and by_due[-1] == "formula"
    assert ids(known, FindingFilter(), order="due", descending=True)[-1] == "formula"
    assert ids(known, FindingFilter(), order="severity", limit=3, offset=3) == \
        by_severity[3:6]
