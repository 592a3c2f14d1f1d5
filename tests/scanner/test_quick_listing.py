"""The scanner's quick read path (``scanner.quick``) answers exactly as the ORM queries
do -- every filter, every page, the counts and the cursors -- or steps aside; on SQLite
and PostgreSQL. The CLI's output is the same bytes either way
(``test_quick_cli.py``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from garrison.db import read_session
from garrison.models.inventory import address_key as model_address_key
from garrison.settings import Settings
from scanner.listing import ASSET_STATES, AssetQuery, Page
from scanner.listing_sql import address_key, parse_cursor, parse_service
from scanner.queries import search_assets
from scanner.quick import quick_assets, quick_diff, quick_run, quick_runs
from scanner.run_queries import diff_runs, list_runs, run_changes
from tests.scanner.quick_data import Province, build_province

R = TypeVar("R")


@pytest.fixture
def province(settings: Settings) -> Province:
    return build_province(settings)


def walk(full: Callable[[Any], R], quick: Callable[[Any], R | None],
         page_of: Callable[[R], Page[Any]], cursor: Callable[[Any], Any],
         after: Any = None) -> tuple[int, int]:
    """Every page from ``after`` on, both ways, each the same. Returns the rows walked and
    the rows the first page said were left (its total less those before it)."""
    seen, left = 0, None
    while True:
        expected = full(after)
        answered = quick(after)
        assert answered is not None, f"the quick path stepped aside (after {after!r})"
        assert answered == expected
        page = page_of(expected)
        if left is None:
            left = page.total - page.before
        seen += len(page.rows)
        if not page.rows or not page.more:
            return seen, left
        after = cursor(page.rows[-1])


def same_assets(p: Province, q: AssetQuery, limit: int | None, after: str | None = None
                ) -> tuple[int, int]:
    with read_session(p.settings) as session:
        return walk(lambda a: search_assets(session, q, limit=limit, after=a),
                    lambda a: quick_assets(p.settings.db, q, limit=limit, after=a),
                    lambda page: page, lambda row: row.cursor, after)


ASSET_QUERIES = [
    AssetQuery(),
    AssetQuery(unit="hz-jw"),
    AssetQuery(unit="hz-cg"),
    AssetQuery(unit="zj-jst"),
    AssetQuery(unit="nb-cg"),
    *(AssetQuery(state=s) for s in ASSET_STATES),
    *(AssetQuery(service=s) for s in ("ssh", "SSH", "443", "tcp/22", "22/TCP", "22/udp",
                                      "udp/161", "http", "my_", "%", " tcp/22 ")),
    *(AssetQuery(text=t) for t in ("NGINX", "fd00::", "hz-cg-", "%", "_", "数据", "中间件",
                                   "數據庫", "宁波%_", "127.0.1.1", "'", " ssh ")),
    AssetQuery(unit="hz-jw", text="ssh", service="6379"),
    AssetQuery(unit="hz-jw", service="tcp/22", state="gone"),
    AssetQuery(unit="zj-jst", text="主机", state="down"),
]


@pytest.mark.parametrize("q", ASSET_QUERIES, ids=repr)
def test_every_asset_filter_pages_the_same_both_ways(province: Province, q: AssetQuery
                                                     ) -> None:
    everything = same_assets(province, q, None)
    assert same_assets(province, q, 2) == everything
    assert same_assets(province, q, 50) == everything


def test_the_filters_match_what_they_should(province: Province) -> None:
    """Not only the same answer both ways: the expected one (CJK, wildcards as text)."""
    def listed(q: AssetQuery) -> list[str]:
        page = quick_assets(province.settings.db, q, limit=None)
        assert page is not None
        return [r.cursor for r in page.rows]

    assert listed(AssetQuery(text="数据")) == ["hz-jw/127.0.3.1"]
    assert listed(AssetQuery(text="中间件")) == ["hz-jw/127.0.3.1"]
    assert listed(AssetQuery(text="宁波%_")) == ["nb-jw/fd00::3"]
    assert listed(AssetQuery(text="%")) == listed(AssetQuery(text="_")) == ["nb-jw/fd00::3"]
    assert listed(AssetQuery(unit="hz-jw", service="tcp/22", state="gone")) == [
        "hz-jw/127.0.1.9"]
    gone = quick_assets(province.settings.db, AssetQuery(state="gone"), limit=None)
    assert gone is not None
    assert [(r.address, r.hostname, r.open_services) for r in gone.rows] == [
        ("127.0.1.9", "hz-jw-127.0.1.9.example", 2), ("127.0.3.200", "數據庫-主機", 1)]


@pytest.mark.parametrize("after", ["hz-jw/127.0.1.3", "hz-cg/127.0.16.5", "hz-jw/fd00::10",
                                   "nb-jw/::1", " hz-jw/10.0.0.1 ", "zj-jst/0.0.0.0"])
def test_asset_pages_after_any_cursor(province: Province, after: str) -> None:
    """A cursor need not be a listed asset: its key still orders (and past the end, the
    page is empty but still counts what came before)."""
    for q in (AssetQuery(), AssetQuery(unit="hz-jw"), AssetQuery(service="ssh")):
        walked, left = same_assets(province, q, 3, after)
        assert walked == left


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit=st.sampled_from([None, "hz-jw", "hz-cg", "nb-jw", "zj-jst"]),
       text=st.sampled_from([None, "ssh", "NGINX", "%", "_", "主机", "127.0", "'", "fd00"]),
       service=st.sampled_from([None, "ssh", "443", "tcp/22", "22/udp", "http", "my_"]),
       state=st.sampled_from([None, *ASSET_STATES]),
       limit=st.integers(1, 5),
       after=st.sampled_from([None, "hz-jw/127.0.1.3", "hz-cg/127.0.16.5", "nb-jw/::1"]))
def test_any_asset_query_gives_the_same_answer_both_ways(
        province: Province, unit: str | None, text: str | None, service: str | None,
        state: str | None, limit: int, after: str | None) -> None:
    walked, left = same_assets(
        province, AssetQuery(unit=unit, text=text, service=service, state=state), limit, after)
    assert walked == left


# ---------------------------------------------------------------- runs and changes


@pytest.mark.parametrize("unit", [None, "hz-jw", "hz-cg", "zj-jst", "nb-jw"])
@pytest.mark.parametrize("limit", [1, 2, None])
def test_runs_page_the_same_both_ways(province: Province, unit: str | None,
                                      limit: int | None) -> None:
    db = province.settings.db
    with read_session(province.settings) as session:
        walk(lambda a: list_runs(session, unit_code=unit, limit=limit, after=a),
             lambda a: quick_runs(db, unit=unit, limit=limit, after=a),
             lambda page: page, lambda run: run.id)
        for run_id in province.ids.values():  # after a run outside the unit, too
            if run_id != province.ids.get("gone_finding"):
                assert (quick_runs(db, unit=unit, limit=limit, after=run_id)
                        == list_runs(session, unit_code=unit, limit=limit, after=run_id))


@pytest.mark.parametrize("run", ["run1", "run2", "run3", "imported", "interrupted"])
@pytest.mark.parametrize("limit", [1, 2, None])
def test_a_runs_changes_page_the_same_both_ways(province: Province, run: str,
                                                limit: int | None) -> None:
    run_id = province.ids[run]
    with read_session(province.settings) as session:
        walked, left = walk(
            lambda a: run_changes(session, run_id, limit=limit, after=a),
            lambda a: quick_run(province.settings.db, run_id, limit=limit, after=a),
            lambda shown: shown.page, lambda change: change.id)
    assert walked == left


def test_a_change_whose_asset_was_deleted_comes_last(province: Province) -> None:
    shown = quick_run(province.settings.db, province.ids["imported"], limit=None)
    assert shown is not None
    assert [(c.address, c.kind) for c in shown.page.rows] == [
        ("127.0.16.5", "service_changed"), ("127.0.16.5", "asset_appeared"),
        ("127.0.16.9", "asset_appeared")]
    assert shown.page.rows[0].after == {"product": "MySQL", "version": "8.0", "中文": "是"}
    assert (shown.run.source_file, shown.run.targets) == ("/tmp/扫描.xml", ["127.0.16.0/24"])


@pytest.mark.parametrize(("a", "b"), [("run1", "run2"), ("run2", "run3"), ("run3", "run2"),
                                      ("run1", "run3"), ("run3", "run3"),
                                      ("run2", "interrupted"), ("interrupted", "run1")])
@pytest.mark.parametrize("limit", [1, 3, None])
def test_a_diff_pages_the_same_both_ways(province: Province, a: str, b: str,
                                         limit: int | None) -> None:
    run_a, run_b = province.ids[a], province.ids[b]
    with read_session(province.settings) as session:
        walked, left = walk(
            lambda x: diff_runs(session, run_a, run_b, limit=limit, after=x),
            lambda x: quick_diff(province.settings.db, run_a, run_b, limit=limit, after=x),
            lambda d: d.page, lambda change: change.id)
    assert walked == left


# ---------------------------------------------------------------- stepping aside


def test_steps_aside_where_the_full_path_must_explain(province: Province) -> None:
    db, ids = province.settings.db, province.ids
    assert quick_assets(db, AssetQuery(unit="hz-jx"), limit=5) is None
    for after in ("hz-jw", "hz-jw/127.0.1", "/127.0.1.2", "hz-jx/127.0.1.2"):
        assert quick_assets(db, AssetQuery(), limit=5, after=after) is None
    assert quick_runs(db, unit="hz-jx", limit=5) is None
    assert quick_runs(db, unit=None, limit=5, after=99_999) is None
    assert quick_run(db, 99_999, limit=5) is None
    other = quick_run(db, ids["run2"], limit=1)
    assert other is not None
    assert quick_run(db, ids["run1"], limit=5, after=other.page.rows[0].id) is None
    assert quick_diff(db, ids["run1"], ids["imported"], limit=5) is None  # two units
    assert quick_diff(db, ids["run1"], 99_999, limit=5) is None


def _key_or_error(key: Callable[[str], bytes], text: str) -> bytes | str:
    try:
        return key(text)
    except ValueError:
        return "ValueError"


@pytest.mark.parametrize("text", [
    "127.0.0.1", "0.0.0.0", "255.255.255.255", "::", "::1", "fd00::10", "::ffff:127.0.0.1",
    "2001:db8::1", "127.0.0.01", "127.1", "hz-jw", "", "1.2.3.4.5", "fe80::1%eth0", " ::1"])
def test_address_keys_agree_with_the_model(text: str) -> None:
    """``--after``'s key is worked out without the model: it must be the stored one."""
    assert _key_or_error(address_key, text) == _key_or_error(model_address_key, text)


@given(st.ip_addresses())
def test_any_address_keys_as_the_model_does(ip: ipaddress.IPv4Address | ipaddress.IPv6Address
                                            ) -> None:
    assert address_key(ip.compressed) == model_address_key(ip.compressed)
    assert parse_cursor(f"hz-jw/{ip.compressed}") == ("hz-jw", model_address_key(ip.compressed))


@pytest.mark.parametrize(("text", "parsed"), [
    ("443", (443, None)), ("tcp/22", (22, "tcp")), ("22/TCP", (22, "tcp")),
    (" udp/161 ", (161, "udp")), ("ssh", None), ("tcp/", None), ("123456", None)])
def test_parse_service(text: str, parsed: tuple[int, str | None] | None) -> None:
    assert parse_service(text) == parsed
