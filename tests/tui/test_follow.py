"""Screens follow changes other processes make (SQLite data_version, PostgreSQL
LISTEN/NOTIFY): within 2 s, keeping the cursor and the filter."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input

from garrison.models import FindingStatus
from garrison.settings import Settings
from tests.tui.conftest import NOW, build, settle
from tui.app import GarrisonApp
from tui.screens.findings import FindingsScreen

SIZE = (170, 48)
GARRISON = [str(Path(sys.executable).with_name("garrison"))]


def garrison(settings: Settings, *args: str) -> None:
    """Another process: the CLI, on the same database."""
    subprocess.run([*GARRISON, "--db", settings.db, *args], check=True, capture_output=True,
                   timeout=60)


def row_ids(app: GarrisonApp) -> list[int]:
    table = app.screen.query_one("#table", DataTable)
    return [int(str(table.coordinate_to_cell_key(Coordinate(r, 0)).row_key.value))
            for r in range(table.row_count)]


async def until(pilot: Any, check: Any, seconds: float = 2.0) -> float:
    """Seconds until ``check()`` holds (fails after ``seconds``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "not on screen in time"
        await pilot.pause(0.05)
    return time.monotonic() - started


async def test_findings_follow_another_process(settings: Settings) -> None:
    build(settings)
    app = GarrisonApp(settings, screen="findings", now=NOW, follow=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        table = screen.query_one("#table", DataTable)
        table.move_cursor(row=3)
        await settle(pilot)
        kept = app.selected_finding
        first = row_ids(app)[0]
        # a status change from the CLI: the finding leaves the active filter
        garrison(settings, "findings", "set-status", str(first), "fixed")
        await until(pilot, lambda: first not in row_ids(app))
        assert app.selected_finding == kept  # the cursor stayed on its finding
        # a new critical finding from the CLI appears
        garrison(settings, "findings", "add", "--unit", "hz-jw", "--title", "新的高危漏洞",
                 "--severity", "critical")
        await until(pilot, lambda: any(r.title == "新的高危漏洞"
                                       for r in screen.rows.values()))
        assert app.selected_finding == kept
    assert app.changes_seen >= 2


async def test_the_filter_is_kept_when_the_screen_follows(settings: Settings) -> None:
    build(settings)
    app = GarrisonApp(settings, screen="findings", now=NOW, follow=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        screen.query_one("#unit", Input).value = "hz-jw"
        await settle(pilot)
        before = row_ids(app)
        garrison(settings, "findings", "add", "--unit", "nb-jw", "--title", "elsewhere",
                 "--severity", "high")
        garrison(settings, "findings", "add", "--unit", "hz-jw", "--title", "here",
                 "--severity", "high")
        await until(pilot, lambda: len(row_ids(app)) == len(before) + 1)
        assert screen.filter.unit == "hz-jw"
        assert all(r.unit.startswith("hz-") for r in screen.rows.values())
        assert {r.title for r in screen.rows.values()} >= {"here"}
        assert all(r.status in (FindingStatus.open, FindingStatus.in_progress)
                   for r in screen.rows.values())
