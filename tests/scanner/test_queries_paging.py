"""The inventory and run-history queries: numeric address order, keyset pages that join
up, the filters, observation order; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from garrison.db import read_session
from garrison.errors import GarrisonError, NotFoundError
from garrison.models import AssetState
from garrison.models.inventory import address_key
from garrison.settings import Settings
from scanner.listing import AssetQuery
from scanner.paging import Page
from scanner.queries import search_assets
from scanner.run_queries import diff_runs, list_runs, run_changes
from tests.scanner.listing_data import HZ_ORDER, build


@pytest.fixture
def province(settings: Settings) -> tuple[Settings, dict[str, int]]:
    return settings, build(settings)


def test_address_key_orders_numerically_ipv4_before_ipv6() -> None:
    addresses = ["fd00::10", "127.0.0.100", "::1", "127.0.0.2", "fd00::2", "10.0.0.1",
                 "127.0.0.10", "2001:db8::1", "0.0.0.0", "255.255.255.255"]
    assert sorted(addresses, key=address_key) == [
        "0.0.0.0", "10.0.0.1", "127.0.0.2", "127.0.0.10", "127.0.0.100", "255.255.255.255",
        "::1", "2001:db8::1", "fd00::2", "fd00::10"]
    with pytest.raises(ValueError):
        address_key("hz-jw")


def test_assets_by_unit_then_numeric_address(province: tuple[Settings, dict[str, int]]
                                             ) -> None:
    settings, _ids = province
    with read_session(settings) as session:
        page = search_assets(session, AssetQuery(unit="hz-jw"), limit=None)
        everyone = search_assets(session, AssetQuery(), limit=None)
    assert [(r.unit, r.address) for r in page.rows] == HZ_ORDER
    assert (page.total, page.before, page.counts) == (10, 0, {"up": 8, "down": 1, "gone": 1})
    assert [(r.unit, r.address) for r in everyone.rows] == [*HZ_ORDER, ("nb-jw", "127.0.2.20")]


def _walk(fetch: Callable[[Any], Page[Any]], cursor: Callable[[Any], Any]
          ) -> tuple[list[Any], list[tuple[int, int, int]]]:
    """Every page from the first, each started after the previous page's last row."""
    rows: list[Any] = []
    spans: list[tuple[int, int, int]] = []
    after = None
    while True:
        page = fetch(after)
        if not page.rows:
            return rows, spans
        rows += page.rows
        spans.append((page.first, page.last, page.total))
        if not page.more:
            return rows, spans
        after = cursor(page.rows[-1])


@pytest.mark.parametrize("limit", [1, 3, 4])
def test_asset_pages_join_up_without_repeats(province: tuple[Settings, dict[str, int]],
                                             limit: int) -> None:
    settings, _ids = province
    with read_session(settings) as session:
        rows, spans = _walk(lambda after: search_assets(
            session, AssetQuery(unit="hz-jw"), limit=limit, after=after), lambda r: r.cursor)
    assert [(r.unit, r.address) for r in rows] == HZ_ORDER
    assert spans == [(first, min(first + limit - 1, 10), 10) for first in range(1, 11, limit)]


def test_a_page_after_the_end_is_empty_and_says_where_it_is(
        province: tuple[Settings, dict[str, int]]) -> None:
    settings, _ids = province
    with read_session(settings) as session:
        page = search_assets(session, AssetQuery(unit="hz-jw"), limit=5, after="hz-jw/fd00::10")
        middle = search_assets(session, AssetQuery(unit="hz-jw"), limit=2,
                               after="hz-jw/127.0.1.3")  # no such asset: the key still orders
    assert (page.rows, page.total, page.before, page.more) == ([], 10, 10, False)
    assert [r.address for r in middle.rows] == ["127.0.1.9", "127.0.1.10"]
    assert (middle.first, middle.last, middle.more) == (5, 6, True)


@pytest.mark.parametrize(("query", "expected"), [
    (AssetQuery(service="tcp/22"), [("hz-cg", "127.0.1.10"), ("hz-jw", "127.0.1.2"),
                                    ("hz-jw", "127.0.1.9"), ("nb-jw", "127.0.2.20")]),
    (AssetQuery(unit="hz-jw", service="22"), [("hz-cg", "127.0.1.10"), ("hz-jw", "127.0.1.2"),
                                              ("hz-jw", "127.0.1.9")]),
    (AssetQuery(service="22/udp"), []),
    (AssetQuery(service="udp/161"), [("hz-jw", "fd00::10")]),
    (AssetQuery(service="http"), [("hz-jw", "127.0.1.2"), ("hz-jw", "127.0.1.10")]),
    (AssetQuery(service="my_"), []),
    (AssetQuery(text="NGINX"), [("hz-jw", "127.0.1.2")]),
    (AssetQuery(text="fd00::"), [("hz-jw", "fd00::2"), ("hz-jw", "fd00::10")]),
    (AssetQuery(text="hz-cg-"), [("hz-cg", "127.0.1.10"), ("hz-cg", "127.0.16.5")]),
    (AssetQuery(text="%"), []),
    (AssetQuery(unit="hz-jw", text="ssh", service="6379"), [("hz-jw", "127.0.1.9")]),
    (AssetQuery(state=AssetState.gone), [("hz-jw", "127.0.1.9")]),
])
def test_asset_filters(province: tuple[Settings, dict[str, int]], query: AssetQuery,
                       expected: list[tuple[str, str]]) -> None:
    settings, _ids = province
    with read_session(settings) as session:
        page = search_assets(session, query, limit=None)
    assert [(r.unit, r.address) for r in page.rows] == expected
    assert page.total == len(expected)


