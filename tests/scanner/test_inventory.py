"""Inventory, change detection and finding transitions (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from garrison.db import read_session, write_session
from garrison.findings.lifecycle import set_status
from garrison.models import Asset, AssetState, Finding, FindingStatus, Service
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.garrison.helpers import MAX_ACCEPT, POLICY, count, import_file
from tests.scanner.helpers import (
    QUICK,
    changes,
    findings,
    history,
    host,
    ingest,
    port,
)

SSH_OLD = port(22, "ssh", "OpenSSH", "7.2p2")
SSH_NEW = port(22, "ssh", "OpenSSH", "9.8p1")
REDIS = port(6379, "redis", "Redis key-value store", "6.0.5")
TELNET = port(23, "telnet", "Linux telnetd")
WEB = port(443, "https", "nginx", "1.24.0")


@pytest.fixture
def org(settings: Settings) -> Settings:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    return settings


def test_first_sight_records_assets_not_every_port(org: Settings) -> None:
    run, result = ingest(org, [host("127.0.1.10", SSH_OLD, REDIS), host("127.0.1.11", WEB)])
    assert changes(org, run) == [("asset_appeared", "127.0.1.10", None),
                                 ("asset_appeared", "127.0.1.11", None)]
    assert (result.hosts_up, result.services) == (2, 3)
    assert findings(org) == {("openssh-outdated", "127.0.1.10", 22): "open",
                             ("redis-exposed", "127.0.1.10", 6379): "open"}
    with read_session(org) as session:
        redis = session.exec(select(Finding).where(Finding.rule_id == "redis-exposed")).one()
        assert redis.owner == "李娜"  # hz-jw's responsible officer
        assert redis.severity.value == "critical"
        assert redis.due_at is not None and (redis.due_at - redis.first_seen).days == 7
        assert redis.evidence["product"] == "Redis key-value store"
    assert history(org, "redis-exposed") == [(None, "open", "scanner")]


def test_second_scan_opened_closed_changed_and_transitions(org: Settings) -> None:
    ingest(org, [host("127.0.1.10", SSH_OLD, REDIS)])
    # redis closed, telnet opened, ssh upgraded
    run, result = ingest(org, [host("127.0.1.10", SSH_NEW, TELNET)])
    assert sorted(changes(org, run)) == [
        ("port_closed", "127.0.1.10", "tcp/6379"),
        ("port_opened", "127.0.1.10", "tcp/23"),
        ("service_changed", "127.0.1.10", "tcp/22"),
    ]
    assert findings(org) == {
        ("openssh-outdated", "127.0.1.10", 22): "fixed",  # no longer matches (probed 9.8p1)
        ("redis-exposed", "127.0.1.10", 6379): "fixed",  # port closed, and it was covered
        ("telnet-exposed", "127.0.1.10", 23): "open",
    }
    assert dict(result.findings) == {"new": 1, "fixed": 2}
    assert history(org, "redis-exposed") == [(None, "open", "scanner"),
                                            ("open", "fixed", "scanner")]
    # redis is back: the fixed finding is reopened, not duplicated
    run3, result3 = ingest(org, [host("127.0.1.10", SSH_NEW, TELNET, REDIS)])
    assert changes(org, run3) == [("port_opened", "127.0.1.10", "tcp/6379")]
    assert findings(org)[("redis-exposed", "127.0.1.10", 6379)] == "open"
    assert dict(result3.findings) == {"reopened": 1, "seen": 1}
    assert count(org, Finding) == 3
    assert history(org, "redis-exposed")[-1] == ("fixed", "open", "scanner")


def test_a_scan_reopens_a_risk_acceptance_once_it_expired(org: Settings) -> None:
    start = org.now()
    ingest(org, [host("127.0.1.10", REDIS)], now=start)
    with write_session(org) as session:
        redis = session.exec(select(Finding).where(Finding.rule_id == "redis-exposed")).one()
        assert redis.id is not None
        set_status(session, finding_id=redis.id, status=FindingStatus.accepted_risk,
                   actor="tester", reason="isolated VLAN", approver="王强",
                   until=start.date() + timedelta(days=3), now=start,
                   policy=POLICY, max_acceptance_days=MAX_ACCEPT)
    _run, result = ingest(org, [host("127.0.1.10", REDIS)], now=start + timedelta(days=2))
    assert dict(result.findings) == {"seen": 1}
    assert findings(org)[("redis-exposed", "127.0.1.10", 6379)] == "accepted_risk"
    later = start + timedelta(days=5)
    _run, result = ingest(org, [host("127.0.1.10", REDIS)], now=later)
    assert dict(result.findings) == {"reopened": 1}
    assert findings(org)[("redis-exposed", "127.0.1.10", 6379)] == "open"
    assert history(org, "redis-exposed")[-1] == ("accepted_risk", "open", "scanner")
    with read_session(org) as session:
        redis = session.exec(select(Finding).where(Finding.rule_id == "redis-exposed")).one()
        assert (redis.accepted_until, redis.accepted_by) == (None, None)
        assert redis.due_at == later + timedelta(days=7)  # the clock restarted


def test_a_scan_judges_only_the_ports_it_covered(org: Settings) -> None:
    ingest(org, [host("127.0.1.10", SSH_OLD, port(8443, "https", "nginx", "1.24.0"))])
    run, _r = ingest(org, [host("127.0.1.10", port(22, "ssh", probed=False))], coverage=QUICK)
    assert changes(org, run) == []  # 8443 was not scanned: nothing said about it
    with read_session(org) as session:
        states = {s.port: s.state for s in session.exec(select(Service)).all()}
        ssh = session.exec(select(Service).where(Service.port == 22)).one()
    assert states == {22: "open", 8443: "open"}
    assert (ssh.product, ssh.version) == ("OpenSSH", "7.2p2")  # quick scan keeps what -sV knew
    # and a quick scan cannot say the old OpenSSH is fixed
    assert findings(org)[("openssh-outdated", "127.0.1.10", 22)] == "open"


def test_an_asset_is_gone_after_two_covering_misses(org: Settings) -> None:
    ingest(org, [host("127.0.1.10", SSH_OLD), host("127.0.1.12")])
    covered = ["127.0.1.10", "127.0.1.11", "127.0.1.12"]
    first, _ = ingest(org, [host("127.0.1.10", SSH_OLD)], covered)
    assert changes(org, first) == []  # one miss is not enough
    # a run that did not cover .12 does not count as a miss
    ingest(org, [host("127.0.1.10", SSH_OLD)], ["127.0.1.10"])
    second, _ = ingest(org, [host("127.0.1.10", SSH_OLD)], covered)
    assert changes(org, second) == [("asset_gone", "127.0.1.12", None)]
    with read_session(org) as session:
        gone = session.exec(select(Asset).where(Asset.address == "127.0.1.12")).one()
    assert (gone.state, gone.missed_runs) == (AssetState.gone, 2)
    back, _ = ingest(org, [host("127.0.1.12")], covered)
    assert changes(org, back) == [("asset_appeared", "127.0.1.12", None)]


def test_down_host_listed_by_nmap_counts_as_a_miss(org: Settings) -> None:
    ingest(org, [host("127.0.1.20", TELNET)])
    run, result = ingest(org, [host("127.0.1.20", state="down")])
    assert result.hosts_up == 0
    with read_session(org) as session:
        asset = session.exec(select(Asset).where(Asset.address == "127.0.1.20")).one()
    assert (asset.state, asset.missed_runs) == (AssetState.down, 1)
    assert findings(org)[("telnet-exposed", "127.0.1.20", 23)] == "open"  # a down host is not a fix
    assert changes(org, run) == []


def test_rescanning_the_same_thing_changes_nothing(org: Settings) -> None:
    ingest(org, [host("127.0.1.10", SSH_OLD, REDIS)])
    run, result = ingest(org, [host("127.0.1.10", SSH_OLD, REDIS)])
    assert changes(org, run) == []
    assert dict(result.findings) == {"seen": 2}
    assert count(org, Asset) == 1 and count(org, Service) == 2 and count(org, Finding) == 2
