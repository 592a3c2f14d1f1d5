"""``garrison scan list/show/diff/profiles/rules`` and ``garrison assets list/show``."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from garrison.settings import Settings
from scanner.scan import ScanRequest, plan_scan, run_scan
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import import_file
from tests.scanner.fakes import FakeScanner, nmap_xml


@pytest.fixture
def two_runs(settings: Settings) -> tuple[Settings, int, int]:
    """hz-jw scanned twice: .5 has ssh and redis, then redis closes and telnet opens."""
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    answers = [
        [("127.0.1.5", [(22, "ssh"), (6379, "redis")]), ("127.0.1.6", [])],
        [("127.0.1.5", [(22, "ssh"), (23, "telnet")]), ("127.0.1.6", [])],
    ]
    runs = []
    for hosts in answers:
        def answer(_targets: Sequence[str], hosts: list[tuple[str, list[tuple[int, str]]]]
                   = hosts) -> bytes:
            return nmap_xml(hosts, "22,23,6379")

        plan = plan_scan(settings, ScanRequest(unit="hz-jw", targets=["127.0.1.5-6"]))
        runs.append(run_scan(settings, plan, scanner=FakeScanner(answer)).run_id)
    return settings, runs[0], runs[1]


def test_scan_list_and_show(cli: CliRunner, two_runs: tuple[Settings, int, int]) -> None:
    settings, first, second = two_runs
    runs = json.loads(cli("scan", "list", "--json", db_url=settings.db).out)
    assert [(r["id"], r["status"], r["hosts_up"]) for r in runs] == [
        (second, "done", 2), (first, "done", 2)]
    assert runs[0]["counts"] == {"change.port_closed": 1, "change.port_opened": 1,
                                 "finding.fixed": 1, "finding.new": 1}
    shown = json.loads(cli("scan", "show", str(second), "--json", db_url=settings.db).out)
    assert shown["command"].startswith("fake-nmap ")
    assert sorted((c["kind"], c["port"]) for c in shown["changes"]) == [
        ("port_closed", 6379), ("port_opened", 23)]
    text = cli("scan", "show", str(second), db_url=settings.db)
    assert text.code == 0 and "port_opened" in text.out
    missing = cli("scan", "show", "999", db_url=settings.db)
    assert (missing.code, missing.err.splitlines()[0]) == (1, "error: no scan run 999")


def test_scan_diff(cli: CliRunner, two_runs: tuple[Settings, int, int]) -> None:
    settings, first, second = two_runs
    diff = json.loads(cli("scan", "diff", str(first), str(second), "--json",
                          db_url=settings.db).out)
    assert sorted((c["kind"], c["address"], c["port"]) for c in diff) == [
        ("port_closed", "127.0.1.5", 6379), ("port_opened", "127.0.1.5", 23)]
    none = cli("scan", "diff", str(second), str(second), db_url=settings.db)
    assert none.out.strip() == f"No changes between run {second} and run {second}."


def test_assets_list_and_show(cli: CliRunner, two_runs: tuple[Settings, int, int]) -> None:
    settings, _first, _second = two_runs
    assets = json.loads(cli("assets", "list", "--unit", "zj-jst", "--json",
                            db_url=settings.db).out)  # includes the sub-unit hz-jw
    assert [(a["unit"], a["address"], a["open_services"], a["open_findings"])
            for a in assets] == [("hz-jw", "127.0.1.5", 2, 1), ("hz-jw", "127.0.1.6", 0, 0)]
    (shown,) = json.loads(cli("assets", "show", "127.0.1.5", "--json", db_url=settings.db).out)
    assert [(s["port"], s["state"]) for s in shown["services"]] == [
        (22, "open"), (23, "open"), (6379, "closed")]
    assert {(f["rule"], f["status"]) for f in shown["findings"]} == {
        ("redis-exposed", "fixed"), ("telnet-exposed", "open")}
    text = cli("assets", "show", "127.0.1.5", db_url=settings.db)
    assert "telnet-exposed" not in text.out and "Telnet service exposed" in text.out
    nothing = cli("assets", "show", "127.0.1.99", db_url=settings.db)
    assert nothing.code == 1
    assert nothing.err.splitlines()[0] == "error: no asset with address 127.0.1.99 in the inventory"
    bad = cli("assets", "show", "not-an-ip", db_url=settings.db)
    assert bad.err.splitlines()[0] == "error: 'not-an-ip' is not an IP address"


def test_profiles_and_rules_listing(cli: CliRunner) -> None:
    profiles = json.loads(cli("scan", "profiles", "--json").out)
    assert [p["name"] for p in profiles] == ["discovery", "quick", "standard", "full",
                                            "udp-common"]
    udp = next(p for p in profiles if p["name"] == "udp-common")
    assert udp["unprivileged"] == "" and udp["root"].startswith("-sU -p 53,")
    rules = json.loads(cli("scan", "rules", "--json").out)
    assert len(rules) >= 15 and all(r["overrides"] is None for r in rules)


def test_unknown_profile_suggests(cli: CliRunner, settings: Settings) -> None:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    result = cli("scan", "run", "--unit", "hz-jw", "--profile", "quik", "--dry-run",
                 db_url=settings.db)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: unknown scan profile 'quik' (did you mean 'quick'?)",
        "Profiles: discovery, quick, standard, full, udp-common."]