@pytest.mark.parametrize(("after", "message"), [
    ("hz-jw", "--after 'hz-jw' is not UNIT/ADDRESS (e.g. hz-jw/127.0.0.50)"),
    ("hz-jw/127.0.1", "--after 'hz-jw/127.0.1' is not UNIT/ADDRESS (e.g. hz-jw/127.0.0.50)"),
    ("/127.0.1.2", "--after '/127.0.1.2' is not UNIT/ADDRESS (e.g. hz-jw/127.0.0.50)"),
    ("hz-jx/127.0.1.2", "unknown unit 'hz-jx' (did you mean 'hz-jw'?)"),
])
def test_bad_asset_cursor(province: tuple[Settings, dict[str, int]], after: str,
                          message: str) -> None:
    settings, _ids = province
    with read_session(settings) as session, pytest.raises(GarrisonError) as caught:
        search_assets(session, AssetQuery(), limit=5, after=after)
    assert caught.value.message == message


RUN1_BY_ADDRESS = [("127.0.1.2", 443), ("127.0.1.2", 22), ("127.0.1.10", 80),
                   ("127.0.1.10", 22), ("127.0.1.10", 8080), ("fd00::10", None)]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_run_changes_by_address_in_pages(province: tuple[Settings, dict[str, int]],
                                         limit: int) -> None:
    """Three changes share 127.0.1.10: a page may end among them and the next goes on
    with the rest, by change id."""
    settings, ids = province
    with read_session(settings) as session:
        rows, spans = _walk(lambda after: run_changes(
            session, ids["run1"], limit=limit, after=after).page, lambda c: c.id)
        counts = run_changes(session, ids["run1"], limit=1).page.counts
    assert [(c.address, c.port) for c in rows] == RUN1_BY_ADDRESS
    assert len({c.id for c in rows}) == 6 and spans[-1][1:] == (6, 6)
    assert counts == {"asset_appeared": 1, "port_closed": 1, "port_opened": 4}


def test_a_change_of_another_run_is_no_cursor(province: tuple[Settings, dict[str, int]]
                                              ) -> None:
    settings, ids = province
    with read_session(settings) as session:
        other = run_changes(session, ids["run2"], limit=1).page.rows[0].id
        with pytest.raises(GarrisonError) as caught:
            run_changes(session, ids["run1"], limit=2, after=other)
        with pytest.raises(NotFoundError) as missing:
            run_changes(session, 999, limit=2)
    assert caught.value.message == f"--after {other}: change {other} is not in this list"
    assert missing.value.message == "no scan run 999"


def test_runs_latest_observation_first(province: tuple[Settings, dict[str, int]]) -> None:
    """Run 2 was stored after run 1 but looked earlier; run 3 looked when run 1 did
    (ties: the later id first)."""
    settings, ids = province
    order = [ids["run3"], ids["run1"], ids["run2"]]
    with read_session(settings) as session:
        page = list_runs(session, unit_code="hz-jw", limit=None)
        rows, spans = _walk(lambda after: list_runs(session, unit_code=None, limit=1,
                                                    after=after), lambda r: r.id)
        nothing = list_runs(session, unit_code="nb-jw", limit=5)
    assert [r.id for r in page.rows] == order
    assert (page.total, page.counts) == (3, {"done": 3})
    assert [r.id for r in rows] == order and spans == [(1, 1, 3), (2, 2, 3), (3, 3, 3)]
    assert (nothing.rows, nothing.total) == ([], 0)


def test_diff_follows_observation_order(province: tuple[Settings, dict[str, int]]) -> None:
    """Run 2 looked first: after it come run 1 and run 3, whatever their ids."""
    settings, ids = province
    with read_session(settings) as session:
        forward = diff_runs(session, ids["run2"], ids["run3"], limit=None)
        backward = diff_runs(session, ids["run3"], ids["run2"], limit=None)
        only_run1 = diff_runs(session, ids["run2"], ids["run1"], limit=None)
        rows, _spans = _walk(lambda after: diff_runs(
            session, ids["run2"], ids["run3"], limit=2, after=after).page, lambda c: c.id)
    expected = [*RUN1_BY_ADDRESS[:2], ("127.0.1.9", None), *RUN1_BY_ADDRESS[2:]]
    assert [(c.address, c.port) for c in forward.page.rows] == expected
    assert [c.id for c in backward.page.rows] == [c.id for c in forward.page.rows]
    assert (forward.first.id, forward.last.id, forward.runs) == (ids["run2"], ids["run3"], 2)
    assert forward.page.counts == {"asset_appeared": 1, "asset_gone": 1, "port_closed": 1,
                                   "port_opened": 4}
    assert [c.run_id for c in only_run1.page.rows] == [ids["run1"]] * 6
    assert [c.id for c in rows] == [c.id for c in forward.page.rows]
