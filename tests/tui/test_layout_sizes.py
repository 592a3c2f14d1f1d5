"""The screens at 80x24, 160x45 and 220x60: which columns show, what stays on screen.

Tables drop their lowest-priority columns whole when the terminal is narrow (never a
column squeezed to two letters), and the narrow layouts keep every form reachable; the
snapshots (``test_snapshots.py``) show the same sizes.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button, DataTable, Input, RichLog, Tree

from drills import service as drills
from drills.loader import resolve
from garrison.actions import action_context
from garrison.settings import Settings
from tests.tui.conftest import NOW, settle
from tui.app import GarrisonApp
from tui.screens.assets import AssetsScreen
from tui.screens.drills import DrillsScreen
from tui.screens.findings import COLUMNS, FindingsScreen
from tui.widgets.drill_console import DrillConsole
from tui.widgets.table import MeasuredTable

SMALL, MEDIUM, LARGE = (80, 24), (160, 45), (220, 60)
BY_PRIORITY = [c.key for c in sorted(COLUMNS, key=lambda c: c.rank)]


def findings_table(app: GarrisonApp) -> MeasuredTable:
    assert isinstance(app.screen, FindingsScreen)
    return app.screen.query_one("#table", MeasuredTable)


def lines(table: DataTable[Any]) -> list[str]:
    """What the table shows, line by line, as plain text."""
    return [table.render_line(y).text for y in range(table.size.height)]


def fits(table: DataTable[Any]) -> bool:
    """Every column shown is inside the table: nothing to scroll sideways to."""
    return table.virtual_size.width <= table.scrollable_content_region.width


@pytest.mark.parametrize("size", [MEDIUM, LARGE], ids=["160x45", "220x60"])
async def test_findings_show_owner_due_and_overdue(tui_db: Settings,
                                                   size: tuple[int, int]) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = findings_table(app)
        shown = table.visible_columns
        assert {"id", "severity", "status", "title", "owner", "due", "overdue"} <= set(shown)
        assert fits(table)
        header = lines(table)[0]
        for label in ("owner", "due", "overdue"):
            assert label in header.split()
        text = "\n".join(lines(table))
        assert "陈静" in text and "2026-10-08" in text  # finding 2: its owner, its due date
        row = next(line for line in lines(table) if line.split()[:1] == ["2"])
        assert row.split()[-1] == "overdue"
        if size == LARGE:  # the widest terminal has room for everything
            assert shown == [c.key for c in COLUMNS]


async def test_findings_at_80x24_keep_the_high_priority_columns(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        table = findings_table(app)
        shown = table.visible_columns
        # the shown columns are the first by priority; the others are dropped, not squeezed
        assert set(shown) == set(BY_PRIORITY[:len(shown)])
        assert {"id", "severity", "status", "title"} <= set(shown)
        assert "where" not in shown and "unit" not in shown
        assert fits(table)
        text = lines(table)
        assert "severity" in text[0].split()
        severities = {line.split()[1] for line in text[1:] if line.split()}
        assert {"critical", "high", "medium", "low", "info"} <= severities  # in full
        # the title takes the width left
        widths = {str(c.key.value): c.get_render_width(table) for c in table.ordered_columns}
        assert sum(widths.values()) >= table.scrollable_content_region.width - 2
        assert widths["title"] > 20
        # the filters are readable: none of the boxes is squeezed
        for box in app.screen.query("#filters > *"):
            assert box.size.width >= 18, box.id
            assert app.screen.region.contains_region(box.region), box.id
        # and the detail pane is below the table, still on screen
        detail = app.screen.query_one("#detail")
        assert detail.region.y >= table.region.bottom and detail.region.height >= 5
        assert detail.region.bottom <= app.screen.region.bottom


async def test_findings_columns_follow_a_resize(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=LARGE) as pilot:
        await settle(pilot)
        table = findings_table(app)
        assert table.visible_columns == [c.key for c in COLUMNS]
        await pilot.resize_terminal(*SMALL)
        await settle(pilot)
        assert "where" not in table.visible_columns and fits(table)
        assert str(table.get_cell("1", "where")) == "127.0.1.10:443/tcp"  # kept, not shown
        await pilot.resize_terminal(*MEDIUM)
        await settle(pilot)
        assert {"owner", "due", "overdue"} <= set(table.visible_columns) and fits(table)


async def test_drill_console_at_80x24(tui_db_drill: Settings) -> None:
    app = GarrisonApp(tui_db_drill, screen="drills", now=NOW)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        console = app.screen
        assert isinstance(console, DrillConsole)
        screen = console.region
        record = console.query_one("#record", Button)
        assert record.display and screen.contains_region(record.region)
        assert record.region.width >= len("Record")
        timeline = console.query_one("#timeline", RichLog)
        assert timeline.region.width >= 40 and timeline.region.height >= 5
        assert screen.contains_region(timeline.region)
        shown = "\n".join(line.text for line in timeline.lines)
        assert "drill over" in shown
        for field in console.query("#respond > *"):
            assert screen.contains_region(field.region), field.id
            assert field.region.width >= 12, field.id
        expectations = console.query_one("#expectations", MeasuredTable)
        assert screen.contains_region(expectations.region) and fits(expectations)
        assert {"due", "must", "verdict"} <= set(expectations.visible_columns)
        # the form works from the keyboard: ctrl+n, then tab to the button
        await pilot.press("ctrl+n")
        for _ in range(8):
            if console.focused is record:
                break
            await pilot.press("tab")
        assert console.focused is record


async def test_drills_filter_narrows_the_runs(tui_db_drill: Settings) -> None:
    running = drills.start(action_context(tui_db_drill), resolve("site-accident-rumour"),
                           clock=drills.parse_clock("step"), auto=False, script=[])
    app = GarrisonApp(tui_db_drill, screen="drills", now=NOW)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DrillsScreen)
        runs = screen.query_one("#runs", DataTable)
        finished = next(i for i in screen.runs if i != running)
        assert runs.row_count == 2

        def shown() -> list[int]:
            return [int(str(row.key.value)) for row in runs.ordered_rows]

        await pilot.press("slash")
        text = screen.query_one("#text", Input)
        assert text.has_focus
        await pilot.press(*"running")
        await settle(pilot)
        assert shown() == [running]
        assert "1 of 2 runs" in str(screen.query_one("#count").render())
        text.value = "HZ-JW done"  # every word, any case
        await settle(pilot)
        assert shown() == [finished]
        text.value = "no-such-playbook"
        await settle(pilot)
        assert shown() == []
        text.value = ""
        await settle(pilot)
        assert sorted(shown()) == sorted([running, finished])
        await pilot.press("escape")
        assert runs.has_focus


async def test_assets_tree_at_80x24_is_shown_on_demand(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="assets", now=NOW)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AssetsScreen)
        tree = screen.query_one("#units", Tree)
        table = screen.query_one("#table", MeasuredTable)
        assert not tree.display and table.region.width >= 78
        assert {"address", "hostname", "findings"} <= set(table.visible_columns)
        assert fits(table)
        await pilot.press("u")
        await settle(pilot)
        assert tree.display and tree.has_focus
        assert screen.region.contains_region(tree.region)
        await pilot.press("escape")
        await settle(pilot)
        assert not tree.display and table.has_focus


@pytest.mark.parametrize("screen", ["dashboard", "assets", "findings", "experts", "drills"])
@pytest.mark.parametrize("size", [SMALL, MEDIUM, LARGE], ids=["80x24", "160x45", "220x60"])
async def test_no_table_scrolls_sideways(tui_db_drill: Settings, screen: str,
                                         size: tuple[int, int]) -> None:
    """At every size, every table's shown columns fit it, and the table is on screen."""
    app = GarrisonApp(tui_db_drill, screen=screen, now=NOW)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for table in app.screen.query(MeasuredTable):
            if table.display and table.region.area:
                assert fits(table), table.id
                assert app.screen.region.contains_region(table.region), table.id
