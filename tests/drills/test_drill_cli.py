"""``garrison drill ...`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from drills.events import EventKind
from garrison.db import read_session
from garrison.models import AuditEvent, DrillEvent
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner

DRILLS = FIXTURES / "drills"


def _start(cli: CliRunner, settings: Settings, *extra: str) -> int:
    result = cli("drill", "run", str(DRILLS / "opinion.yaml"), "--clock", "step", "--auto",
                 "--quiet", *extra, db_url=settings.db)
    assert result.code == 0, result.err
    runs = json.loads(cli("drill", "runs", "--json", db_url=settings.db).out)
    return int(runs[0]["id"])


def test_status_respond_adjust_and_report(cli: CliRunner, sqlite_org: Settings,
                                          tmp_path: Path) -> None:
    db = sqlite_org.db
    rid = _start(cli, sqlite_org, "--responses", str(DRILLS / "opinion.fast.yaml"))
    status = json.loads(cli("drill", "status", str(rid), "--json", db_url=db).out)
    assert (status["state"], status["drill_time"], status["level"]) == ("done", 28800.0, "city")
    assert status["scores"] == {"opinion": 60.0, "leadership": 0.0, "city": 10.0,
                                "province": 0.0, "white": 0.0}
    # after the end: a lesson is welcome, anything else is refused
    late = cli("drill", "respond", str(rid), "--team", "opinion", "--does", "statement",
               db_url=db)
    assert late.code == 1
    assert late.err.splitlines()[0] == (f"error: drill run {rid} has ended (done); only "
                                        "lessons can be added now (--does lesson)")
    lesson = cli("drill", "respond", str(rid), "--team", "opinion", "--does", "lesson",
                 "--note", "定级前先核实现场", db_url=db)
    assert lesson.code == 0 and "at T+08:00:00" in lesson.out
    adjusted = cli("drill", "adjust", str(rid), "--team", "city", "--points", "-3",
                   "--reason", "通报内容不完整", db_url=db)
    assert adjusted.code == 0, adjusted.err
    status = json.loads(cli("drill", "status", str(rid), "--json", db_url=db).out)
    assert status["scores"]["city"] == 7.0
    md = cli("drill", "report", str(rid), db_url=db)
    assert md.code == 0
    assert "定级前先核实现场" in md.out and "通报内容不完整" in md.out
    out = tmp_path / "aar.html"
    html = cli("drill", "report", str(rid), "-f", "html", "-o", str(out), db_url=db)
    assert html.code == 0 and out.read_text(encoding="utf-8").count("<svg") == 2
    with read_session(sqlite_org) as session:
        actions = [a.action for a in session.exec(select(AuditEvent)).all()]
    assert actions.count("drill.response") == 5 + 1  # 5 scripted, the lesson
    assert {"drill.started", "drill.done", "drill.adjusted"} <= set(actions)


def test_bad_responses_say_what_to_do(cli: CliRunner, sqlite_org: Settings) -> None:
    db = sqlite_org.db
    rid = str(_start(cli, sqlite_org))
    cases = {
        ("--team", "opinon", "--does", "lesson"):
            "error: no team 'opinon' in this drill (did you mean 'opinion'?)",
        ("--team", "opinion", "--does", "lesson", "--step", "clasify"):
            "error: no step, post, escalation or clock 'clasify' in this drill "
            "(did you mean 'classify'?)",
        ("--team", "opinion", "--does", "Make Statement"):
            "error: 'Make Statement' is not an action name: lower-case letters, digits and "
            "hyphens, e.g. acknowledge, report-finding, contain, statement",
        ("--team", "opinion", "--does", "classify", "--level", "huge"):
            "error: --level 'huge': use one of especially-serious, serious, "
            "relatively-serious, general",
    }
    for args, message in cases.items():
        result = cli("drill", "respond", rid, *args, db_url=db)
        assert (result.code, result.err.splitlines()[0]) == (1, message)
    missing = cli("drill", "status", "999", db_url=db)
    assert (missing.code, missing.err.splitlines()[0]) == (1, "error: no drill run 999")
    bad_clock = cli("drill", "run", str(DRILLS / "opinion.yaml"), "--clock", "fast", db_url=db)
    assert bad_clock.code == 1 and bad_clock.err.startswith("error: --clock 'fast': use wall,")


def test_pause_resume_abort_from_another_terminal(cli: CliRunner,
                                                  sqlite_org: Settings) -> None:
    """Pause freezes the clock (a response is recorded at the frozen time); abort ends
    the run for good: it cannot be resumed, its report covers what happened."""
    db = sqlite_org.db
    from drills import service
    from drills.loader import load_playbook
    from garrison.actions import action_context

    rid = service.start(action_context(sqlite_org), load_playbook(DRILLS / "opinion.yaml"),
                        clock=service.parse_clock("wall"), auto=False, script=[])
    paused = cli("drill", "pause", str(rid), db_url=db)
    assert paused.code == 0 and paused.out.startswith(f"drill run {rid} paused at T+00:00:0")
    again = cli("drill", "pause", str(rid), db_url=db)
    assert again.err.splitlines()[0] == f"error: drill run {rid} is already paused"
    answered = cli("drill", "respond", str(rid), "--team", "opinion", "--does", "classify",
                   "--level", "general", db_url=db)
    assert answered.code == 0 and "at T+00:00:0" in answered.out  # the frozen clock
    aborted = cli("drill", "abort", str(rid), "--reason", "演练取消", db_url=db)
    assert aborted.code == 0
    status = json.loads(cli("drill", "status", str(rid), "--json", db_url=db).out)
    assert status["state"] == "aborted"
    resumed = cli("drill", "resume", str(rid), db_url=db)
    assert resumed.code == 1
    assert resumed.err.splitlines()[0] == f"error: drill run {rid} has ended (aborted)"
    with read_session(sqlite_org) as session:
        states = [e.action for e in session.exec(select(DrillEvent).where(
            DrillEvent.kind == EventKind.state)).all()]
    assert states == ["started", "paused", "aborted"]


def test_playbook_list_show_and_schema(cli: CliRunner, tmp_path: Path,
                                       monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    user = tmp_path / "playbooks"
    user.mkdir()
    (user / "mine.yaml").write_text((DRILLS / "opinion.yaml").read_text(encoding="utf-8"),
                                    encoding="utf-8")
    (user / "broken.yaml").write_text("id: x\n", encoding="utf-8")
    monkeypatch.setenv("GARRISON_PLAYBOOKS_DIR", str(user))
    listed = {e["id"]: e for e in json.loads(cli("drill", "list", "--json").out)}
    assert listed["test-opinion"]["origin"] == "user" and listed["test-opinion"]["valid"]
    assert listed["broken"]["valid"] is False and listed["broken"]["problems"]
    shown = json.loads(cli("drill", "show", "test-opinion", "--json").out)
    assert [c["id"] for c in shown["clocks_in_force"]] == [
        "golden-4h", "authoritative-5h", "press-briefing-24h", "concerns-48h"]
    unknown = cli("drill", "show", "test-opinon")
    assert unknown.err.splitlines()[0] == "error: no playbook 'test-opinon' (did you mean " \
                                          "'test-opinion'?)"
    schema = json.loads(cli("drill", "schema").out)
    assert schema["title"] == "Playbook"
    step = schema["$defs"]["StepSpec"]["properties"]
    assert step["action"]["anyOf"][0]["enum"] == ["scan", "probe", "check-finding", "wait"]
    assert "with" in step and "when" in step  # the YAML names, not Python's
    assert schema["properties"]["duration"]["description"].startswith("When the drill ends")
