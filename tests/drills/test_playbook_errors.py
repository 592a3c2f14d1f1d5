"""Broken playbooks: each gives its exact error, and a run of one writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from drills.loader import load_playbook
from garrison.db import read_session
from garrison.errors import DocumentError
from garrison.models import AuditEvent
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import snapshot

BAD = FIXTURES / "drills" / "bad"

EXPECTED = {
    "unknown_key": [
        "2: duration is required when a playbook has posts, escalations or `when:` steps "
        "(the drill must know when to stop), e.g. duration: 8h",
        "12: duraton: unknown key 'duraton' (did you mean 'duration'?)",
    ],
    "bad_duration": [
        "61: steps[3].expect[0].within: bad duration '1 hour': write it like 90s, 20m, "
        "1h30m or 2d",
    ],
    "unknown_team": ["58: steps[3].to[0]: unknown team 'cty' (did you mean 'city'?)"],
    "cycle": [
        "50: steps[2].after: classify -> notify -> classify is a cycle: these steps would "
        "wait for each other forever",
    ],
    "dangling_after": [
        "50: steps[2].after: unknown step or escalation 'alrt' (did you mean 'alert'?)",
    ],
    "shell_action": [
        "65: steps[4].action: action 'shell' is not allowed: playbooks cannot run shell "
        "commands; use scan, probe, check-finding or wait",
    ],
    "shell_key": [
        "67: steps[4].command: 'command' is not allowed: playbooks cannot run shell "
        "commands; automated steps are scan, probe, check-finding and wait",
    ],
    "yaml_bomb": [
        "1: the document expands to more than 200000 values (aliases that multiply, a "
        "'billion laughs' file?); refused",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_playbook_gives_its_exact_errors(name: str) -> None:
    path = BAD / f"{name}.yaml"
    with pytest.raises(DocumentError) as caught:
        load_playbook(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:{line}"
                                                       for line in EXPECTED[name]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_running_a_broken_playbook_writes_nothing(name: str, cli: CliRunner,
                                                  sqlite_org: Settings) -> None:
    before = snapshot(sqlite_org)
    result = cli("drill", "run", str(BAD / f"{name}.yaml"), "--clock", "step", "--auto",
                 db_url=sqlite_org.db)
    assert result.code == 1
    assert result.err.splitlines()[0] == f"error: {BAD / name}.yaml:{EXPECTED[name][0]}"
    assert snapshot(sqlite_org) == before


def test_validate_lists_every_problem_and_exits_1(cli: CliRunner) -> None:
    good = FIXTURES / "drills" / "opinion.yaml"
    result = cli("drill", "validate", str(good), str(BAD / "unknown_key.yaml"),
                 str(BAD / "cycle.yaml"))
    assert result.code == 1
    assert result.out == f"{good}: OK (test-opinion, opinion-response, 4 steps, 5 teams)\n"
    assert result.err.splitlines() == [
        *(f"{BAD / 'unknown_key.yaml'}:{line}" for line in EXPECTED["unknown_key"]),
        *(f"{BAD / 'cycle.yaml'}:{line}" for line in EXPECTED["cycle"]),
        "2 of 3 playbook(s) invalid"]


def test_a_target_outside_the_units_scopes_is_refused_before_the_run(
        cli: CliRunner, sqlite_org: Settings) -> None:
    """127.0.2.7 is not in hz-jw's 127.0.1.0/24: the guard refuses, no run is created,
    and the only trace is the guard's own audit of the refusal."""
    before = snapshot(sqlite_org)
    result = cli("drill", "run", str(BAD / "outside_scope.yaml"), "--clock", "step", "--auto",
                 db_url=sqlite_org.db)
    assert result.code == 4
    assert result.err.splitlines()[0].startswith("error: refused '127.0.2.7' for hz-jw: ")
    after = snapshot(sqlite_org)
    assert after["drillrun"] == [] and after["drillevent"] == []
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"auditevent"}
    with read_session(sqlite_org) as session:
        last = session.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()  # type: ignore[attr-defined]
        assert last is not None and last.action == "scope.refused"


def test_a_playbook_file_that_is_not_there(tmp_path: Path, cli: CliRunner) -> None:
    missing = tmp_path / "nope.yaml"
    result = cli("drill", "validate", str(missing))
    assert (result.code, result.err.splitlines()[0]) == (1, f"{missing}: no such file")
