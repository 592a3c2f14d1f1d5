"""A drill survives its engine: kill it, keep responding, resume, lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import col, select

from drills import store
from drills.events import EventKind
from garrison.db import read_session
from garrison.models import DrillEvent, DrillRun, DrillState
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.drills.helpers import replayed
from tests.waiting import wait_for

PLAYBOOK = FIXTURES / "drills" / "opinion.yaml"


def _run(settings: Settings) -> DrillRun | None:
    with read_session(settings) as session:
        return session.exec(select(DrillRun)).first()


def _inputs(settings: Settings) -> list[DrillEvent]:
    with read_session(settings) as session:
        return list(session.exec(select(DrillEvent).where(col(DrillEvent.input).is_(True))
                                 .order_by(col(DrillEvent.id))).all())


def _derived_keys(settings: Settings) -> list[str]:
    with read_session(settings) as session:
        return list(session.exec(select(DrillEvent.key).where(
            col(DrillEvent.input).is_(False))).all())


def test_kill_the_engine_respond_resume_nothing_lost(sqlite_org: Settings,
                                                     cli: CliRunner) -> None:
    settings = sqlite_org
    garrison = str(Path(sys.executable).with_name("garrison"))
    # 600x: the alert fires at T+5m (0.5 s in), classify is due by T+35m (3.5 s)
    engine = subprocess.Popen(
        [garrison, "--db", settings.db, "drill", "run", str(PLAYBOOK), "--clock", "fast:600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (run := _run(settings)) is not None
                 and store.engine_alive(run, settings.now()))
        run = _run(settings)
        assert run is not None and run.id is not None
        rid = str(run.id)
        wait_for(lambda: "fired:alert" in _derived_keys(settings))
        # 1. while the engine lives: recorded unstamped, the engine stamps it
        answered = cli("drill", "respond", rid, "--team", "opinion", "--does", "classify",
                       "--level", "serious", db_url=settings.db)
        assert answered.code == 0, answered.err
        assert "now (the engine stamps it)" in answered.out
        wait_for(lambda: all(e.drill_at is not None for e in _inputs(settings)))
        # 2. kill it: no clean-up at all
        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=10)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
    killed = _run(settings)
    assert killed is not None and killed.state is DrillState.running  # nobody said otherwise
    assert not store.engine_alive(killed, settings.now())
    keys_before = _derived_keys(settings)
    # 3. while no engine lives: the response is stamped from the run's clock
    approve = cli("drill", "respond", rid, "--team", "leadership", "--does",
                  "approve-statement", db_url=settings.db)
    statement = cli("drill", "respond", rid, "--team", "opinion", "--does", "statement",
                    "--note", "情况通报", db_url=settings.db)
    assert approve.code == 0 and statement.code == 0
    assert "now (the engine stamps it)" not in statement.out
    # 4. resume, finishing the rehearsal on the step clock
    resumed = cli("drill", "resume", rid, "--clock", "step", "--auto", "--quiet",
                  db_url=settings.db)
    assert resumed.code == 0, resumed.err
    done = _run(settings)
    assert done is not None and done.state is DrillState.done
    inputs = _inputs(settings)
    assert [(e.team, e.action) for e in inputs if e.kind == EventKind.response] == [
        ("opinion", "classify"), ("leadership", "approve-statement"), ("opinion", "statement")]
    assert all(e.drill_at is not None for e in inputs)
    sim = replayed(settings, run.id).sim
    verdicts = {e.key: e.verdict for e in sim.expectations}
    assert verdicts["step:classify:0"] == "met"  # the response given before the kill
    assert sim.clocks["golden-4h"].verdict == "met"  # the statement given while it was dead
    assert sim.posts["rumour"].reaction == "statement"
    keys_after = _derived_keys(settings)
    assert set(keys_before) <= set(keys_after)  # the replay wrote nothing twice ...
    assert len(keys_after) == len(set(keys_after))  # ... (the key is unique per run)
    assert done.summary["scores"]["opinion"] == sim.totals()["opinion"]
    assert os.environ.get("GARRISON_DB") != settings.db  # the test used its own database


def test_a_live_engine_obeys_pause_resume_and_abort_from_another_terminal(
        sqlite_org: Settings, cli: CliRunner) -> None:
    settings = sqlite_org
    garrison = str(Path(sys.executable).with_name("garrison"))
    engine = subprocess.Popen(
        [garrison, "--db", settings.db, "drill", "run", str(PLAYBOOK), "--clock", "fast:60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (run := _run(settings)) is not None
                 and store.engine_alive(run, settings.now()))
        run = _run(settings)
        assert run is not None
        rid = str(run.id)
        assert cli("drill", "pause", rid, db_url=settings.db).code == 0
        frozen = _run(settings)
        assert frozen is not None and frozen.state is DrillState.paused
        time.sleep(1.0)  # a minute of drill time at 60x, had the clock been running
        status = json.loads(cli("drill", "status", rid, "--json", db_url=settings.db).out)
        assert status["drill_time"] == frozen.anchor_drill
        assert status["engine"] is not None  # still alive, waiting
        resumed = cli("drill", "resume", rid, db_url=settings.db)
        assert resumed.out.startswith(f"drill run {rid} resumed (its engine,")
        wait_for(lambda: json.loads(cli("drill", "status", rid, "--json", db_url=settings.db)
                                 .out)["drill_time"] > frozen.anchor_drill)
        time.sleep(1.0)  # the engine looks at the run every 0.2 s
        assert cli("drill", "abort", rid, "--reason", "test", db_url=settings.db).code == 0
        out, _err = engine.communicate(timeout=20)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
    assert engine.returncode == 0
    assert "paused at T+" in out and "resumed at T+" in out and "aborted at T+" in out
    assert f"run {rid} aborted" in out
