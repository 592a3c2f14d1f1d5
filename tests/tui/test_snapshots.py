"""Snapshots of the main screens on the stable test province (pytest-textual-snapshot).

The data and the clock are pinned (``tests/tui/conftest.py``), so a change in a snapshot
is a change in what the officer sees. Review the diff (``pytest --snapshot-report``) and
accept it with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from garrison.settings import Settings
from tests.tui.conftest import NOW, settle
from tui.app import GarrisonApp

SIZE = (160, 44)
SIZES = {"80x24": (80, 24), "160x45": (160, 45), "220x60": (220, 60)}
"""A small terminal (every screen must stay usable), a common one, a wide one (the
screens must use the width): see the layouts in docs/tui.md."""


async def settled(pilot: Pilot[Any]) -> None:
    await settle(pilot)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen", ["dashboard", "assets", "findings", "experts", "drills",
                                    "console"])
def test_screen(snap_compare: Callable[..., bool], tui_db_drill: Settings,
                screen: str, size: str) -> None:
    """Each screen (``console``: the live console of the finished drill run) at each
    size."""
    app = GarrisonApp(tui_db_drill, screen="drills" if screen == "console" else screen,
                      now=NOW)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        if screen == "console":
            await pilot.press("enter")
            await settled(pilot)

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)


def test_findings_light_theme_filtered(snap_compare: Callable[..., bool],
                                       tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW, theme="textual-light")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("slash", *"OpenSSH")
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare: Callable[..., bool], tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
