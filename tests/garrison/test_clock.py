"""The one clock: parsing GARRISON_CLOCK, and services that judge time by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from garrison.clock import (
    ClockError,
    FixedClock,
    ShiftedClock,
    SystemClock,
    clock_from_env,
    parse_clock,
)
from garrison.settings import Settings
from tests.conftest import TEST_NOW, CliRunner

AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def test_forms() -> None:
    assert isinstance(parse_clock("system"), SystemClock)
    assert isinstance(parse_clock(""), SystemClock)
    fixed = parse_clock("fixed:2026-11-26T09:00:00+08:00")
    assert fixed.now() == AT and fixed.now() == fixed.now()
    assert fixed.today("Asia/Shanghai").isoformat() == "2026-11-26"
    assert parse_clock("fixed:2026-11-26T23:30:00+00:00").today("Asia/Shanghai").isoformat() \
        == "2026-11-27"  # the local date, not UTC's
    running = parse_clock("from:2026-11-26T09:00:00+08:00")
    assert isinstance(running, ShiftedClock)
    assert timedelta(0) <= running.now() - AT < timedelta(seconds=5)
    shifted = parse_clock("offset:-86400")
    assert abs(SystemClock().now() - timedelta(days=1) - shifted.now()) < timedelta(seconds=5)
    assert parse_clock(fixed.describe()).now() == AT  # describe() round-trips


@pytest.mark.parametrize("text", ["bogus", "fixed:", "fixed:2026-13-01", "from:yesterday",
                                  "offset:abc", "offset:", "later:2026-01-01"])
def test_bad_forms_say_what_is_expected(text: str) -> None:
    with pytest.raises(ClockError) as err:
        parse_clock(text)
    assert str(err.value) == (
        f"GARRISON_CLOCK={text!r}: expected system, fixed:TIME, from:TIME (an ISO time such as "
        "2026-11-26T09:00:00+08:00) or offset:SECONDS")


def test_the_suite_runs_on_its_own_date() -> None:
    """conftest pins every process of the suite near TEST_NOW, whatever the system date."""
    now = clock_from_env().now()
    assert timedelta(0) <= now - TEST_NOW < timedelta(hours=6)
    assert timedelta(0) <= Settings().now() - TEST_NOW < timedelta(hours=6)


def test_settings_take_a_clock_object_or_text() -> None:
    assert Settings(clock=FixedClock(AT)).now() == AT
    assert Settings(clock="fixed:2026-11-26T01:00:00Z").now() == AT


def test_a_command_judges_overdue_by_the_clock(cli: CliRunner, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """The same finding is not overdue on the day it is due, and overdue a day later."""
    monkeypatch.setenv("GARRISON_CLOCK", "fixed:2026-11-01T01:00:00Z")
    assert cli("demo", "--org-only").code == 0
    added = cli("findings", "add", "--unit", "hz-jw", "--title", "弱口令", "--severity",
                "critical", "--json")
    assert added.code == 0 and '"due_at": "2026-11-08T01:00:00+00:00"' in added.out
    monkeypatch.setenv("GARRISON_CLOCK", "fixed:2026-11-08T00:59:00Z")
    assert cli("findings", "list", "--overdue").out == "No findings match.\n"
    monkeypatch.setenv("GARRISON_CLOCK", "fixed:2026-11-09T00:00:00Z")
    assert "弱口令" in cli("findings", "list", "--overdue").out
    monkeypatch.setenv("GARRISON_NO_QUICK", "1")  # the ORM path agrees with the quick one
    assert "弱口令" in cli("findings", "list", "--overdue").out
