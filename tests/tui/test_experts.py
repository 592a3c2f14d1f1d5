"""The experts screen, driven with Textual's pilot; the database is checked afterwards."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Label, Static

from expert_pool.assignments import assignments_of
from expert_pool.oncall import on_call, plan
from garrison.db import read_session, write_session
from garrison.models import Assignment, AssignmentRole, AuditEvent, Expert, Finding
from garrison.settings import Settings
from tests.tui.conftest import NOW, wait_workers
from tui.app import GarrisonApp
from tui.screens.experts import ExpertsScreen
from tui.widgets.role_prompt import OverridePrompt, RolePrompt
from tui.widgets.text_prompt import TextPrompt

SIZE = (160, 48)
PHONES = ("13812345678", "13987654321", "13700001111", "0571-87654321")
EMAILS = ("zhang.wei@example.org", "li.na@example.org", "wang.qiang@example.org",
          "liu.yang@example.org", "zhao.min@example.org", "zhou.jie@example.org")


async def settle(app: GarrisonApp, pilot: Pilot[None]) -> None:
    for _ in range(3):
        await wait_workers(app)
        await pilot.pause()


def expert_ids(settings: Settings) -> dict[str, int]:
    with read_session(settings) as session:
        return {name: eid for eid, name in session.exec(select(Expert.id, Expert.name))
                if eid is not None}


def finding_in(settings: Settings, title: str) -> int:
    with read_session(settings) as session:
        finding = session.exec(select(Finding).where(Finding.title == title)).one()
        assert finding.id is not None
        return finding.id


def row_keys(table: DataTable[object]) -> list[int]:
    return [int(str(row.key.value)) for row in table.ordered_rows]


def column(table: DataTable[object], key: str) -> list[str]:
    return [str(cell) for cell in table.get_column(key)]


def all_cells(table: DataTable[object]) -> list[str]:
    return [str(cell) for row in table.ordered_rows for cell in table.get_row(row.key)]


def screen_of(app: GarrisonApp) -> ExpertsScreen:
    screen = app.screen
    assert isinstance(screen, ExpertsScreen)
    return screen


async def run_match(app: GarrisonApp, pilot: Pilot[None], skills: str, unit: str = "",
                    city: str = "") -> None:
    screen = screen_of(app)
    screen.query_one("#m-skills", Input).value = skills
    screen.query_one("#m-unit", Input).value = unit
    screen.query_one("#m-city", Input).value = city
    screen.query_one("#m-skills", Input).focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def test_roster_filters_and_contacts_are_always_masked(tui_db: Settings) -> None:
    ids = expert_ids(tui_db)
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        roster = screen.query_one("#roster", DataTable)
        active = {ids[n] for n in ("张伟", "李娜", "王强", "刘洋", "陈静", "赵敏")}
        assert set(row_keys(roster)) == active  # 周杰 is retired
        cells = all_cells(roster)
        for secret in PHONES + EMAILS:
            assert all(secret not in cell for cell in cells), secret
        assert "138****5678" in cells and "z***@example.org" in cells

        # typed key by key: the half-typed "f", "fo" ... are not skills, "forensics:2" is
        screen.query_one("#skill", Input).focus()
        await pilot.press(*"forensics:2")
        await settle(app, pilot)
        assert set(row_keys(roster)) == {ids[n] for n in ("张伟", "李娜", "王强", "刘洋")}
        assert "forensics:3" in column(roster, "skills")[row_keys(roster).index(ids["张伟"])]

        screen.query_one("#skill", Input).value = ""
        screen.query_one("#city", Input).value = "宁波"
        await settle(app, pilot)
        assert row_keys(roster) == [ids["李娜"]]

        screen.query_one("#city", Input).value = ""
        commands = {c.title: c for c in screen.palette_commands()}
        assert commands["Experts: assign the highlighted expert to a finding"].help == "g"
        commands["Experts: include or hide retired experts"].callback()
        await settle(app, pilot)
        assert screen.query_one("#retired", Checkbox).value
        assert set(row_keys(roster)) == active | {ids["周杰"]}
        retired_row = roster.get_row(str(ids["周杰"]))
        assert "retired" in str(retired_row[-1])
        assert all("zhou.jie@example.org" not in str(cell) for cell in retired_row)

        # the detail pane shows the highlighted expert, masked too
        roster.move_cursor(row=row_keys(roster).index(ids["张伟"]))
        await pilot.pause()
        detail = screen.query_one("#detail-text", Static)
        rendered = str(detail.render())
        assert "13812345678" not in rendered and "zhang.wei@example.org" not in rendered


async def test_g_assigns_from_a_table_but_types_in_a_field(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        screen.query_one("#text", Input).focus()
        await pilot.press("g")
        await settle(app, pilot)
        assert screen.query_one("#text", Input).value == "g"
        assert app.screen is screen
        screen.query_one("#text", Input).value = ""
        screen.query_one("#roster", DataTable).focus()
        await settle(app, pilot)
        await pilot.press("g")  # the table's own g (first row) gives way on this screen
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)  # which finding? none is selected


async def test_bad_skill_in_the_filter_says_why_and_keeps_the_rows(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        roster = screen.query_one("#roster", DataTable)
        before = row_keys(roster)
        screen.query_one("#skill", Input).value = "forensics:7"
        await settle(app, pilot)
        assert row_keys(roster) == before
        assert "level '7' is not 1, 2 or 3" in str(screen.query_one("#count").render())


async def test_match_ranks_and_explains_the_excluded(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_match(app, pilot, "forensics:2", unit="hz-jw")
        screen = screen_of(app)
        ranked = screen.query_one("#matches", DataTable)
        excluded = screen.query_one("#excluded", DataTable)
        assert column(ranked, "name") == ["张伟", "李娜", "陈静"]
        assert column(ranked, "rank") == ["1", "2", "3"]
        assert column(ranked, "coverage")[0] == "100%"
        assert column(ranked, "coverage")[2].startswith("33%")
        assert column(ranked, "certs")[1] == "CISSP"  # OSCP expired in 2020
        reasons = dict(zip(column(excluded, "name"), column(excluded, "reasons"), strict=True))
        assert set(reasons) == {"王强", "刘洋"}
        assert reasons["刘洋"] == "conflict of interest: works for hz-jw, the unit under review"
        assert reasons["王强"] == ("conflict of interest: works for hz-fg, which is under "
                                  "hz-jw")
        assert all("138" not in cell for cell in all_cells(ranked) + all_cells(excluded))
        assert app.focused is ranked  # ready for g

        # a city first: 李娜 of Ningbo moves up
        await run_match(app, pilot, "forensics:2", unit="hz-jw", city="宁波")
        assert column(ranked, "name")[:2] == ["李娜", "张伟"]


async def test_a_bad_match_request_is_a_notification(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_match(app, pilot, "forensics:2", unit="hz-jw")
        ranked = screen_of(app).query_one("#matches", DataTable)
        await run_match(app, pilot, "forensix:2")
        await run_match(app, pilot, "forensics:2", unit="no-such-unit")
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("unknown skill 'forensix' (did you mean 'forensics'?)" in m for m in errors)
        assert any("no-such-unit" in m for m in errors)
        assert column(ranked, "name") == ["张伟", "李娜", "陈静"]  # the last good answer
        assert isinstance(app.screen, ExpertsScreen)


async def test_assign_the_matched_expert_to_the_selected_finding(tui_db: Settings) -> None:
    ids = expert_ids(tui_db)
    finding = finding_in(tui_db, "门户网站存在SQL注入")
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.selected_finding = finding
        await run_match(app, pilot, "forensics:2", unit="hz-jw")
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, RolePrompt)
        await pilot.press("down", "enter")  # referee, *evaluator*, responder
        await settle(app, pilot)
        screen = screen_of(app)
        roster = screen.query_one("#roster", DataTable)
        assert str(roster.get_cell(str(ids["张伟"]), "load")) == "1"
        ranked = screen.query_one("#matches", DataTable)
        assert str(ranked.get_cell(str(ids["张伟"]), "load")) == "1"
        assert column(ranked, "name") == ["李娜", "张伟", "陈静"]  # the match ran again
        assert any(f"张伟 is now evaluator on finding #{finding}" in n.message
                   for n in app._notifications)
    with read_session(tui_db) as session:
        done = assignments_of(session, ids["张伟"])
    assert len(done) == 1
    assert done[0].role is AssignmentRole.evaluator and done[0].finding_id == finding
    assert done[0].open and done[0].actor == tui_db.actor and done[0].override_reason is None


async def test_without_a_selected_finding_the_id_is_asked(tui_db: Settings) -> None:
    ids = expert_ids(tui_db)
    finding = finding_in(tui_db, "Redis exposed to the network")
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.selected_finding is None
        roster = screen_of(app).query_one("#roster", DataTable)
        roster.focus()
        roster.move_cursor(row=row_keys(roster).index(ids["李娜"]))
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"nope", "enter")
        await pilot.pause()
        assert any("'nope' is not a finding id" in n.message for n in app._notifications)
        await pilot.press("g")
        await pilot.pause()
        await pilot.press(*str(finding), "enter")
        await pilot.pause()
        assert isinstance(app.screen, RolePrompt)
        await pilot.press("enter")  # referee
        await settle(app, pilot)
    with read_session(tui_db) as session:
        done = assignments_of(session, ids["李娜"])
        rows = session.exec(select(Assignment)).all()
    assert [(a.role, a.finding_id) for a in done] == [(AssignmentRole.referee, finding)]
    assert len(rows) == 1


async def test_a_conflicted_assignment_is_refused_and_writes_nothing(tui_db: Settings) -> None:
    ids = expert_ids(tui_db)
    finding = finding_in(tui_db, "门户网站存在SQL注入")  # hz-jw, 刘洋's own unit
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.selected_finding = finding
        roster = screen_of(app).query_one("#roster", DataTable)
        roster.focus()
        roster.move_cursor(row=row_keys(roster).index(ids["刘洋"]))
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("enter")
        await settle(app, pilot)
        refusals = [n for n in app._notifications if n.severity == "error"]
        assert len(refusals) == 1
        assert refusals[0].title == "Refused"
        assert refusals[0].message.startswith(
            f"refused: 刘洋 cannot be referee on finding #{finding}: conflict of interest: "
            "works for hz-jw, the unit under review")
        assert "--override" not in refusals[0].message  # the CLI's words, not the screen's
        prompt = app.screen  # assign anyway? only with a reason
        assert isinstance(prompt, OverridePrompt)
        shown = " ".join(str(label.render()) for label in prompt.query(Label))
        assert "conflict of interest: works for hz-jw, the unit under review" in shown
        assert "--override" not in shown
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ExpertsScreen)
        assert str(roster.get_cell(str(ids["刘洋"]), "load")) == "0"
    with read_session(tui_db) as session:
        assert session.exec(select(Assignment)).all() == []


async def test_a_conflicted_assignment_is_overridden_with_a_reason_and_audited(
        tui_db: Settings) -> None:
    ids = expert_ids(tui_db)
    finding = finding_in(tui_db, "门户网站存在SQL注入")  # hz-jw; 王强 works for hz-fg under it
    reason = "唯一具备工控取证能力的专家，经处长批准"
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.selected_finding = finding
        roster = screen_of(app).query_one("#roster", DataTable)
        roster.focus()
        roster.move_cursor(row=row_keys(roster).index(ids["王强"]))
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("down", "enter")  # evaluator
        await settle(app, pilot)
        prompt = app.screen
        assert isinstance(prompt, OverridePrompt)
        await pilot.press("enter")  # no reason: refused on the spot, the prompt stays
        await pilot.pause()
        assert app.screen is prompt
        assert "an override needs a reason" in str(prompt.query_one("#error", Label).render())
        prompt.query_one("#reason", Input).value = reason
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ExpertsScreen)
        assigned = [n.message for n in app._notifications if n.title == "Assigned"]
        assert assigned == [f"王强 is now evaluator on finding #{finding} (assignment #1). "
                            f"Conflict overridden: {reason} (audited)."]
        assert str(roster.get_cell(str(ids["王强"]), "load")) == "1"
    with read_session(tui_db) as session:
        stored = session.exec(select(Assignment)).one()
        event = session.exec(select(AuditEvent).where(
            AuditEvent.action == "experts.assigned")).one()
    assert (stored.expert_id, stored.finding_id, stored.role) == (
        ids["王强"], finding, AssignmentRole.evaluator)
    assert stored.override_reason == reason and stored.actor == tui_db.actor
    payload = json.loads(event.payload)
    assert event.actor == tui_db.actor
    assert payload["override_reason"] == reason
    assert payload["overridden"] == ["conflict of interest: works for hz-fg, which is under "
                                     "hz-jw"]


async def test_on_call_now_follows_the_rotation(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="experts", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        panel = screen_of(app).query_one("#oncall", Static)
        assert "no on-call plan covers now" in str(panel.render())
        with write_session(tui_db) as session:
            plan(session, first_day=date(2026, 11, 30), last_day=date(2026, 12, 2),
                 per_shift=2, require=(), actor="tester", tz=tui_db.timezone, now=NOW)
        with read_session(tui_db) as session:
            shift = on_call(session, NOW)
            assert shift is not None
            expected = [(e.name, e.phone) for e in shift.experts]
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        shown = str(panel.render())
        assert len(expected) == 2
        for name, phone in expected:
            assert name in shown
            if phone:
                assert phone not in shown
        assert "2026-12-01 08:00 → 2026-12-01 20:00" in shown  # Asia/Shanghai
