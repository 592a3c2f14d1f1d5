"""A small, stable province for the TUI tests: the demo org, two scanned hosts, findings
with fixed dates, the expert pool of the expert tests, a finished drill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from garrison.db import write_session
from garrison.findings.manual import add_manual
from garrison.models import Severity
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.garrison.helpers import POLICY, load_demo_org

#: The clock the TUI tests pin (``GarrisonApp(now=NOW)``).
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
SCANNED = datetime(2026, 9, 30, 6, 30, tzinfo=UTC)

FINDINGS = [
    ("hz-jw", "门户网站存在SQL注入", Severity.critical),
    ("hz-jw", "Outdated OpenSSH on the portal", Severity.high),
    ("hz-cg", "数字城管平台弱口令", Severity.high),
    ("hz-gjj", "公积金查询接口未鉴权", Severity.critical),
    ("nb-jw", "Redis exposed to the network", Severity.medium),
    ("nb-gjj", "TLS 1.0 still enabled", Severity.low),
    ("wz-fg", "房产交易系统目录遍历", Severity.medium),
    ("zj-xxzx", "Backup share readable by everyone", Severity.info),
]


def build(settings: Settings, *, drill: bool = False) -> Settings:
    """Fill ``settings``'s database; every time stored is derived from ``START``.
    ``drill``: also rehearse the shipped opinion drill to the end (a finished run)."""
    from expert_pool.roster import import_roster
    from scanner.importer import import_xml
    from tests.expert_pool.conftest import POOL

    load_demo_org(settings)
    import_xml(settings, path=FIXTURES / "nmap" / "two_hosts_sv.xml", unit_code="hz-jw")
    _pin_scan_times(settings)
    with write_session(settings) as session:
        for i, (unit, title, severity) in enumerate(FINDINGS):
            add_manual(session, unit_code=unit, title=title, severity=severity,
                       actor="setup", now=START + timedelta(days=i), policy=POLICY)
        import_roster(session, POOL, actor="setup", source="pool", now=START)
    if drill:
        _finished_drill(settings)
    return settings


def _finished_drill(settings: Settings) -> None:
    from importlib import resources

    import sqlalchemy as sa

    from drills import store
    from drills.engine import Engine, EngineOptions, start
    from drills.loader import resolve
    from drills.script import load_script
    from garrison.db import get_engine
    from garrison.models import DrillEvent, DrillRun

    loaded = resolve("site-accident-rumour")
    ref = resources.files("playbooks").joinpath("rehearsals", "site-accident-rumour.fast.yaml")
    with resources.as_file(ref) as path:
        script = load_script(path, loaded)
    run_id = start(settings, loaded, clock=store.ClockMode.parse("step"), auto=True,
                   script=script)
    Engine(settings, run_id, EngineOptions(poll=0.01)).drive()
    with get_engine(settings).begin() as conn:  # pin the wall times
        conn.execute(sa.update(DrillRun).values(started_at=START, anchor_wall=START,
                                                finished_at=START + timedelta(hours=2),
                                                heartbeat_at=START + timedelta(hours=2)))
        conn.execute(sa.update(DrillEvent).values(wall_at=START))


def _pin_scan_times(settings: Settings) -> None:
    """The import stamps what it stores with the real time; pin it to ``SCANNED`` so
    what the screens show (and their snapshots) does not depend on the day."""
    import sqlalchemy as sa

    from garrison.db import get_engine
    from garrison.models import Asset, Change, Finding, FindingEvent, ScanRun, Service

    when = {"t": SCANNED, "due": SCANNED + timedelta(days=180)}
    with get_engine(settings).begin() as conn:
        for table, columns in ((Asset, ("first_seen", "last_seen")),
                               (Service, ("first_seen", "last_seen")), (Change, ("at",)),
                               (ScanRun, ("started_at", "finished_at"))):
            conn.execute(sa.update(table).values(dict.fromkeys(columns, when["t"])))
        conn.execute(sa.update(Finding).values(first_seen=when["t"], last_seen=when["t"],
                                               status_changed_at=when["t"],
                                               due_at=when["due"]))
        conn.execute(sa.update(FindingEvent).values(at=when["t"]))


@pytest.fixture
def tui_db(sqlite_settings: Settings) -> Settings:
    return build(sqlite_settings)


@pytest.fixture
def tui_db_drill(sqlite_settings: Settings) -> Settings:
    """``tui_db`` with a finished drill run (snapshots, screenshots)."""
    return build(sqlite_settings, drill=True)


async def wait_workers(app: Any) -> None:
    """``app.workers.wait_for_complete()``, except that a worker cancelled on purpose (an
    exclusive group: a new detail load replaces the old one) is not a failure; it
    raises ``WorkerCancelled`` there, by timing, under load. A worker that failed
    still fails the test."""
    import asyncio

    from textual.worker import WorkerCancelled, WorkerFailed, WorkerState

    for _ in range(1000):
        workers = [w for w in app.workers if w.state is not WorkerState.CANCELLED]
        results = await asyncio.gather(*(w.wait() for w in workers), return_exceptions=True)
        for result in results:
            if isinstance(result, WorkerFailed):
                raise result
        if not any(isinstance(r, WorkerCancelled) for r in results):
            return


async def settle(pilot: Any) -> None:
    """Wait until the app is quiet: no worker running, and every DataTable has measured
    its columns (it does so when idle, which comes later under load). Details load after
    rows, so quiet must last a few rounds."""
    from textual.screen import Screen
    from textual.widgets import DataTable

    app = pilot.app
    for _ in range(400):  # the first screen is mounted after the app starts
        if type(app.screen) is not Screen and app.screen.is_mounted:
            break
        await pilot.pause(0.01)
    quiet = 0
    for _ in range(400):
        await wait_workers(app)
        await pilot.pause(0.01)
        pending = any(t._require_update_dimensions or t._updated_cells
                      for t in app.screen.query(DataTable))
        busy = pending or any(w.is_running for w in app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet >= 10:
            break
    await pilot.pause()
