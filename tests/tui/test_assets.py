"""The assets screen: the unit tree, the filters, the count line and the detail pane."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from garrison.db import read_session, write_session
from garrison.models import Asset, Service, Unit
from garrison.settings import Settings
from scanner.listing import AssetQuery
from scanner.queries import search_assets
from tests.tui.conftest import NOW, SCANNED, wait_workers
from tui.app import GarrisonApp
from tui.screens.assets import AssetsScreen

SEEN = datetime(2026, 11, 25, 4, 30, tzinfo=UTC)

#: Hosts added beside the fixture's 127.0.1.10 (hz-jw): unit, address, hostname, services
#: as (protocol, port, state, name, product, version).
MORE = [
    ("hz-cg", "127.0.16.5", "db.hzcg.example",
     [("tcp", 3306, "open", "mysql", "MySQL", "5.7.30")]),
    ("nb-jw", "127.0.2.20", "www.nbjw.example",
     [("tcp", 80, "open", "http", "Apache httpd", "2.4.6"),
      ("tcp", 22, "closed", "ssh", "OpenSSH", "8.0")]),
]


@pytest.fixture
def db(tui_db: Settings) -> Settings:
    """The fixture's scanned host, a host in hz-cg (under hz-jw) and one in nb-jw whose
    ssh port is closed."""
    with write_session(tui_db) as session:
        for code, address, hostname, services in MORE:
            unit = session.exec(select(Unit).where(Unit.code == code)).one()
            assert unit.id is not None
            asset = Asset(unit_id=unit.id, address=address, hostname=hostname,
                          first_seen=SEEN, last_seen=SEEN, last_observed=SEEN)
            session.add(asset)
            session.flush()
            assert asset.id is not None
            for protocol, port, state, name, product, version in services:
                session.add(Service(asset_id=asset.id, protocol=protocol, port=port,
                                    state=state, name=name, product=product, version=version,
                                    first_seen=SEEN, last_seen=SEEN))
    return tui_db


async def settle(app: GarrisonApp, pilot: Any) -> None:
    for _ in range(4):
        await wait_workers(app)
        await pilot.pause()


def screen_of(app: GarrisonApp) -> AssetsScreen:
    assert isinstance(app.screen, AssetsScreen)
    return app.screen


def table_rows(screen: AssetsScreen, table_id: str = "table") -> list[list[str]]:
    from textual.widgets import DataTable

    table = screen.query_one(f"#{table_id}", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def addresses(screen: AssetsScreen) -> list[str]:
    return [row[0] for row in table_rows(screen)]


def count_line(screen: AssetsScreen) -> str:
    from textual.widgets import Label

    return str(screen.query_one("#count", Label).content)


async def select_unit(app: GarrisonApp, pilot: Any, code: str | None) -> None:
    from textual.widgets import Tree

    screen = screen_of(app)
    node = screen.unit_node(code)
    assert node is not None, code
    screen._reveal(node)
    screen.query_one("#units", Tree).select_node(node)
    await settle(app, pilot)


async def type_into(app: GarrisonApp, pilot: Any, widget_id: str, text: str) -> None:
    from textual.widgets import Input

    field = screen_of(app).query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = ""
    await pilot.press(*text)
    await settle(app, pilot)


async def test_lists_every_asset_with_counts(db: Settings) -> None:
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert table_rows(screen) == [  # by unit code, then address
            ["127.0.16.5", "hz-cg", "db.hzcg.example", "up", "1", "0", "2026-11-25 12:30"],
            ["127.0.1.10", "hz-jw", "portal.hz.example", "up", "2", "1", "2026-09-30 14:30"],
            ["127.0.2.20", "nb-jw", "www.nbjw.example", "up", "1", "0", "2026-11-25 12:30"],
        ]
        assert count_line(screen) == "3 assets (every unit)"


async def test_tree_counts_assets_below_each_unit(db: Settings) -> None:
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        labels = {code: str(node.label) for code in ("hz-jw", "hz-cg", "nb-gjj", None)
                  if (node := screen.unit_node(code)) is not None}
        assert labels == {None: "All units 3", "hz-jw": "hz-jw 杭州市城乡建设委员会 2",
                          "hz-cg": "hz-cg 杭州市城市管理局 1",
                          "nb-gjj": "nb-gjj 宁波市住房公积金管理中心"}


async def test_selecting_a_unit_shows_it_and_its_sub_units(db: Settings) -> None:
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await select_unit(app, pilot, "hz-jw")
        screen = screen_of(app)
        assert addresses(screen) == ["127.0.16.5", "127.0.1.10"]  # hz-cg sorts first
        assert count_line(screen) == "2 assets (unit hz-jw and below)"
        await select_unit(app, pilot, "hz-cg")
        assert addresses(screen) == ["127.0.16.5"]
        await select_unit(app, pilot, "zj-xxzx")
        assert addresses(screen) == []
        assert count_line(screen) == "No asset matches (unit zj-xxzx and below)."
        await select_unit(app, pilot, None)
        assert len(addresses(screen)) == 3


async def test_enter_on_a_tree_node_selects_the_unit(db: Settings) -> None:
    from textual.widgets import Tree

    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        await pilot.press("u")
        tree = screen.query_one("#units", Tree)
        assert tree.has_focus
        node = screen.unit_node("nb-jw")
        assert node is not None
        tree.move_cursor(node)
        await pilot.press("enter")
        await settle(app, pilot)
        assert addresses(screen) == ["127.0.2.20"]
        assert node.is_expanded


async def test_text_filter_matches_open_services(db: Settings) -> None:
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        await pilot.press("slash")
        from textual.widgets import Input

        assert screen.query_one("#text", Input).has_focus
        await pilot.press("s", "s", "h")
        await settle(app, pilot)
        # 127.0.2.20 has an ssh port too, but closed
        assert addresses(screen) == ["127.0.1.10"]
        assert count_line(screen) == "1 asset (every unit · text 'ssh')"
        for text, expected in (("NGINX", ["127.0.1.10"]), ("hzcg", ["127.0.16.5"]),
                               ("127.0.2.", ["127.0.2.20"]), ("apache", ["127.0.2.20"]),
                               ("_", []), ("zzz", [])):
            await type_into(app, pilot, "text", text)
            assert addresses(screen) == expected, text


async def test_service_filter_by_port_or_name(db: Settings) -> None:
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        for service, expected in (("443", ["127.0.1.10"]), ("22", ["127.0.1.10"]),
                                  ("tcp/3306", ["127.0.16.5"]), ("3306/tcp", ["127.0.16.5"]),
                                  ("udp/3306", []),
                                  ("http", ["127.0.1.10", "127.0.2.20"]), ("my", ["127.0.16.5"])):
            await type_into(app, pilot, "service", service)
            assert addresses(screen) == expected, service
        await type_into(app, pilot, "service", "http")
        await select_unit(app, pilot, "hz-jw")
        assert addresses(screen) == ["127.0.1.10"]
        assert count_line(screen) == "1 asset (unit hz-jw and below · service 'http')"


async def test_detail_pane_shows_services_findings_changes(db: Settings) -> None:
    from textual.widgets import Static

    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        assert screen.detail is not None and screen.detail.address == "127.0.16.5"
        assert table_rows(screen, "services") == [["3306/tcp", "mysql", "MySQL 5.7.30"]]
        assert table_rows(screen, "asset-findings") == []
        assert table_rows(screen, "asset-changes") == []
        await pilot.press("down")
        await settle(app, pilot)
        assert screen.detail is not None and screen.detail.address == "127.0.1.10"
        assert table_rows(screen, "services") == [["22/tcp", "ssh", "OpenSSH 7.4"],
                                                  ["443/tcp", "http", "nginx 1.14.0"]]
        assert table_rows(screen, "asset-findings") == [
            ["1", "low", "open", "Outdated nginx (before 1.20)"]]
        assert table_rows(screen, "asset-changes") == [
            ["2026-09-30 14:30", "appeared · portal.hz.example · tcp/22 ssh, tcp/443 http"]]
        head = str(screen.query_one("#detail-head", Static).content)
        assert head.startswith("127.0.1.10 · portal.hz.example · unit hz-jw · up")
        await pilot.press("down")
        await settle(app, pilot)
        # the closed port is not a service of the host
        assert table_rows(screen, "services") == [["80/tcp", "http", "Apache httpd 2.4.6"]]
        await type_into(app, pilot, "text", "nothing-like-this")
        assert screen.detail is None
        assert table_rows(screen, "services") == []
        assert str(screen.query_one("#detail-head", Static).content) == "No asset selected."


async def test_large_results_are_cut_with_a_count(db: Settings) -> None:
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        screen.limit = 2
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert addresses(screen) == ["127.0.16.5", "127.0.1.10"]
        assert count_line(screen) == (
            "First 2 of 3 assets (every unit): narrow the filter to see the rest.")


async def test_palette_commands_focus_tree_and_filters(db: Settings) -> None:
    from textual.widgets import Input, Tree

    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        screen = screen_of(app)
        commands = {c.title: c.callback for c in screen.palette_commands()}
        commands["Assets: focus the unit tree"]()
        await pilot.pause()
        assert screen.query_one("#units", Tree).has_focus
        commands["Assets: focus the filter"]()
        await pilot.pause()
        assert screen.query_one("#text", Input).has_focus
        commands["Assets: focus the service filter"]()
        await pilot.pause()
        assert screen.query_one("#service", Input).has_focus
        await pilot.press("4", "4", "3")
        await settle(app, pilot)
        assert addresses(screen) == ["127.0.1.10"]
        commands["Assets: clear the filters"]()
        await settle(app, pilot)
        assert len(addresses(screen)) == 3


def test_search_assets_counts_past_the_limit(db: Settings) -> None:
    with read_session(db) as session:
        page = search_assets(session, AssetQuery(), limit=1)
        assert ([r.address for r in page.rows], page.total) == (["127.0.16.5"], 3)
        page = search_assets(session, AssetQuery(unit="hz-jw", text="OPENSSH"), limit=500)
        assert [(r.address, r.open_services, r.open_findings) for r in page.rows] == [
            ("127.0.1.10", 2, 1)]
        assert page.rows[0].last_seen == SCANNED
        page = search_assets(session, AssetQuery(text="%"), limit=500)
        assert (page.rows, page.total) == ([], 0)


async def test_a_gone_asset_shows_its_services_as_last_seen(db: Settings) -> None:
    from textual.widgets import Label

    from garrison.models import AssetState

    with write_session(db) as session:
        asset = session.exec(select(Asset).where(Asset.address == "127.0.1.10")).one()
        asset.state = AssetState.gone
    app = GarrisonApp(db, screen="assets", now=NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await select_unit(app, pilot, "hz-jw")
        screen = screen_of(app)
        assert table_rows(screen)[1][:5] == ["127.0.1.10", "hz-jw", "portal.hz.example", "gone",
                                             "2 last seen"]
        await pilot.press("down")
        await settle(app, pilot)
        assert str(screen.query_one("#services-title", Label).content) == \
            "Services when last seen"
        assert table_rows(screen, "services") == [["22/tcp", "ssh", "OpenSSH 7.4"],
                                                  ["443/tcp", "http", "nginx 1.14.0"]]
        await pilot.press("up")
        await settle(app, pilot)
        assert str(screen.query_one("#services-title", Label).content) == "Open services"
