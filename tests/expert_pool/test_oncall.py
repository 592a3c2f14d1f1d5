"""On-call plans through the CLI: saved, shown, exported, refused; on both backends."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlmodel import col, select

from garrison.db import read_session
from garrison.models import AuditEvent, OnCallPlan, OnCallShift
from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.garrison.helpers import count, snapshot


def shifts(settings: Settings) -> list[OnCallShift]:
    with read_session(settings) as session:
        return list(session.exec(select(OnCallShift).order_by(col(OnCallShift.starts),
                                                              col(OnCallShift.expert_id))))


def test_plan_covers_every_shift_with_the_skill_and_respects_leave(
        pool: Settings, cli: CliRunner) -> None:
    cli("experts", "away", "张伟", "--from", "2026-12-02", "--to", "2026-12-03",
        db_url=pool.db)
    result = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-07",
                 "--per-shift", "2", "--require-skill", "forensics:2", db_url=pool.db)
    assert result.code == 0, result.err
    assert "Saved on-call plan #1: 14 shifts from 2026-12-01 to 2026-12-07, 2 per shift." \
        in result.out
    rows = shifts(pool)
    assert len(rows) == 28
    by_shift: dict[datetime, list[int]] = {}
    for row in rows:
        by_shift.setdefault(row.starts, []).append(row.expert_id)
    assert len(by_shift) == 14
    forensics2 = {1, 2, 3, 4}  # 张伟, 李娜, 王强, 刘洋
    for start, crew in by_shift.items():
        assert len(set(crew)) == 2
        assert forensics2 & set(crew), start
    # 张伟 is away 2026-12-02 00:00 to 2026-12-04 00:00 Asia/Shanghai
    away_from = datetime(2026, 12, 1, 16, tzinfo=UTC)
    away_to = datetime(2026, 12, 3, 16, tzinfo=UTC)
    for row in rows:
        if row.expert_id == 1:
            assert row.ends <= away_from or row.starts >= away_to
    assert 7 not in {r.expert_id for r in rows}  # 周杰 is retired
    first = min(by_shift)
    assert first == datetime(2026, 12, 1, 0, tzinfo=UTC)  # 08:00 in Hangzhou
    with read_session(pool) as session:
        plan = session.exec(select(OnCallPlan)).one()
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "experts.oncall_planned")).one()
    assert plan.request["require"] == ["forensics:2"]
    assert json.loads(event.payload)["shifts"] == 14


def test_without_skills_the_load_is_even(pool: Settings, cli: CliRunner) -> None:
    result = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-06",
                 "--shifts", "08:00-16:00,16:00-24:00,00:00-08:00", db_url=pool.db)
    assert result.code == 0, result.err
    loads = Counter(r.expert_id for r in shifts(pool))
    assert sum(loads.values()) == 18
    assert sorted(loads) == [1, 2, 3, 4, 5, 6]
    assert max(loads.values()) - min(loads.values()) == 0  # 18 shifts over 6 experts
    assert "Load: 3-3 shifts per expert (spread 0)" in result.out


def test_show_says_who_is_on_call(pool: Settings, cli: CliRunner) -> None:
    cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-02",
        db_url=pool.db)
    night = [r for r in shifts(pool) if r.starts == datetime(2026, 12, 1, 12, tzinfo=UTC)]
    assert len(night) == 1
    shown = cli("experts", "oncall", "show", "--at", "2026-12-02 03:00", "--json",
                db_url=pool.db)
    data = json.loads(shown.out)
    assert [p["id"] for p in data["experts"]] == [night[0].expert_id]
    assert data["starts"] == "2026-12-01T12:00:00+00:00"
    text = cli("experts", "oncall", "show", "--at", "2026-12-02 03:00", db_url=pool.db).out
    assert "On call 2026-12-01 20:00 to 2026-12-02 08:00 (plan #1):" in text
    for secret in ("13812345678", "zhang.wei@example.org", "13987654321"):
        assert secret not in shown.out + text
    gap = cli("experts", "oncall", "show", "--at", "2026-12-05 12:00", db_url=pool.db)
    assert gap.code == 1
    assert "Nobody is on call at 2026-12-05 12:00: no plan covers it." in gap.out


def test_ics_export(pool: Settings, cli: CliRunner, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-03",
        "--per-shift", "2", db_url=pool.db)
    path = tmp_path / "oncall.ics"
    result = cli("experts", "oncall", "export", "-o", str(path), db_url=pool.db)
    assert result.code == 0, result.err
    assert "Wrote 6 shift(s)" in result.out
    cal = Calendar.from_ical(path.read_bytes())
    events = list(cal.walk("VEVENT"))
    assert len(events) == 6
    first = sorted(events, key=lambda e: e.decoded("dtstart"))[0]
    assert first.decoded("dtstart") == datetime(2026, 12, 1, 0, tzinfo=UTC)
    assert first.decoded("dtend") == datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert str(first["summary"]).startswith("On call: ")
    assert len({str(e["uid"]) for e in events}) == 6
    assert b"@example.org" not in path.read_bytes()
    assert "ATTENDEE" not in path.read_text()

    refused = cli("experts", "oncall", "export", "-o", str(tmp_path / "x.ics"),
                  "--show-contacts", db_url=pool.db)
    assert refused.code == 1 and not (tmp_path / "x.ics").exists()
    monkeypatch.setenv("GARRISON_CONTACT_VIEWERS", '["tester"]')
    open_ = cli("experts", "oncall", "export", "-o", str(tmp_path / "y.ics"),
                "--show-contacts", db_url=pool.db)
    assert open_.code == 0, open_.err
    assert "ATTENDEE" in (tmp_path / "y.ics").read_text()
    with read_session(pool) as session:
        viewed = session.exec(select(AuditEvent).where(
            AuditEvent.action == "experts.contacts_viewed")).one()
    assert json.loads(viewed.payload)["where"] == f"oncall export:{tmp_path / 'y.ics'}"


def test_infeasible_requests_explain_and_save_nothing(pool: Settings, cli: CliRunner) -> None:
    before = snapshot(pool)
    many = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-02",
               "--per-shift", "9", db_url=pool.db)
    assert many.code == 1
    assert "9 people per shift needs at least 9 experts; the pool has 6 active experts" \
        in many.err
    crypto = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-02",
                 "--require-skill", "legal:3", db_url=pool.db)
    assert crypto.code == 1
    assert "nobody has legal at level 3 or above" in crypto.err
    assert "陈静 (level 2)" in crypto.err
    assert snapshot(pool) == before


def test_an_overlapping_plan_needs_replace(pool: Settings, cli: CliRunner) -> None:
    cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-07",
        db_url=pool.db)
    clash = cli("experts", "oncall", "plan", "--from", "2026-12-05", "--to", "2026-12-10",
                db_url=pool.db)
    assert clash.code == 1
    assert "on-call plan #1 already covers 2026-12-01 08:00 to 2026-12-08 08:00" in clash.err
    replaced = cli("experts", "oncall", "plan", "--from", "2026-12-05", "--to", "2026-12-10",
                   "--replace", db_url=pool.db)
    assert replaced.code == 0, replaced.err
    assert "Replaced plan(s): 1" in replaced.out
    assert count(pool, OnCallPlan) == 1
    assert len(shifts(pool)) == 12
    listed = json.loads(cli("experts", "oncall", "plans", "--json", db_url=pool.db).out)
    assert [p["id"] for p in listed] == [2]


def test_nobody_works_two_shifts_without_the_rest_between(pool: Settings,
                                                          cli: CliRunner) -> None:
    result = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-10",
                 "--per-shift", "2", "--require-skill", "forensics:2", db_url=pool.db)
    assert result.code == 0, result.err
    by_person: dict[int, list[OnCallShift]] = {}
    for row in shifts(pool):
        by_person.setdefault(row.expert_id, []).append(row)
    for rows in by_person.values():
        for before, after in zip(rows, rows[1:], strict=False):
            assert (after.starts - before.ends).total_seconds() >= 8 * 3600


def test_a_lone_skill_holder_cannot_cover_back_to_back_shifts(pool: Settings,
                                                              cli: CliRunner) -> None:
    before = snapshot(pool)
    result = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-02",
                 "--require-skill", "opinion:3", db_url=pool.db)
    assert result.code == 1
    assert ("shift 2026-12-01 20:00-08:00: nobody with opinion>=3 is free (on or resting "
            "from a nearby shift: 陈静)") in result.err
    assert snapshot(pool) == before
    # without the rest rule the one holder could take every shift
    ok = cli("experts", "oncall", "plan", "--from", "2026-12-01", "--to", "2026-12-02",
             "--require-skill", "opinion:3", "--min-rest", "0", db_url=pool.db)
    assert ok.code == 0, ok.err
    assert {r.expert_id for r in shifts(pool)} == {5}
