"""The dashboard: its panels against the services, its empty states, and ``open_trend``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from expert_pool.masking import mask_phone
from garrison.clock import FixedClock
from garrison.dashboard import TrendEvent, TrendFinding, change_text, open_trend, trend_days
from garrison.db import read_session, write_session
from garrison.findings.lifecycle import set_status
from garrison.findings.listing import FindingFilter
from garrison.findings.manual import add_manual
from garrison.findings.summary import summarise
from garrison.models import (
    Change,
    ChangeKind,
    DrillRun,
    DrillState,
    EventKind,
    Finding,
    FindingEvent,
    FindingSource,
    FindingStatus,
    Unit,
)
from garrison.settings import Settings
from garrison.vocab import Severity
from tests.garrison.helpers import MAX_ACCEPT, POLICY, load_demo_org
from tests.tui.conftest import NOW, SCANNED, wait_workers
from tui.app import GarrisonApp
from tui.screens.dashboard import DashboardScreen

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPEN, BUSY, FIXED = FindingStatus.open, FindingStatus.in_progress, FindingStatus.fixed


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


# ---------------------------------------------------------------------- open_trend


def test_trend_days_end_with_today_in_the_zone() -> None:
    # 2026-11-30 20:00 UTC is already 1 December in Hangzhou
    now = datetime(2026, 11, 30, 20, tzinfo=UTC)
    assert trend_days(3, now) == [date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)]
    assert trend_days(3, now, SHANGHAI) == [date(2026, 11, 29), date(2026, 11, 30),
                                            date(2026, 12, 1)]


def test_trend_counts_a_finding_from_the_day_it_is_first_seen() -> None:
    findings = [TrendFinding(1, at(3)), TrendFinding(2, at(5, 0))]
    events = [TrendEvent(1, at(3), OPEN), TrendEvent(2, at(5, 0), OPEN)]
    # days 1..6 November; finding 2 first seen at midnight starting the 5th
    assert open_trend(findings, events, 6, at(6)) == [0, 0, 1, 1, 2, 2]


def test_trend_without_events_treats_the_finding_as_open() -> None:
    assert open_trend([TrendFinding(1, at(2))], [], 4, at(4)) == [0, 1, 1, 1]


def test_trend_follows_fix_and_reopen() -> None:
    findings = [TrendFinding(7, at(1))]
    events = [TrendEvent(7, at(1), OPEN), TrendEvent(7, at(2), BUSY), TrendEvent(7, at(3), FIXED),
              TrendEvent(7, at(5), OPEN), TrendEvent(7, at(6), FindingStatus.verified)]
    # in progress still counts; fixed on the 3rd; reopened on the 5th; verified on the 6th
    assert open_trend(findings, events, 7, at(7)) == [1, 1, 0, 0, 1, 0, 0]


def test_trend_reads_the_status_at_the_end_of_the_day() -> None:
    findings = [TrendFinding(1, at(1)), TrendFinding(2, at(1))]
    events = [
        # fixed and reopened the same day: open at its end
        TrendEvent(1, at(2, 9), FIXED), TrendEvent(1, at(2, 15), OPEN),
        # fixed exactly at midnight ending the 2nd: that is the 3rd
        TrendEvent(2, datetime(2026, 11, 3, 0, tzinfo=UTC), FIXED),
    ]
    assert open_trend(findings, events, 3, at(3)) == [2, 2, 1]


def test_trend_sorts_events_by_time_and_ignores_notes() -> None:
    findings = [TrendFinding(1, at(1))]
    events = [TrendEvent(1, at(4), OPEN), TrendEvent(1, at(2), FIXED),
              TrendEvent(1, at(3), OPEN, kind="note"),  # a note never changes the status
              TrendEvent(1, at(1), OPEN)]
    assert open_trend(findings, events, 5, at(5)) == [1, 0, 0, 1, 1]


def test_trend_closed_states_and_other_findings_events() -> None:
    findings = [TrendFinding(1, at(1)), TrendFinding(2, at(1)), TrendFinding(3, at(1))]
    events = [TrendEvent(1, at(2), FindingStatus.accepted_risk),
              TrendEvent(2, at(2), FindingStatus.false_positive),
              TrendEvent(99, at(2), FIXED)]  # a finding that is not in the list
    assert open_trend(findings, events, 2, at(2)) == [3, 1]


def test_trend_closed_at_first_sight_never_counts() -> None:
    findings = [TrendFinding(1, at(2, 8))]
    events = [TrendEvent(1, at(2, 8), OPEN), TrendEvent(1, at(2, 8), FIXED)]
    assert open_trend(findings, events, 3, at(3)) == [0, 0, 0]


def test_trend_days_follow_the_time_zone() -> None:
    # 20:00 UTC on the 2nd is 04:00 on the 3rd in Hangzhou
    findings = [TrendFinding(1, datetime(2026, 11, 2, 20, tzinfo=UTC))]
    now = datetime(2026, 11, 4, 6, tzinfo=UTC)
    assert open_trend(findings, [], 3, now) == [1, 1, 1]  # 2nd, 3rd, 4th UTC
    assert open_trend(findings, [], 3, now, tz=SHANGHAI) == [0, 1, 1]  # 2nd, 3rd, 4th


def test_trend_accepts_the_models_and_no_days() -> None:
    finding = Finding(id=5, fingerprint="x", rule_id="manual", title="t",
                      severity=Severity.low, source=FindingSource.manual, unit_id=1,
                      owner="o", first_seen=at(1), last_seen=at(1), status_changed_at=at(1))
    events = [FindingEvent(finding_id=5, kind=EventKind.status, at=at(1), actor="a",
                           to_status=OPEN),
              FindingEvent(finding_id=5, kind=EventKind.status, at=at(2), actor="a",
                           from_status=OPEN, to_status=FIXED)]
    assert open_trend([finding], events, 3, at(3)) == [1, 0, 0]
    assert open_trend([finding], events, 0, at(3)) == []


def test_change_text_says_what_changed() -> None:
    assert change_text("asset_appeared", None, None, None,
                       {"open": ["tcp/22 ssh OpenSSH 7.4"], "hostname": "h"}) == (
        "appeared · h · tcp/22 ssh")
    assert change_text("asset_appeared", None, None, {"state": "gone"},
                       {"state": "up", "hostname": None}) == "came back"
    assert change_text("port_closed", "tcp", 80, {"service": "tcp/80 http"}, None) == (
        "closed tcp/80 http")
    assert change_text("service_changed", "tcp", 443,
                       {"name": "http", "product": "nginx", "version": "1.14.0"},
                       {"name": "http", "product": "nginx", "version": "1.20.1"}) == (
        "tcp/443 http nginx 1.14.0 → http nginx 1.20.1")
    assert change_text("asset_gone", None, None, {"state": "up"}, {"missed_runs": 3}) == (
        "gone after 3 missed runs")


# ---------------------------------------------------------------------- the screen


@pytest.fixture
def db(tui_db: Settings) -> Settings:
    """The fixture, its scan pinned to 2026-09-30 14:30 in Hangzhou (``SCANNED``)."""
    assert SCANNED == datetime(2026, 9, 30, 6, 30, tzinfo=UTC)
    return tui_db


async def settle(app: GarrisonApp, pilot: Any) -> None:
    for _ in range(3):
        await wait_workers(app)
        await pilot.pause()


def screen_of(app: GarrisonApp) -> DashboardScreen:
    assert isinstance(app.screen, DashboardScreen)
    return app.screen


def rows(screen: DashboardScreen, table_id: str) -> list[list[str]]:
    from textual.widgets import DataTable

    table = screen.query_one(f"#{table_id}", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(screen: DashboardScreen, widget_id: str) -> str:
    from textual.widgets import Static

    return str(screen.query_one(f"#{widget_id}", Static).content)


def shown(screen: DashboardScreen, widget_id: str) -> bool:
    return bool(screen.query_one(f"#{widget_id}").display)


async def test_severity_panel_matches_the_summary(db: Settings) -> None:
    with read_session(db) as session:
        expected = summarise(session, FindingFilter(), now=NOW).for_export().by_severity
    assert expected == {"critical": 2, "high": 2, "medium": 2, "low": 2, "info": 1}
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert screen.data is not None
        assert {s.value: n for s, n in screen.data.severity.items()} == expected
        for severity, n in expected.items():
            words = text_of(screen, f"sev-{severity}").split()
            assert words[:2] == [severity, str(n)]
        assert text_of(screen, "sev-total") == "9 open or in progress"


async def test_overdue_league_table_worst_unit_first(db: Settings) -> None:
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        # hz-jw: two overdue (due 10-08 and 11-01); hz-gjj's is older than hz-cg's
        assert rows(screen, "overdue") == [
            ["hz-jw", "杭州市城乡建设委员会", "2", "2026-10-08"],
            ["hz-gjj", "杭州市住房公积金管理中心", "1", "2026-10-11"],
            ["hz-cg", "杭州市城市管理局", "1", "2026-11-02"],
        ]
        assert shown(screen, "overdue") and not shown(screen, "overdue-empty")


async def test_sparkline_shows_open_trend_of_the_history(db: Settings) -> None:
    fixed_at = NOW - timedelta(days=3)  # 2026-11-28 10:00 in Hangzhou
    with write_session(db) as session:
        for title, when in (("门户网站存在SQL注入", fixed_at),
                            # before the 30 days: closed throughout them
                            ("Backup share readable by everyone", datetime(2026, 10, 20,
                                                                           tzinfo=UTC))):
            finding = session.exec(select(Finding).where(Finding.title == title)).one()
            assert finding.id is not None
            set_status(session, finding_id=finding.id, status=FIXED, actor="t", now=when,
                       policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    with read_session(db) as session:
        findings = list(session.exec(select(Finding)).all())
        events = list(session.exec(select(FindingEvent).order_by(col(FindingEvent.id))).all())
    expected = open_trend(findings, events, 30, NOW, tz=SHANGHAI)
    # 2 Nov .. 1 Dec: 7 manual findings and the scanned one; one more fixed on 28 Nov
    assert expected == [8] * 26 + [7] * 4
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        from textual.widgets import Sparkline

        assert list(screen.query_one("#trend", Sparkline).data or []) == expected
        assert text_of(screen, "trend-caption") == (
            "Open at the end of each day, 2026-11-02 → 2026-12-01: 8 → 7 "
            "(lowest 7, highest 8)")
        assert text_of(screen, "trend-axis").split() == ["8", "7"]


async def test_recent_changes_latest_ten(db: Settings) -> None:
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        assert rows(screen_of(app), "changes") == [
            ["2026-09-30 14:30", "hz-jw", "127.0.1.10",
             "appeared · portal.hz.example · tcp/22 ssh, tcp/443 http"]]
    with write_session(db) as session:
        template = session.exec(select(Change)).one()
        for port in range(8000, 8012):
            session.add(Change(run_id=template.run_id, unit_id=template.unit_id,
                               asset_id=template.asset_id, kind=ChangeKind.port_opened,
                               address="127.0.1.10", protocol="tcp", port=port,
                               after={"service": f"tcp/{port} http-alt"},
                               at=SCANNED + timedelta(hours=port - 7999)))
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        table = rows(screen_of(app), "changes")
        assert len(table) == 10
        assert table[0] == ["2026-10-01 02:30", "hz-jw", "127.0.1.10", "opened tcp/8011 http-alt"]
        assert table[-1][3] == "opened tcp/8002 http-alt"


async def test_empty_states_say_what_to_do(sqlite_settings: Settings) -> None:
    load_demo_org(sqlite_settings)
    app = GarrisonApp(sqlite_settings, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        for table_id in ("overdue", "changes", "oncall", "drills"):
            assert not shown(screen, table_id), table_id
            assert shown(screen, f"{table_id}-empty"), table_id
        assert text_of(screen, "overdue-empty") == "No overdue findings."
        assert text_of(screen, "oncall-empty") == (
            "Nobody is on call: plan a rotation with garrison experts oncall plan")
        assert "garrison scan import" in text_of(screen, "changes-empty")
        assert "garrison drill run" in text_of(screen, "drills-empty")
        assert text_of(screen, "sev-total") == "No open findings."
        assert text_of(screen, "trend-caption") == "No open findings in the last 30 days."
        assert screen.data is not None and screen.data.trend == [0] * 30


async def test_on_call_names_and_masked_phones(db: Settings) -> None:
    from expert_pool.oncall import on_call, plan

    with write_session(db) as session:
        plan(session, first_day=date(2026, 12, 1), last_day=date(2026, 12, 1), per_shift=2,
             require=(), actor="t", tz="Asia/Shanghai", now=NOW)
    with read_session(db) as session:
        now = on_call(session, NOW)
        assert now is not None
        expected = [[e.name, e.organisation, mask_phone(e.phone) or "-"] for e in now.experts]
        phones = [e.phone for e in now.experts if e.phone]
    assert len(expected) == 2
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        table = rows(screen, "oncall")
        assert table == expected
        assert not shown(screen, "oncall-empty")
        assert text_of(screen, "oncall-shift") == "Shift 2026-12-01 08:00 → 2026-12-01 20:00 UTC+8"
        cells = " ".join(" ".join(row) for row in table)
        for phone in phones:
            assert phone not in cells


async def test_running_drills_only(db: Settings) -> None:
    with write_session(db) as session:
        unit = session.exec(select(Unit).where(Unit.code == "nb-jw")).one()
        assert unit.id is not None
        for title, state in (("Ransomware at the portal", DrillState.running),
                             ("Phishing wave", DrillState.done),
                             ("Web defacement", DrillState.running)):
            session.add(DrillRun(playbook_id="p", playbook_title=title, playbook_sha256="0",
                                 playbook_source="", unit_id=unit.id, clock_mode="wall",
                                 state=state, actor="t", started_at=SCANNED,
                                 anchor_wall=SCANNED))
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert rows(screen, "drills") == [
            ["1", "Ransomware at the portal", "nb-jw", "2026-09-30 14:30"],
            ["3", "Web defacement", "nb-jw", "2026-09-30 14:30"]]
        assert not shown(screen, "drills-empty")


async def test_ctrl_r_refreshes(db: Settings) -> None:
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        loads = screen.loads
        assert text_of(screen, "sev-critical").split()[:2] == ["critical", "2"]
        with write_session(db) as session:
            add_manual(session, unit_code="nb-jw", title="New critical", actor="t",
                       severity=Severity.critical, now=NOW - timedelta(days=1), policy=POLICY)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert screen.loads == loads + 1
        assert text_of(screen, "sev-critical").split()[:2] == ["critical", "3"]
        assert screen.data is not None and screen.data.trend[-1] == 10
        assert [c.title for c in screen.palette_commands()] == ["Dashboard: refresh"]


async def test_timer_refreshes_while_shown_and_coming_back_refreshes(db: Settings) -> None:
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert screen.timer is not None
        assert screen.loads == 1
        screen.tick()
        await settle(app, pilot)
        assert screen.loads == 2
        await pilot.press("a")
        await settle(app, pilot)
        assert app.screen is not screen
        screen.tick()  # not shown: no reading
        await settle(app, pilot)
        assert screen.loads == 2
        await pilot.press("d")
        await settle(app, pilot)
        assert app.screen is screen and screen.loads == 3


async def test_on_call_is_read_after_the_findings_panels(db: Settings) -> None:
    """Who is on call comes from the expert pool's service (through the ORM): it is read
    once the rest is drawn, and says so until then."""
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = screen_of(app)
        assert text_of(screen, "oncall-shift") == "Loading…"
        assert not shown(screen, "oncall") and not shown(screen, "oncall-empty")
        await settle(app, pilot)
        assert screen.loads == 1 and screen.oncall_loads == 1
        assert shown(screen, "oncall-empty") and not shown(screen, "oncall-shift")


async def test_an_expired_acceptance_is_reopened_before_the_counts(db: Settings) -> None:
    """The dashboard counts what the findings screen lists: a risk acceptance past its
    date is reopened first (audited, as in the CLI) and said."""
    with write_session(db) as session:
        finding = session.exec(select(Finding).where(
            Finding.title == "Outdated OpenSSH on the portal")).one()
        assert finding.id is not None
        fid = finding.id
        set_status(session, finding_id=fid, status=FindingStatus.accepted_risk, actor="t",
                   reason="vendor patch due", approver="chief.li",
                   until=(NOW - timedelta(days=2)).date(), now=NOW - timedelta(days=5),
                   policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    app = GarrisonApp(db, screen="dashboard", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert text_of(screen, "sev-total") == "9 open or in progress"
        assert [n.message for n in app._notifications] == [
            f"Reopened 1 finding(s) whose risk acceptance expired: {fid}"]
    with read_session(db) as session:
        assert session.get(Finding, fid).status is OPEN  # type: ignore[union-attr]


async def test_the_prefetched_read_paints_first(db: Settings) -> None:
    """``garrison tui`` starts the dashboard's read before Textual is imported
    (``tui.prefetch``): the screen shows that read, and reads on its own from then on."""
    from concurrent.futures import Future

    from garrison.dashboard import quick_gather
    from tui import prefetch

    assert prefetch.start(db, "findings") is None
    started = prefetch.start(db.model_copy(update={"clock": FixedClock(NOW)}), "dashboard")
    assert started is not None
    expected = quick_gather(db.db, NOW, SHANGHAI, days=30)
    assert expected is not None and started.result(timeout=30) == expected
    marked = replace(expected, trend=[1] * 30)  # not what the database says
    future: Future[Any] = Future()
    future.set_result(marked)
    app = GarrisonApp(db, screen="dashboard", now=NOW, prefetched=future)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert screen.data is marked
        assert app.take_prefetched() is None
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert screen.data == expected and screen.loads == 2


async def test_a_failed_prefetch_leaves_the_read_to_the_screen(db: Settings) -> None:
    from concurrent.futures import Future

    future: Future[Any] = Future()
    future.set_exception(RuntimeError("the prefetch thread failed"))
    app = GarrisonApp(db, screen="dashboard", now=NOW, prefetched=future)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        assert text_of(screen_of(app), "sev-total") == "9 open or in progress"
