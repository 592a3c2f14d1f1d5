"""Real nmap against real listeners on loopback: inventory, changes, finding transitions."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlmodel import col, select

from garrison.db import read_session
from garrison.models import ScanRun, Service
from garrison.settings import Settings
from scanner.importer import import_xml
from scanner.lab import LabServices, ServiceSpec
from scanner.scan import ScanReport, ScanRequest, plan_scan, run_scan
from tests.conftest import FIXTURES
from tests.garrison.helpers import import_file
from tests.scanner.helpers import changes, findings, history

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")

HOST_A, HOST_B = "127.0.1.210", "127.0.1.211"  # not the demo's 127.0.1.10-11
SSH = ServiceSpec(HOST_A, 22, "ssh", "7.2p2 Ubuntu-4ubuntu2.10")
REDIS = ServiceSpec(HOST_A, 6379, "redis", "6.0.5")
TELNET = ServiceSpec(HOST_A, 23, "telnet")
ADMIN = ServiceSpec(HOST_B, 8080, "http", "1.14.0", {"title": "Admin login"})
FTP = ServiceSpec(HOST_B, 21, "ftp", "3.0.3", {"anonymous": "yes"})


@pytest.fixture
def org(sqlite_settings: Settings) -> Settings:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    return sqlite_settings


def scan(settings: Settings, profile: str = "standard") -> ScanReport:
    plan = plan_scan(settings, ScanRequest(unit="hz-jw", targets=[f"{HOST_A}-211"],
                                           profile=profile))
    return run_scan(settings, plan)


def services(settings: Settings) -> list[tuple[str, int, str, str | None, str | None,
                                               str | None]]:
    with read_session(settings) as session:
        return [(s.state, s.port, s.name or "", s.product, s.version,
                 " ".join(s.cpe) or None)
                for s in session.exec(select(Service).order_by(col(Service.port))).all()]


def run_with(specs: Sequence[ServiceSpec], settings: Settings, profile: str = "standard"
             ) -> ScanReport:
    with LabServices(specs):
        return scan(settings, profile)


def test_scans_find_services_then_record_changes_and_transitions(org: Settings) -> None:
    first = run_with([SSH, REDIS, ADMIN, FTP], org)
    assert (first.hosts_up, first.services) == (2, 4)
    assert services(org) == [
        ("open", 21, "ftp", "vsftpd", "3.0.3", "cpe:/a:vsftpd:vsftpd:3.0.3"),
        ("open", 22, "ssh", "OpenSSH", "7.2p2 Ubuntu 4ubuntu2.10",
         "cpe:/a:openbsd:openssh:7.2p2 cpe:/o:linux:linux_kernel"),  # every CPE kept
        ("open", 6379, "redis", "Redis key-value store", "6.0.5",
         "cpe:/a:redislabs:redis:6.0.5"),
        ("open", 8080, "http", "nginx", "1.14.0", "cpe:/a:igor_sysoev:nginx:1.14.0"),
    ]
    assert findings(org) == {
        ("ftp-cleartext", HOST_B, 21): "open",
        ("ftp-anonymous-login", HOST_B, 21): "open",  # from the ftp-anon script's output
        ("openssh-outdated", HOST_A, 22): "open",
        ("redis-exposed", HOST_A, 6379): "open",
        ("http-admin-cleartext", HOST_B, 8080): "open",
        ("nginx-outdated", HOST_B, 8080): "open",
    }
    # second look: redis closed, telnet opened
    second = run_with([SSH, TELNET, ADMIN, FTP], org)
    assert sorted(changes(org, second.run_id)) == [
        ("port_closed", HOST_A, "tcp/6379"),
        ("port_opened", HOST_A, "tcp/23"),
    ]
    state = findings(org)
    assert state[("redis-exposed", HOST_A, 6379)] == "fixed"
    assert state[("telnet-exposed", HOST_A, 23)] == "open"
    assert second.counts == {"change.port_closed": 1, "change.port_opened": 1,
                             "finding.fixed": 1, "finding.new": 1, "finding.seen": 5}
    # third look: redis is back -> the same finding is reopened, not duplicated
    third = run_with([SSH, TELNET, REDIS, ADMIN, FTP], org)
    assert changes(org, third.run_id) == [("port_opened", HOST_A, "tcp/6379")]
    assert findings(org)[("redis-exposed", HOST_A, 6379)] == "open"
    assert third.counts["finding.reopened"] == 1 and "finding.new" not in third.counts
    assert [h[:2] for h in history(org, "redis-exposed")] == [
        (None, "open"), ("open", "fixed"), ("fixed", "open")]


def test_version_change_is_recorded_and_fixes_the_version_finding(org: Settings) -> None:
    run_with([SSH], org)
    upgraded = ServiceSpec(HOST_A, 22, "ssh", "9.8p1")
    report = run_with([upgraded], org)
    assert changes(org, report.run_id) == [("service_changed", HOST_A, "tcp/22")]
    assert findings(org)[("openssh-outdated", HOST_A, 22)] == "fixed"


def test_real_nmap_xml_imports_like_a_scan(org: Settings, tmp_path: Path) -> None:
    """nmap run by hand with -oX, then imported: the same inventory as a Garrison scan."""
    import subprocess

    out = tmp_path / "scan.xml"
    with LabServices([SSH, REDIS, ADMIN]):
        subprocess.run(["nmap", "-n", "-sT", "-sV", "-Pn", "-p", "22,6379,8080",
                        "--script=http-title", "-oX", str(out), HOST_A, HOST_B, "127.0.9.9"],
                       check=True, capture_output=True, timeout=120)
    report = import_xml(org, path=out, unit_code="hz-jw")
    assert (report.hosts_read, report.hosts_stored, report.hosts_skipped) == (3, 2, 1)
    assert report.complete and report.nmap_version == "7.93"
    assert [s[:5] for s in services(org)] == [
        ("open", 22, "ssh", "OpenSSH", "7.2p2 Ubuntu 4ubuntu2.10"),
        ("open", 6379, "redis", "Redis key-value store", "6.0.5"),
        ("open", 8080, "http", "nginx", "1.14.0"),
    ]
    assert set(findings(org)) == {("openssh-outdated", HOST_A, 22),
                                  ("redis-exposed", HOST_A, 6379),
                                  ("http-admin-cleartext", HOST_B, 8080),
                                  ("nginx-outdated", HOST_B, 8080)}
    with read_session(org) as session:
        run = session.exec(select(ScanRun)).one()
    assert (run.kind.value, run.hosts_skipped, run.source_sha256) == (
        "import", 1, __import__("hashlib").sha256(out.read_bytes()).hexdigest())
