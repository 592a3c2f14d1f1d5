"""A saved on-call plan against the roster as it is now, on SQLite and PostgreSQL:
``oncall show`` marks who went on leave or retired, ``oncall check`` lists every conflict
(exit 6), ``oncall repair`` refills exactly those places with the plan's rules and keeps
every other assignment, or says what is missing and changes nothing."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from expert_pool.oncall_check import span_text
from expert_pool.rotation import Person, Requirement, make_shifts, parse_pattern, plan_rotation
from garrison.db import read_session, write_session
from garrison.models import AuditEvent, Expert, OnCallShift
from garrison.settings import Settings
from tests.conftest import TEST_NOW, CliRunner
from tests.garrison.helpers import snapshot

TZ = "Asia/Shanghai"
FORENSICS2 = {1, 2, 3, 4}  # 张伟, 李娜, 王强, 刘洋
Rows = list[tuple[datetime, datetime, int]]


def rows(settings: Settings) -> Rows:
    with read_session(settings) as session:
        return sorted((r.starts, r.ends, r.expert_id) for r in session.exec(select(OnCallShift)))


def names(settings: Settings) -> dict[int, str]:
    with read_session(settings) as session:
        return {e.id or 0: e.name for e in session.exec(select(Expert))}


def plan(settings: Settings, cli: CliRunner, *args: str) -> Rows:
    result = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-07",
                 *args, db_url=settings.db)
    assert result.code == 0, result.err
    return rows(settings)


def shifts_of(expert: int, saved: Rows) -> list[tuple[datetime, datetime]]:
    return [(s, e) for s, e, who in saved if who == expert]


def local(day: int, hour: int) -> datetime:  # Asia/Shanghai is UTC+8
    return datetime(2026, 12, day, hour, tzinfo=UTC) - timedelta(hours=8)


def test_show_marks_who_went_on_leave_or_retired_after_the_plan(
        pool: Settings, cli: CliRunner) -> None:
    saved = plan(pool, cli, "--per-shift", "2")
    zhang = shifts_of(1, saved)[0]
    cli("experts", "away", "张伟", "--from", "2026-12-01", "--to", "2026-12-05", "--reason",
        "年假", db_url=pool.db)
    at = (zhang[0] + timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    crew = [who for s, _e, who in saved if s == zhang[0]]
    other = next(i for i in crew if i != 1)
    cli("experts", "retire", str(other), db_url=pool.db)
    text = cli("experts", "oncall", "show", "--at", at.replace("Z", "+00:00"), db_url=pool.db)
    assert text.code == 0, text.err
    assert "#1 张伟 · 浙江省网络安全协会 · 138****5678 · z***@example.org  ⚠ on leave " \
           "2026-12-01..2026-12-05 (年假)" in text.out
    assert f"#{other} {names(pool)[other]} " in text.out
    assert text.out.count("⚠ retired") == 1
    assert ("2 of them cannot take this shift any more: `garrison experts oncall check` "
            "lists the plan's conflicts, `garrison experts oncall repair` refills them."
            ) in text.out
    data = json.loads(cli("experts", "oncall", "show", "--at", at.replace("Z", "+00:00"),
                          "--json", db_url=pool.db).out)
    marks = {p["id"]: p["conflict"] for p in data["experts"]}
    assert marks[1]["kind"] == "leave" and marks[1]["leave"]["reason"] == "年假"
    assert marks[1]["text"] == "on leave 2026-12-01..2026-12-05 (年假)"
    assert marks[other] == {"kind": "retired", "text": "retired"}


def test_check_lists_every_conflict_and_exits_6(pool: Settings, cli: CliRunner,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # the output names the minute it checks from: the clock stands still for this test
    monkeypatch.setenv("GARRISON_CLOCK", f"fixed:{TEST_NOW.isoformat()}")
    saved = plan(pool, cli, "--per-shift", "2", "--require-skill", "forensics:2")
    clean = cli("experts", "oncall", "check", db_url=pool.db)
    assert clean.code == 0, clean.err
    assert ("Plan #1, 2026-12-01 08:00 to 2026-12-08 08:00: no conflicts in the shifts from "
            "2026-11-26 18:00 on.") in clean.out
    cli("experts", "away", "张伟", "--from", "2026-12-02", "--to", "2026-12-03", "--reason",
        "年假", db_url=pool.db)
    cli("experts", "retire", "赵敏", db_url=pool.db)  # 6
    cli("experts", "edit", "刘洋", "--skills", "web:2", db_url=pool.db)  # no forensics now
    leave = (local(2, 0), local(4, 0))
    expected = []
    for starts, ends in sorted({(s, e) for s, e, _w in saved}):
        crew = {w for s, _e, w in saved if s == starts}
        label = span_text(starts, ends, TZ)
        if 1 in crew and starts < leave[1] and ends > leave[0]:
            expected.append(f"  {label}  #1 张伟: on leave 2026-12-02..2026-12-03 (年假)")
        if 6 in crew:
            expected.append(f"  {label}  #6 赵敏: retired")
        if not crew & (FORENSICS2 - {4}):
            expected.append(f"  {label}  nobody on the shift holds forensics:2 now")
    assert expected
    result = cli("experts", "oncall", "check", db_url=pool.db)
    assert result.code == 6
    lines = result.out.splitlines()
    assert lines[0] == (f"Plan #1, 2026-12-01 08:00 to 2026-12-08 08:00: {len(expected)} "
                        "conflict(s) in the shifts from 2026-11-26 18:00 on:")
    assert lines[1:-1] == expected
    assert lines[-1] == ("`garrison experts oncall repair 1` refills these places (add "
                         "--dry-run to see how first).")
    as_json = cli("experts", "oncall", "check", "1", "--json", db_url=pool.db)
    assert as_json.code == 6
    data = json.loads(as_json.out)
    assert data["plan"] == 1 and len(data["conflicts"]) == len(expected)
    kinds = Counter(c["kind"] for c in data["conflicts"])
    assert set(kinds) <= {"leave", "retired", "skill"} and kinds["leave"] >= 1
    skill = [c for c in data["conflicts"] if c["kind"] == "skill"]
    assert all(c["missing"] == ["forensics:2"] and c["expert"] is None for c in skill)
    assert "phone" not in as_json.out and "@example" not in as_json.out


def test_repair_refills_exactly_the_affected_places(pool: Settings, cli: CliRunner) -> None:
    saved = plan(pool, cli, "--require-skill", "forensics:1")  # 张伟 ... 陈静 (1-5)
    cli("experts", "away", "张伟", "--from", "2026-12-02", "--to", "2026-12-03", "--reason",
        "年假", db_url=pool.db)
    cli("experts", "retire", "陈静", db_url=pool.db)
    leave = (local(2, 0), local(4, 0))

    def affected(row: tuple[datetime, datetime, int]) -> bool:
        starts, ends, who = row
        return who == 5 or (who == 1 and starts < leave[1] and ends > leave[0])

    gone = [r for r in saved if affected(r)]
    assert {w for _s, _e, w in gone} == {1, 5}
    before = snapshot(pool)
    dry = cli("experts", "oncall", "repair", "--dry-run", db_url=pool.db)
    assert dry.code == 0, dry.err
    assert f"Dry run: plan #1 would have {len(gone)} place(s) refilled:" in dry.out
    assert "Nothing was changed." in dry.out
    assert snapshot(pool) == before

    done = cli("experts", "oncall", "repair", db_url=pool.db)
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == f"Repaired plan #1: {len(gone)} place(s) refilled:"
    after = rows(pool)
    kept = [r for r in saved if not affected(r)]
    assert set(kept) <= set(after)  # every unaffected assignment stays
    new = sorted(set(after) - set(kept))
    assert len(after) == len(saved)
    assert [(s, e) for s, e, _w in new] == [(s, e) for s, e, _w in gone]
    who = names(pool)
    for (starts, ends, out), (_s, _e, into) in zip(gone, new, strict=True):
        why = ("retired" if out == 5 else "on leave 2026-12-02..2026-12-03 (年假)")
        assert (f"  {span_text(starts, ends, TZ)}  #{out} {who[out]} → #{into} {who[into]} "
                f"({why})") in lines
    _assert_rules(after, leave)
    with read_session(pool) as session:
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "experts.oncall_repaired")).one()
    payload = json.loads(event.payload)
    assert sorted((r["starts"], r["out"]["id"], r["in"]["id"]) for r in payload["replaced"]
                  ) == [(s.isoformat(), out, into)
                        for (s, _e, out), (_s, _e2, into) in zip(gone, new, strict=True)]
    assert {r["reason"] for r in payload["replaced"]} == {"leave", "retired"}
    again = cli("experts", "oncall", "check", db_url=pool.db)
    assert again.code == 0, again.out
    nothing = cli("experts", "oncall", "repair", db_url=pool.db)
    assert nothing.out.strip() == "Plan #1 has no conflicts: nothing to repair."


def _assert_rules(saved: Rows, leave: tuple[datetime, datetime]) -> None:
    by_shift: dict[datetime, set[int]] = defaultdict(set)
    for starts, _e, who in saved:
        by_shift[starts].add(who)
    assert len(by_shift) == 14
    assert all(len(crew) == 1 and crew <= {1, 2, 3, 4} for crew in by_shift.values())
    for starts, ends, who in saved:
        assert not (who == 1 and starts < leave[1] and ends > leave[0])
    by_person: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for starts, ends, who in saved:
        by_person[who].append((starts, ends))
    for spans in by_person.values():
        for (_s1, e1), (s2, _e2) in zip(sorted(spans), sorted(spans)[1:], strict=False):
            assert s2 - e1 >= timedelta(hours=8)


def test_the_refilled_places_go_to_the_least_loaded(pool: Settings, cli: CliRunner) -> None:
    saved = plan(pool, cli, "--min-rest", "0")
    assert sorted(Counter(w for _s, _e, w in saved).values()) == [2, 2, 2, 2, 3, 3]
    cli("experts", "retire", "张伟", db_url=pool.db)
    result = cli("experts", "oncall", "repair", db_url=pool.db)
    assert result.code == 0, result.err
    loads = Counter(w for _s, _e, w in rows(pool))
    assert 1 not in loads and sum(loads.values()) == 14
    assert max(loads.values()) - min(loads.values()) <= 1  # 14 over the five left: 2 or 3


def test_an_impossible_repair_says_what_is_missing_and_changes_nothing(
        pool: Settings, cli: CliRunner) -> None:
    plan(pool, cli, "--require-skill", "forensics:2", "--min-rest", "0")
    for who in ("张伟", "李娜", "王强", "刘洋"):
        cli("experts", "away", who, "--from", "2026-12-03 08:00", "--to", "2026-12-03 20:00",
            db_url=pool.db)
    before = snapshot(pool)
    result = cli("experts", "oncall", "repair", db_url=pool.db)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: shift 2026-12-03 08:00-20:00: nobody with forensics>=2 is free (on leave: "
        "张伟, 李娜, 王强, 刘洋)",
        "Nothing was changed. Free someone (`garrison experts back PERIOD`), add experts, or "
        "plan the period again with `garrison experts oncall plan ... --replace`."]
    assert snapshot(pool) == before


def test_too_little_rest_is_a_conflict_and_is_repaired(pool: Settings, cli: CliRunner) -> None:
    saved = plan(pool, cli)
    # a plan saved before the rest rule (or edited behind Garrison's back): the expert of
    # the first night also gets the next day
    night = next(r for r in saved if r[0] == local(1, 20))
    day = next(r for r in saved if r[0] == local(2, 8))
    with write_session(pool) as session:
        row = session.exec(select(OnCallShift).where(
            col(OnCallShift.starts) == day[0])).one()
        row.expert_id = night[2]
        session.add(row)
    result = cli("experts", "oncall", "check", db_url=pool.db)
    assert result.code == 6
    assert (f"  2026-12-02 08:00-20:00  #{night[2]} {names(pool)[night[2]]}: less than 8 h "
            "rest after their shift 2026-12-01 20:00-08:00") in result.out.splitlines()
    repaired = cli("experts", "oncall", "repair", db_url=pool.db)
    assert repaired.code == 0, repaired.err
    after = rows(pool)
    assert next(w for s, _e, w in after if s == local(2, 8)) != night[2]
    assert cli("experts", "oncall", "check", db_url=pool.db).code == 0


def test_a_new_plan_keeps_the_rest_after_the_plan_before(pool: Settings,
                                                          cli: CliRunner) -> None:
    for who in ("王强", "刘洋", "陈静", "赵敏"):
        cli("experts", "retire", who, db_url=pool.db)  # 张伟 and 李娜 are left
    first = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-01",
                db_url=pool.db)
    assert first.code == 0, first.err
    night = next(w for s, _e, w in rows(pool) if s == local(1, 20))
    # a seed with which 2026-12-02, planned on its own, would start with that night's expert
    shifts = make_shifts(local(2, 8).date(), local(2, 8).date(),
                         parse_pattern("08:00-20:00,20:00-08:00"), TZ)
    people = [Person(1, "张伟", {}), Person(2, "李娜", {})]
    seed = next(s for s in range(50) if plan_rotation(
        people, shifts, Requirement(rest=timedelta(hours=8)), seed=s).crew[0] == [night])
    second = cli("experts", "oncall", "plan", "--from", "2026-12-02", "--to", "2026-12-02",
                 "--seed", str(seed), db_url=pool.db)
    assert second.code == 0, second.err
    assert next(w for s, _e, w in rows(pool) if s == local(2, 8)) != night
    assert cli("experts", "oncall", "check", "2", db_url=pool.db).code == 0
    # made the old way (each plan on its own), the check finds it
    with write_session(pool) as session:
        for row in session.exec(select(OnCallShift).where(OnCallShift.plan_id == 2)):
            row.expert_id = night if row.starts == local(2, 8) else 3 - night
            session.add(row)
    late = cli("experts", "oncall", "check", "2", db_url=pool.db)
    assert late.code == 6
    assert late.out.splitlines()[1] == (
        f"  2026-12-02 08:00-20:00  #{night} {names(pool)[night]}: less than 8 h rest after "
        "their shift 2026-12-01 20:00-08:00")
