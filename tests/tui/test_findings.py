"""The findings screen, driven with Textual's pilot; the database is checked afterwards."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import select
from textual.coordinate import Coordinate
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static

from garrison.db import read_session
from garrison.findings.listing import FindingFilter
from garrison.findings.queries import count_findings, finding_detail
from garrison.models import Finding, FindingStatus
from garrison.settings import Settings
from tests.garrison.helpers import POLICY
from tests.tui.conftest import NOW, settle, wait_workers
from tui.app import GarrisonApp
from tui.screens.findings import FindingsScreen
from tui.widgets.export_prompt import ExportPrompt
from tui.widgets.status_prompt import StatusPrompt
from tui.widgets.text_prompt import TextPrompt

SIZE = (170, 48)


def ids(app: GarrisonApp) -> list[int]:
    table = app.screen.query_one("#table", DataTable)
    return [int(str(table.coordinate_to_cell_key(Coordinate(r, 0)).row_key.value))
            for r in range(table.row_count)]


def title_of(settings: Settings, finding_id: int) -> Finding:
    with read_session(settings) as session:
        return finding_detail(session, finding_id, now=NOW).finding


async def test_opens_on_the_active_findings_with_the_first_in_detail(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        await wait_workers(app)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        with read_session(tui_db) as session:
            expected = count_findings(session, FindingFilter(
                statuses=(FindingStatus.open, FindingStatus.in_progress)), now=NOW)
        assert expected == 9  # 8 manual findings and the scan's nginx finding
        assert len(ids(app)) == expected
        assert f"{expected:,} of {expected:,} findings shown" in str(
            screen.query_one("#count", Label).render())
        detail = str(screen.query_one("#detail-text", Static).render())
        assert detail  # rendered
        assert app.selected_finding == ids(app)[0]


async def test_filters_narrow_the_table(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.press("slash")
        text = app.screen.query_one("#text", Input)
        assert app.focused is text
        await pilot.press(*"SQL")
        await wait_workers(app)
        await pilot.pause()
        with read_session(tui_db) as session:
            sql = session.exec(select(Finding).where(Finding.title == "门户网站存在SQL注入")).one()
        assert ids(app) == [sql.id]
        text.value = ""
        app.screen.query_one("#unit", Input).value = "hz-jw"
        await wait_workers(app)
        await pilot.pause()
        with read_session(tui_db) as session:
            units = {finding_detail(session, i, now=NOW).unit_code for i in ids(app)}
        assert units == {"hz-jw", "hz-cg", "hz-gjj"}  # hz-jw and the units under it
        app.screen.query_one("#severity", Select).value = "critical"
        await wait_workers(app)
        await pilot.pause()
        assert len(ids(app)) == 2
        app.screen.query_one("#unit", Input).value = "hz-jx"
        await wait_workers(app)
        await pilot.pause()
        assert "unknown unit 'hz-jx' (did you mean 'hz-jw'?)" in str(
            app.screen.query_one("#count", Label).render())
        assert ids(app) == []


async def test_overdue_and_sorting(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        screen.sort_by("severity")
        await wait_workers(app)
        await pilot.pause()
        severities = [screen.rows[i].severity.value for i in ids(app)]
        assert severities[:2] == ["critical", "critical"]
        assert severities[-1] == "info"
        screen.sort_by("severity")  # again: descending
        await wait_workers(app)
        await pilot.pause()
        assert screen.rows[ids(app)[0]].severity.value == "info"
        screen.query_one("#overdue", Checkbox).value = True
        await wait_workers(app)
        await pilot.pause()
        assert ids(app) and all(screen.rows[i].overdue for i in ids(app))


async def test_change_status_through_the_tui(tui_db: Settings) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        target = ids(app)[0]
        await pilot.press("s")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, StatusPrompt)
        prompt.query_one("#status", Select).value = FindingStatus.in_progress
        prompt.query_one("#reason", Input).value = "修复中"
        await pilot.click("#ok")
        await wait_workers(app)
        await pilot.pause()
        assert isinstance(app.screen, FindingsScreen)
    finding = title_of(tui_db, target)
    assert finding.status is FindingStatus.in_progress
    with read_session(tui_db) as session:
        events = finding_detail(session, target, now=NOW).events
    assert events[-1].to_status is FindingStatus.in_progress
    assert events[-1].note == "修复中" and events[-1].actor == "tester"


async def test_a_refused_transition_keeps_the_dialog_and_what_was_typed(
        tui_db: Settings) -> None:
    """The status prompt offers only the moves the lifecycle allows; a refused move brings
    the prompt back with the reason and approver typed and why, in words without a CLI
    flag; nothing changes."""
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        target = ids(app)[0]
        before = title_of(tui_db, target).status
        await pilot.press("s")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, StatusPrompt)
        offered = [value for _label, value in prompt.query_one("#status", Select)._options
                   if isinstance(value, FindingStatus)]
        assert offered == [FindingStatus.in_progress, FindingStatus.fixed,
                           FindingStatus.accepted_risk, FindingStatus.false_positive]
        prompt.query_one("#status", Select).value = FindingStatus.accepted_risk
        prompt.query_one("#reason", Input).value = "vendor patch in Q3"
        prompt.query_one("#approver", Input).value = "王强"
        prompt.query_one("#ok", Button).press()
        await wait_workers(app)
        await pilot.pause()
        again = app.screen
        assert isinstance(again, StatusPrompt)  # back, with what was typed
        assert again.query_one("#status", Select).value is FindingStatus.accepted_risk
        assert again.query_one("#reason", Input).value == "vendor patch in Q3"
        assert again.query_one("#approver", Input).value == "王强"
        error = str(again.query_one("#error", Label).render())
        assert error == ("accepting a risk needs a reason, an approver and an expiry date; "
                         "missing: an expiry date")
        messages = [n.message for n in app._notifications]
        assert error in messages and not any("--" in m for m in messages)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FindingsScreen)  # still running, no crash
    assert title_of(tui_db, target).status is before


async def test_assign_note_and_export(tui_db: Settings, tmp_path: Path) -> None:
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        target = ids(app)[0]
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        app.screen.query_one("#answer", Input).value = "王强"
        await pilot.press("enter")
        await wait_workers(app)
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "已通知厂商"
        await pilot.press("enter")
        await wait_workers(app)
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ExportPrompt)
        out = tmp_path / "open.csv"
        app.screen.query_one("#path", Input).value = str(out)
        app.screen.query_one("#ok", Button).press()
        await wait_workers(app)
        await pilot.pause()
    assert title_of(tui_db, target).owner == "王强"
    with read_session(tui_db) as session:
        notes = [e.note for e in finding_detail(session, target, now=NOW).events]
    assert "已通知厂商" in notes
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + 9
    assert (tmp_path / "open.csv.manifest.json").exists()


async def test_paging_loads_more_as_the_cursor_nears_the_end(tui_db: Settings) -> None:
    from garrison.db import write_session
    from garrison.findings.manual import add_manual
    from garrison.models import Severity

    with write_session(tui_db) as session:
        for i in range(230):
            add_manual(session, unit_code="ls-yl", title=f"bulk {i}", severity=Severity.low,
                       actor="setup", now=NOW, policy=POLICY)
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        assert len(ids(app)) == 100
        table = app.screen.query_one("#table", DataTable)
        table.move_cursor(row=95)
        await pilot.pause()
        await wait_workers(app)
        await pilot.pause()
        assert len(ids(app)) == 200
        assert len(set(ids(app))) == 200


async def test_the_screen_works_on_both_backends(settings: Settings) -> None:
    """The same flow on SQLite and on a real PostgreSQL server: the first page (quick
    path), a filter, a sort (ORM path) and a status change read back."""
    from tests.tui.conftest import build

    build(settings)
    app = GarrisonApp(settings, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        assert len(ids(app)) == 9 and screen.total == 9
        screen.query_one("#unit", Input).value = "hz-jw"
        await wait_workers(app)
        await pilot.pause()
        assert len(ids(app)) == 5
        screen.sort_by("severity")
        await wait_workers(app)
        await pilot.pause()
        first = ids(app)[0]
        assert screen.rows[first].severity.value == "critical"
        screen.query_one("#table", DataTable).move_cursor(row=0)
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#status", Select).value = FindingStatus.false_positive
        app.screen.query_one("#reason", Input).value = "测试环境"
        app.screen.query_one("#ok", Button).press()
        await wait_workers(app)
        await pilot.pause()
    assert title_of(settings, first).status is FindingStatus.false_positive


async def test_chinese_text_lines_up_in_the_table(tui_db: Settings) -> None:
    """Columns start at the same terminal cell whether the title before them is Chinese
    (two cells a character) or ASCII."""
    from rich.cells import cell_len

    from tests.tui.conftest import settle

    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#table", DataTable)
        lines = [table.render_line(y).text for y in range(1, 10)]
    starts = set()
    for line in lines:
        owner_at = max(line.find(" 陈静"), line.find(" 杨磊"), line.find(" 黄洋"),
                       line.find(" 朱明"), line.find(" 郭秀英"), line.find(" 许海燕"),
                       line.find(" 王强"))
        assert owner_at > 0, line
        starts.add(cell_len(line[:owner_at]))
    assert any(cell_len(ln) != len(ln) for ln in lines)  # some titles are Chinese
    assert len(starts) == 1, starts
    assert any("门户网站存在SQL注入" in ln for ln in lines)  # measured: not cut to the header


async def test_a_busy_database_keeps_the_note_and_retries(tui_db: Settings) -> None:
    """Another writer holds the database: the note is not lost, the app does not crash,
    the prompt comes back with the text, and confirming again saves it."""
    from tests.garrison.test_busy import write_lock_held

    settings = tui_db.model_copy(update={"lock_wait": 1.0})
    app = GarrisonApp(settings, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        target = ids(app)[0]
        with write_lock_held(tui_db, 30.0):
            await pilot.press("n")
            await pilot.pause()
            app.screen.query_one("#answer", Input).value = "已联系供应商，等待补丁"
            await pilot.press("enter")
            await wait_workers(app)
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)  # asked again ...
            assert app.screen.query_one("#answer", Input).value == "已联系供应商，等待补丁"
            warnings = [n.message for n in app._notifications if n.severity == "warning"]
            assert any(m.startswith("the database is busy") and "What you entered is kept"
                       in m for m in warnings), warnings
        await pilot.press("enter")  # the other writer is gone: confirm again
        await wait_workers(app)
        await pilot.pause()
        assert isinstance(app.screen, FindingsScreen)
    with read_session(tui_db) as session:
        notes = [e.note for e in finding_detail(session, target, now=NOW).events]
    assert notes.count("已联系供应商，等待补丁") == 1


# ------------------------------------------------------------ one action layer (issue 12)


async def test_three_notes_in_a_row_land_on_the_finding_the_cursor_is_on(
        tui_db: Settings) -> None:
    """After every write the table reloads with the cursor still on the finding acted
    on: three notes typed in a row with the keyboard all land on it."""
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        target = ids(app)[4]
        app.screen.query_one("#table", DataTable).move_cursor(row=4)
        await settle(pilot)
        for text in ("第一条", "second", "第三条"):
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*text)
            await pilot.press("enter")
            await settle(pilot)
            assert app.selected_finding == target
    with read_session(tui_db) as session:
        notes = [e.note for e in finding_detail(session, target, now=NOW).events]
        others = [e.note for fid in ids_of(tui_db) if fid != target
                  for e in finding_detail(session, fid, now=NOW).events]
    assert notes[-3:] == ["第一条", "second", "第三条"]
    assert not {"第一条", "second", "第三条"} & set(others)


def ids_of(settings: Settings) -> list[int]:
    with read_session(settings) as session:
        return [f.id for f in session.exec(select(Finding)).all() if f.id is not None]


async def test_an_export_from_the_tui_names_the_database_without_its_password(
        settings: Settings, tmp_path: Path) -> None:
    """The TUI's manifest names the database as the CLI's does (display-safe): on
    PostgreSQL the password never reaches the file."""
    import json

    from garrison.db import display_url
    from tests.tui.conftest import build

    build(settings)
    app = GarrisonApp(settings, screen="findings", now=NOW)
    out = tmp_path / "tui.csv"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#path", Input).value = str(out)
        app.screen.query_one("#ok", Button).press()
        await settle(pilot)
    manifest = json.loads((tmp_path / "tui.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"] == display_url(settings.db)
    password = make_url(settings.db).password
    if password:
        assert f":{password}@" not in json.dumps(manifest)


def _expired_acceptance(settings: Settings) -> int:
    """A finding whose risk acceptance ran out before ``NOW`` (accepted 40 days before
    it, for 30 days)."""
    from datetime import timedelta

    from garrison.db import write_session
    from garrison.findings.lifecycle import set_status
    from tests.garrison.helpers import MAX_ACCEPT, POLICY

    with read_session(settings) as session:
        target = session.exec(select(Finding.id).where(
            Finding.title == "门户网站存在SQL注入")).one()
    assert target is not None
    then = NOW - timedelta(days=40)
    with write_session(settings) as session:
        set_status(session, finding_id=target, status=FindingStatus.accepted_risk,
                   actor="setup", reason="补丁未发布", approver="王强",
                   until=(then + timedelta(days=30)).date(), now=then, policy=POLICY,
                   max_acceptance_days=MAX_ACCEPT)
    return target


async def test_the_tui_reopens_expired_acceptances_with_the_deployments_deadlines(
        tui_db: Settings) -> None:
    """Opening the findings screen reopens a risk acceptance past its date (as every CLI
    findings command does), and the reopened finding's deadline is the deployment's
    (GARRISON_SLA_DAYS: critical 3 days), not the built-in 7."""
    from datetime import timedelta

    target = _expired_acceptance(tui_db)
    assert title_of(tui_db, target).severity.value == "critical"
    deployment = tui_db.model_copy(update={"sla_days": {"critical": 3}})
    app = GarrisonApp(deployment, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert target in ids(app)
        messages = [n.message for n in app._notifications]
    assert f"Reopened 1 finding(s) whose risk acceptance expired: {target}" in messages
    finding = title_of(tui_db, target)
    assert finding.status is FindingStatus.open
    assert finding.due_at == NOW + timedelta(days=3)


async def test_a_note_from_the_tui_reopens_with_the_deployments_deadlines(
        tui_db: Settings) -> None:
    """The same through a write: the note's action reopens the expired acceptance first,
    with the deployment's policy (before, the TUI's note used the built-in one)."""
    from datetime import timedelta

    target = _expired_acceptance(tui_db)
    deployment = tui_db.model_copy(update={"sla_days": {"critical": 3}})
    app = GarrisonApp(deployment, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = ids(app).index(target)
        app.screen.query_one("#table", DataTable).move_cursor(row=row)
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "已复查"
        await pilot.press("enter")
        await settle(pilot)
    finding = title_of(tui_db, target)
    assert finding.status is FindingStatus.open
    assert finding.due_at == NOW + timedelta(days=3)


async def test_titles_that_look_like_markup_show_as_typed(tui_db: Settings) -> None:
    """A finding titled with Rich markup (``[/]`` crashed the screen with MarkupError,
    ``[bold]`` silently vanished) shows literally, in the table and in the detail."""
    from garrison.db import write_session
    from garrison.findings.manual import add_manual
    from garrison.models import Severity
    from tests.tui.conftest import settle

    titles = ("Admin panel [/] exposed", "[bold red]Weak[/] TLS on [link=x]portal")
    with write_session(tui_db) as session:
        for title in titles:
            add_manual(session, unit_code="hz-jw", title=title, severity=Severity.critical,
                       actor="setup", now=NOW, policy=POLICY)
    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#table", DataTable)
        text = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "Admin panel [/] exposed" in text
        assert "[bold red]Weak[/] TLS on" in text  # cut to the column, but literal
        for row in range(table.row_count):  # every row's detail renders
            table.move_cursor(row=row)
            await settle(pilot)
        detail = str(app.screen.query_one("#detail-text", Static).render())
        assert detail


async def test_words_typed_right_after_slash_land_in_the_filter(tui_db: Settings) -> None:
    """``/sql`` arriving in one burst (typed fast, or while the app was busy): Textual
    handed ``s``, ``q``, ``l`` to the table before the ordinary ``/`` binding ran on its
    way back up, and they were lost. ``/`` is a priority binding now; in an input it is
    still a character."""
    from textual import events

    app = GarrisonApp(tui_db, screen="findings", now=NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_workers(app)
        await pilot.pause()
        screen = app.screen
        assert type(app.focused).__name__ == "MeasuredTable"
        for key, char in [("slash", "/"), ("S", "S"), ("Q", "Q"), ("L", "L")]:
            app.post_message(events.Key(key, char))  # queued together, as tmux sends them
        await pilot.pause()
        await wait_workers(app)
        await pilot.pause()
        text = screen.query_one("#text", Input)
        assert app.focused is text
        assert text.value == "SQL"
        app.post_message(events.Key("slash", "/"))  # in the filter, "/" is text
        await pilot.pause()
        assert text.value == "SQL/"
