"""The drills screen and a run's live console, driven with Textual's pilot.

The run is started on the step clock and moved on by the engine itself, one step at a
time, from a thread: what another terminal's ``garrison drill run`` does. The console
must show what that "other process" writes, and what it records itself must be in the
database afterwards.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Select, Sparkline, Static

from drills import service, store
from drills.engine import Engine, EngineOptions
from drills.events import EventKind
from drills.loader import resolve
from garrison.actions import action_context
from garrison.db import read_session
from garrison.models import DrillEvent, DrillRun
from garrison.settings import Settings
from tests.tui.conftest import wait_workers
from tui.app import GarrisonApp
from tui.screens.drills import DrillsScreen
from tui.widgets.drill_console import DrillConsole

SIZE = (160, 48)
PLAYBOOK = "site-accident-rumour"


def start_run(settings: Settings) -> int:
    return service.start(action_context(settings), resolve(PLAYBOOK),
                         clock=service.parse_clock("step"), auto=False, script=[])


def step(settings: Settings, run_id: int) -> None:
    """The engine moves the step clock to the next visible event, then lets go."""
    Engine(action_context(settings), run_id, EngineOptions(poll=0.01, max_wall=0)).drive()


def responses(settings: Settings, run_id: int) -> list[DrillEvent]:
    with read_session(settings) as session:
        return list(session.exec(select(DrillEvent).where(
            DrillEvent.run_id == run_id, DrillEvent.kind == EventKind.response)
            .order_by(col(DrillEvent.id))).all())


async def settle(app: GarrisonApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await wait_workers(app)
        await pilot.pause()


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 8.0,
                what: str = "") -> None:
    """Wait for the screens' own timers (no manual refresh) to show ``condition``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not shown within {timeout} s: {what}")
        await pilot.pause(0.1)


def cells(table: DataTable[object], key: str) -> dict[str, str]:
    return {str(c.key.value): str(table.get_cell(key, c.key)) for c in table.ordered_columns}


def bar(console: DrillConsole) -> str:
    return str(console.query_one("#clock-bar", Static).render())


async def open_console(app: GarrisonApp, pilot: Pilot[None], run_id: int) -> DrillConsole:
    await settle(app, pilot)
    runs = app.screen.query_one("#runs", DataTable)
    runs.move_cursor(row=runs.get_row_index(str(run_id)))
    runs.focus()
    await pilot.press("enter")
    await settle(app, pilot)
    console = app.screen
    assert isinstance(console, DrillConsole) and console.run_id == run_id
    return console


async def test_runs_table_follows_the_database(tui_db: Settings) -> None:
    first = start_run(tui_db)
    app = GarrisonApp(tui_db, screen="drills")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, DrillsScreen)
        runs = screen.query_one("#runs", DataTable)
        row = cells(runs, str(first))
        assert row["title"] == "工地塔吊事故谣言舆情处置演练"
        assert (row["unit"], row["clock"], row["state"]) == ("hz-jw", "step", "running")
        assert row["time"] == "T+00:00:00"
        # another process: pauses this run, starts a second one; the table catches up
        coordinator = replace(action_context(tui_db), actor="coordinator")
        service.pause(coordinator, first, reason=None)
        second = await asyncio.to_thread(start_run, tui_db)
        await until(pilot, lambda: runs.row_count == 2
                    and cells(runs, str(first))["state"] == "paused", what="the pause")
        assert cells(runs, str(second))["state"] == "running"
        assert runs.coordinate_to_cell_key(runs.cursor_coordinate).row_key.value == str(first)


async def test_console_shows_the_run_and_records_a_response(tui_db: Settings) -> None:
    run_id = start_run(tui_db)
    step(tui_db, run_id)  # to T+10m: the monitoring alert, classify due within 30m
    app = GarrisonApp(tui_db, screen="drills")
    async with app.run_test(size=SIZE) as pilot:
        console = await open_console(app, pilot, run_id)
        assert "T+00:10:00" in bar(console) and "running" in bar(console)
        lines = console.timeline_text()
        assert any("post weibo @杭城工地目击者" in line for line in lines)
        assert any(line.startswith("T+00:10:00") and "message → opinion" in line
                   and "舆情预警" in line for line in lines)
        expectations = console.query_one("#expectations", DataTable)
        classify = cells(expectations, "step:alert:0")
        assert (classify["team"], classify["must"], classify["for"]) == (
            "opinion", "classify", "alert")
        assert classify["left"] == "30m left" and classify["verdict"] == "open"
        heat = console.query_one("#heat", Sparkline).data
        assert heat is not None and heat[0] == 2000.0 and heat[-1] > 2000.0
        scores = console.query_one("#scores", DataTable)
        assert [str(r.key.value) for r in scores.ordered_rows] == [
            "opinion", "leadership", "city", "province", "white"]

        # the form: team, action (classify enables the level), level, note
        level = console.query_one("#level", Select)
        assert level.disabled
        console.query_one("#team", Select).value = "opinion"
        console.query_one("#does", Input).value = "classify"
        await pilot.pause()
        assert not level.disabled
        level.value = "relatively-serious"
        console.query_one("#note", Input).value = "定为较大舆情"
        await pilot.click("#record")
        await settle(app, pilot)
        recorded = responses(tui_db, run_id)
        assert len(recorded) == 1
        got = recorded[0]
        assert (got.team, got.action, got.step, got.note, got.data, got.actor) == (
            "opinion", "classify", None, "定为较大舆情", {"level": "relatively-serious"},
            tui_db.actor)
        assert got.drill_at is None  # an engine is driving the run: it stamps it
        assert any("recorded: opinion classify at now (the engine stamps it)" in n.message
                   for n in app._notifications)
        assert "1 response(s) waiting for the engine" in bar(console)
        assert any("(the engine stamps it)  opinion classify [relatively-serious]: 定为较大舆情"
                   in line for line in console.timeline_text())
        assert console.query_one("#note", Input).value == ""  # ready for the next one

        # the engine, elsewhere, stamps it and moves on: the console follows by itself
        await asyncio.to_thread(step, tui_db, run_id)
        await until(pilot, lambda: cells(expectations, "step:alert:0")["verdict"] == "met +10",
                    what="the classify verdict")
        assert "T+00:20:00" in bar(console)
        assert "waiting for the engine" not in bar(console)
        assert str(scores.get_cell("opinion", "points")) == "10"
        lines = console.timeline_text()
        assert any(line.startswith("T+00:10:00  opinion classify") for line in lines)
        assert any("met opinion classify (alert) +10" in line for line in lines)
        assert any(line.startswith("T+00:20:00") and "message → leadership" in line
                   for line in lines)
    with read_session(tui_db) as session:
        replay = store.replay(session, store.get_run(session, run_id), now=tui_db.now())
    assert replay.sim.totals()["opinion"] == 10


