"""Matching against the database, and assignments with the conflict rule."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from expert_pool.assignments import find_matches
from garrison.db import read_session, write_session
from garrison.findings.manual import add_manual
from garrison.models import Assignment, AuditEvent, Severity
from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.garrison.helpers import POLICY, count, snapshot


def finding_on(settings: Settings, unit: str) -> int:
    with write_session(settings) as session:
        finding = add_manual(session, unit_code=unit, title="勒索病毒告警", severity=Severity.high,
                             actor="setup", now=settings.now(), policy=POLICY)
        assert finding.id is not None
        return finding.id


def test_match_ranks_and_excludes_conflicts_on_both_backends(pool: Settings) -> None:
    with read_session(pool) as session:
        result = find_matches(session, skills=(("forensics", 2),), city="杭州", unit="hz-jw",
                              count=10, at=pool.now())
    # 王强 works for hz-fg (under hz-jw), 刘洋 for hz-jw itself; 陈静 (zj-jst, the parent)
    # is not conflicted but holds forensics at level 1 only
    assert [m.candidate.name for m in result.ranked] == ["张伟", "李娜", "陈静"]
    assert [m.coverage for m in result.ranked][:2] == [1.0, 1.0]
    assert {x.candidate.name: x.reasons for x in result.excluded} == {
        "王强": ("conflict of interest: works for hz-fg, which is under hz-jw",),
        "刘洋": ("conflict of interest: works for hz-jw, the unit under review",),
    }
    assert (result.considered, result.unqualified) == (7, 2)  # 赵敏 and the retired 周杰


def test_match_cli_explain_and_json(pool: Settings, cli: CliRunner) -> None:
    shown = cli("experts", "match", "--skill", "forensics:2", "--for-unit", "hz-jw",
                "--explain", db_url=pool.db)
    assert shown.code == 0, shown.err
    assert "#3 王强: conflict of interest: works for hz-fg, which is under hz-jw" in shown.out
    assert "#4 刘洋: conflict of interest: works for hz-jw, the unit under review" in shown.out
    assert "3 eligible of 7 experts; 2 excluded; 2 without the skills." in shown.out
    data = json.loads(cli("experts", "match", "--skill", "forensics:2", "--city", "宁波",
                          "--json", db_url=pool.db).out)
    assert [r["name"] for r in data["ranked"]] == ["李娜", "张伟", "王强", "刘洋", "陈静"]
    assert "excluded" not in data  # only with --explain
    bad = cli("experts", "match", "--skill", "forensics", "--for-unit", "hz-jx", db_url=pool.db)
    assert bad.code == 1 and "unknown unit 'hz-jx' (did you mean 'hz-jw'?)" in bad.err
    none = cli("experts", "match", db_url=pool.db)
    assert none.code == 1 and "give at least one --skill" in none.err


REQUESTS = [
    ["--skill", "forensics:2"],
    ["--skill", "forensics:2", "--for-unit", "hz-jw", "--explain"],
    ["--skill", "forensics", "--skill", "malware:2", "--city", "宁波", "--count", "2"],
    ["--skill", "web", "--skill", "opinion:3", "--for-unit", "zj-jst", "--explain"],
    ["--skill", "legal", "--at", "2026-12-03 09:00", "--explain"],
]


def test_the_quick_path_answers_exactly_as_the_full_path(
        pool: Settings, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from expert_pool.quick import quick_match

    fid = finding_on(pool, "nb-jw")
    cli("experts", "assign", "李娜", "--finding", str(fid), "--role", "responder",
        db_url=pool.db)
    cli("experts", "away", "陈静", "--from", "2026-12-01", "--to", "2026-12-05", db_url=pool.db)
    with read_session(pool) as session:
        full = find_matches(session, skills=(("forensics", 1),), count=10, at=pool.now())
    quick = quick_match(pool.db, skills=(("forensics", 1),), city=None, unit=None, count=10,
                        at=pool.now(), tz="Asia/Shanghai")
    assert quick is not None  # the quick path did answer, on this backend
    assert [m.candidate for m in quick.ranked] == [m.candidate for m in full.ranked]
    for request in REQUESTS:
        fast = cli("experts", "match", "--json", *request, db_url=pool.db)
        monkeypatch.setenv("GARRISON_NO_QUICK", "1")
        slow = cli("experts", "match", "--json", *request, db_url=pool.db)
        monkeypatch.delenv("GARRISON_NO_QUICK")
        assert fast.code == slow.code == 0, (request, fast.err, slow.err)
        assert json.loads(fast.out) == json.loads(slow.out), request


def test_the_quick_path_steps_aside_for_what_it_cannot_answer(pool: Settings) -> None:
    from expert_pool.quick import quick_match

    def ask(url: str, unit: str | None = None) -> object:
        return quick_match(url, skills=(("web", 1),), city=None, unit=unit, count=5,
                           at=pool.now(), tz="UTC")

    assert ask(pool.db, unit="hz-jx") is None  # unknown unit: the full path suggests hz-jw
    assert ask("sqlite:////nonexistent/garrison.db") is None
    assert ask(pool.db) is not None


def test_load_moves_an_expert_down_and_release_moves_them_back(
        pool: Settings, cli: CliRunner) -> None:
    fid = finding_on(pool, "nb-jw")

    def top(n: int = 2) -> list[str]:
        with read_session(pool) as session:
            return [m.candidate.name for m in find_matches(
                session, skills=(("forensics", 2), ("malware", 1)), count=n,
                at=pool.now()).ranked]

    assert top() == ["张伟", "李娜"]  # 张伟 has more certifications than 李娜 (OSCP expired)
    done = cli("experts", "assign", "张伟", "--finding", str(fid), "--role", "responder",
               db_url=pool.db)
    assert done.code == 0, done.err
    assert top() == ["李娜", "张伟"]
    with read_session(pool) as session:
        assignment = session.exec(select(Assignment)).one()
    cli("experts", "release", str(assignment.id), db_url=pool.db)
    assert top() == ["张伟", "李娜"]


def test_a_conflicted_assignment_is_refused_and_writes_nothing(
        pool: Settings, cli: CliRunner) -> None:
    fid = finding_on(pool, "hz-jw")
    before = snapshot(pool)
    refused = cli("experts", "assign", "王强", "--finding", str(fid), "--role", "evaluator",
                  db_url=pool.db)
    assert refused.code == 1
    assert (f"refused: 王强 cannot be evaluator on finding #{fid}: conflict of interest: "
            "works for hz-fg, which is under hz-jw") in refused.err
    assert "--override REASON" in refused.err
    assert snapshot(pool) == before

    done = cli("experts", "assign", "王强", "--finding", str(fid), "--role", "evaluator",
               "--override", "唯一具备工控取证能力的专家，经处长批准", db_url=pool.db)
    assert done.code == 0, done.err
    assert "Conflict overridden" in done.err
    with read_session(pool) as session:
        stored = session.exec(select(Assignment)).one()
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "experts.assigned")).one()
    assert stored.override_reason == "唯一具备工控取证能力的专家，经处长批准"
    payload = json.loads(event.payload)
    assert payload["overridden"] == [
        "conflict of interest: works for hz-fg, which is under hz-jw"]
    assert payload["finding"] == fid

    twice = cli("experts", "assign", "王强", "--finding", str(fid), "--role", "evaluator",
                "--override", "again", db_url=pool.db)
    assert twice.code == 1 and "王强 is already evaluator on finding" in twice.err


def test_assigning_to_a_drill_uses_the_run_unit(sqlite_pool: Settings, cli: CliRunner) -> None:
    from garrison.models import DrillRun, DrillState

    with write_session(sqlite_pool) as session:
        from garrison.org.queries import get_unit

        unit = get_unit(session, "hz-jw")
        assert unit.id is not None
        run = DrillRun(playbook_id="p", playbook_title="t", playbook_sha256="0" * 64,
                       playbook_source="", unit_id=unit.id, clock_mode="step",
                       state=DrillState.done, actor="setup", anchor_wall=sqlite_pool.now(),
                       started_at=sqlite_pool.now())
        session.add(run)
        session.flush()
        run_id = run.id
    refused = cli("experts", "assign", "刘洋", "--drill", str(run_id), "--role", "referee",
                  db_url=sqlite_pool.db)
    assert refused.code == 1
    assert f"refused: 刘洋 cannot be referee on drill run #{run_id}" in refused.err
    ok = cli("experts", "assign", "李娜", "--drill", str(run_id), "--role", "referee",
             db_url=sqlite_pool.db)
    assert ok.code == 0, ok.err
    assert count(sqlite_pool, Assignment) == 1


def test_absent_and_retired_experts(sqlite_pool: Settings, cli: CliRunner) -> None:
    fid = finding_on(sqlite_pool, "nb-jw")
    cli("experts", "away", "李娜", "--from", "2020-01-01", "--to", "2099-01-01",
        "--reason", "借调", db_url=sqlite_pool.db)
    away = cli("experts", "assign", "李娜", "--finding", str(fid), "--role", "responder",
               db_url=sqlite_pool.db)
    assert away.code == 1
    assert "unavailable 2020-01-01" in away.err and "(借调)" in away.err
    retired = cli("experts", "assign", "周杰", "--finding", str(fid), "--role", "responder",
                  "--override", "x", db_url=sqlite_pool.db)
    assert retired.code == 1 and "expert #7 周杰 is retired" in retired.err
    neither = cli("experts", "assign", "张伟", "--role", "responder", db_url=sqlite_pool.db)
    assert neither.code == 1 and "give one of --finding ID or --drill RUN" in neither.err
    role = cli("experts", "assign", "张伟", "--finding", str(fid), "--role", "judge",
               db_url=sqlite_pool.db)
    assert role.code == 1 and "unknown role 'judge'" in role.err
