"""The dashboard's read (``garrison.dashboard``): plain SQL, equal to the reference.

The statements count in the database; the reference is the obvious Python over every
finding and every status event (:func:`open_trend`, the league table of
``findings.summary``). Histories are made by the product's own lifecycle, with moves at
random instants before, across and inside the trend's window, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from garrison.dashboard import TREND_DAYS, gather, open_trend, quick_gather
from garrison.db import read_session, write_session
from garrison.findings.lifecycle import set_status
from garrison.findings.listing import FindingFilter
from garrison.findings.manual import add_manual
from garrison.findings.summary import summarise
from garrison.models import Finding, FindingEvent
from garrison.settings import Settings
from garrison.vocab import SEVERITY_ORDER, STATUS_MOVES, FindingStatus, Severity
from tests.garrison.conftest import NOW, Known
from tests.garrison.helpers import MAX_ACCEPT, POLICY

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNITS = ("hz-jw", "zj-jst")


def make_history(settings: Settings, seed: int, count: int = 40) -> None:
    """``count`` findings first seen up to 60 days ago, each moved through the lifecycle
    a few times at random later instants (some before the window, some on the window's
    first midnight, some twice at one instant)."""
    rng = random.Random(seed)
    window = datetime(2026, 10, 28, 16, tzinfo=UTC)  # 27 Oct .. 26 Nov in Hangzhou
    for i in range(count):
        first = NOW - timedelta(days=rng.uniform(0, 60))
        if i % 9 == 0:
            first = window  # first seen exactly as the window opens
        with write_session(settings) as session:
            finding = add_manual(session, unit_code=rng.choice(UNITS), title=f"f{i}",
                                 severity=rng.choice(list(Severity)), actor="t",
                                 address=None, owner=None, now=first, policy=POLICY)
            assert finding.id is not None
            fid, at = finding.id, first
            for _move in range(rng.randint(0, 5)):
                status = finding.status
                target = rng.choice(STATUS_MOVES[status])
                step = rng.choice([timedelta(0), timedelta(hours=rng.uniform(0, 400))])
                at = min(at + step, NOW)
                if i % 7 == 0 and at < window:
                    at = window  # a move exactly at the window's first midnight
                extra: dict[str, object] = {}
                if target is FindingStatus.accepted_risk:
                    extra = {"reason": "r", "approver": "a",
                             "until": (NOW + timedelta(days=30)).date()}
                elif target is FindingStatus.false_positive:
                    extra = {"reason": "r"}
                finding = set_status(session, finding_id=fid, status=target, actor="t",
                                     now=at, policy=POLICY, max_acceptance_days=MAX_ACCEPT,
                                     **extra)  # type: ignore[arg-type]


def reference(settings: Settings) -> tuple[dict[Severity, int], list[tuple[str, int]], list[int]]:
    """What the dashboard must show, computed the obvious way."""
    with read_session(settings) as session:
        findings = list(session.exec(select(Finding)).all())
        events = list(session.exec(select(FindingEvent).order_by(col(FindingEvent.id))).all())
        summary = summarise(session, FindingFilter(), now=NOW, time_to_fix=False)
    severity = {s: sum(line.active.get(s, 0) for line in summary.lines) for s in SEVERITY_ORDER}
    overdue = sorted((line.code, line.overdue) for line in summary.lines if line.overdue)
    return severity, overdue, open_trend(findings, events, TREND_DAYS, NOW, tz=SHANGHAI)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_read_equals_the_reference(known: Known, seed: int) -> None:
    make_history(known.settings, seed)
    severity, overdue, trend = reference(known.settings)
    assert len(set(trend)) > 1, "the history should move the trend"
    quick = quick_gather(known.settings.db, NOW, SHANGHAI, days=TREND_DAYS)
    assert quick is not None, "the quick road stepped aside on a plain database"
    assert quick.severity == severity
    assert sorted((o.code, o.overdue) for o in quick.overdue) == overdue
    assert quick.trend == trend
    assert quick.days[-1] == date(2026, 11, 26) and len(quick.days) == TREND_DAYS
    with read_session(known.settings) as session:  # the ORM session's road: the same
        assert gather(session, NOW, SHANGHAI, days=TREND_DAYS) == quick


def test_the_league_table_worst_first_with_the_oldest_due(known: Known) -> None:
    data = quick_gather(known.settings.db, NOW, SHANGHAI, days=TREND_DAYS)
    assert data is not None
    # hz-jw: old-high (due 10 days ago); zj-jst: province-medium (due 10 days ago too)
    assert [(o.code, o.overdue) for o in data.overdue] == [("hz-jw", 1), ("zj-jst", 1)]
    assert all(o.oldest_due is not None and o.oldest_due < NOW for o in data.overdue)
    assert data.severity == {Severity.critical: 2, Severity.high: 2, Severity.medium: 1,
                             Severity.low: 1, Severity.info: 1}


def test_no_days_no_trend(known: Known) -> None:
    data = quick_gather(known.settings.db, NOW, SHANGHAI, days=0)
    assert data is not None and data.trend == [] and data.days == []


def test_an_expired_acceptance_sends_the_read_to_the_full_path(known: Known) -> None:
    """Reopening it is a write: the quick road steps aside (the screen then sweeps)."""
    fid = known.ids["fresh-high"]
    with write_session(known.settings) as session:
        set_status(session, finding_id=fid, status=FindingStatus.accepted_risk, actor="t",
                   reason="r", approver="a", until=(NOW + timedelta(days=2)).date(),
                   now=NOW, policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    assert quick_gather(known.settings.db, NOW, SHANGHAI, days=TREND_DAYS) is not None
    later = NOW + timedelta(days=3)
    assert quick_gather(known.settings.db, later, SHANGHAI, days=TREND_DAYS) is None


def test_a_database_at_another_schema_sends_the_read_to_the_full_path(
        known: Known) -> None:
    import sqlalchemy as sa

    from garrison.db import get_engine

    with get_engine(known.settings).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001_initial'"))
    assert quick_gather(known.settings.db, NOW, SHANGHAI, days=TREND_DAYS) is None


def test_a_move_recorded_before_first_sight_counts_from_first_sight(known: Known) -> None:
    """Clock skew between machines can stamp a status event before the finding's first
    sight: the finding was never open before it was seen (as ``open_trend`` says)."""
    from garrison.models import EventKind

    fid = known.ids["fresh-high"]
    seen = NOW - timedelta(days=5)
    with write_session(known.settings) as session:
        finding = session.get(Finding, fid)
        assert finding is not None
        finding.first_seen, finding.status = seen, FindingStatus.fixed
        finding.status_changed_at = NOW - timedelta(days=10)  # closed before first sight
        session.add(finding)
        for event in session.exec(select(FindingEvent).where(FindingEvent.finding_id == fid)):
            event.at = NOW - timedelta(days=12)  # "created" a week before it was seen
            session.add(event)
        session.add(FindingEvent(finding_id=fid, kind=EventKind.status, actor="t",
                                 at=NOW - timedelta(days=10), from_status=FindingStatus.open,
                                 to_status=FindingStatus.fixed))
    _severity, _overdue, trend = reference(known.settings)
    quick = quick_gather(known.settings.db, NOW, SHANGHAI, days=TREND_DAYS)
    assert quick is not None and quick.trend == trend
    assert min(trend) >= 0