async def test_console_shows_responses_recorded_by_another_process(tui_db: Settings) -> None:
    run_id = start_run(tui_db)
    step(tui_db, run_id)
    app = GarrisonApp(tui_db, screen="drills")
    async with app.run_test(size=SIZE) as pilot:
        console = await open_console(app, pilot, run_id)
        before = console.refreshes

        def respond_elsewhere() -> None:  # `garrison drill respond` in another terminal
            service.respond(replace(action_context(tui_db), actor="duty-officer"), run_id,
                            team="leadership", does="acknowledge", step=None,
                            note="收到，马上研判", level=None)

        await asyncio.to_thread(respond_elsewhere)
        await until(pilot, lambda: any("leadership acknowledge: 收到，马上研判" in line
                                       for line in console.timeline_text()),
                    what="the other terminal's response")
        assert console.refreshes > before  # by the timer, nobody asked
        assert "duty-officer" in console.timeline_text()[-1]
        assert "1 response(s) waiting for the engine" in bar(console)


async def test_a_refused_response_is_a_notification_and_writes_nothing(
        tui_db: Settings) -> None:
    run_id = start_run(tui_db)
    step(tui_db, run_id)
    app = GarrisonApp(tui_db, screen="drills")
    async with app.run_test(size=SIZE) as pilot:
        console = await open_console(app, pilot, run_id)
        console.query_one("#does", Input).value = "classify"
        console.query_one("#record", Button).press()
        await settle(app, pilot)
        assert any("Choose the team" in n.message for n in app._notifications)
        console.query_one("#team", Select).value = "opinion"
        for does, step_id in (("Call The Press", ""), ("statement", "no-such-step")):
            console.query_one("#does", Input).value = does
            console.query_one("#step", Input).value = step_id
            console.query_one("#record", Button).press()
            await settle(app, pilot)
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("'Call The Press' is not an action name" in m for m in errors)
        assert any("no step, post, escalation or clock 'no-such-step'" in m for m in errors)
        assert isinstance(app.screen, DrillConsole)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DrillsScreen)
    assert responses(tui_db, run_id) == []


async def test_console_follows_an_engine_in_another_process(tui_db: Settings) -> None:
    """`garrison drill run --clock fast:600` in a real second process (10 drill minutes a
    second): the console's clock and timeline move on their own, and a response recorded
    from the form is stamped by that engine."""
    garrison = str(Path(sys.executable).with_name("garrison"))
    engine = subprocess.Popen(
        [garrison, "--db", tui_db.db, "--actor", "engine", "drill", "run", PLAYBOOK,
         "--clock", "fast:600", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def run_id() -> int | None:
            with read_session(tui_db) as session:
                run = session.exec(select(DrillRun)).first()
                return (run.id if run is not None and store.engine_alive(run, tui_db.now())
                        else None)

        deadline = time.monotonic() + 30
        while (found := run_id()) is None:
            assert engine.poll() is None, engine.stderr.read() if engine.stderr else ""
            assert time.monotonic() < deadline, "the engine did not start"
            await asyncio.sleep(0.05)
        app = GarrisonApp(tui_db, screen="drills")
        async with app.run_test(size=SIZE) as pilot:
            console = await open_console(app, pilot, found)
            await until(pilot, lambda: any("舆情预警" in line
                                           for line in console.timeline_text()),
                        timeout=20, what="the T+10m alert")
            console.query_one("#team", Select).value = "opinion"
            console.query_one("#does", Input).value = "acknowledge"
            console.query_one("#note", Input).value = "收到预警"
            await pilot.click("#record")
            await settle(app, pilot)
            await until(pilot, lambda: any(
                line.startswith("T+") and "opinion acknowledge: 收到预警" in line
                for line in console.timeline_text()), timeout=20,
                what="the response, stamped by the engine")
            first = bar(console)
            await until(pilot, lambda: bar(console) != first, what="the clock moving")
        stamped = [r for r in responses(tui_db, found) if r.action == "acknowledge"]
        assert len(stamped) == 1 and stamped[0].drill_at is not None
        assert stamped[0].actor == tui_db.actor
    finally:
        with read_session(tui_db) as session:
            run = session.exec(select(DrillRun)).first()
        if run is not None and run.id is not None and run.state not in store.ENDED:
            service.abort(action_context(tui_db), run.id, reason="test over")
        try:
            engine.wait(timeout=20)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait()
