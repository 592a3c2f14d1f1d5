"""An import observes the network as of its file's own time: an older file is history.

Real nmap against a real MySQL-speaking listener on loopback, real files: a live scan
sees tcp/3306 open, then an nmap file from a month before (3306 closed) is imported.
Before the fix the import moved the finding "open -> fixed: tcp/3306 closed".
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from garrison.db import read_session
from garrison.models import Change, ScanRun, Service
from garrison.settings import Settings
from scanner.importer import import_xml
from scanner.lab import LabServices, ServiceSpec
from scanner.nmap_xml import PortRanges
from scanner.scan import ScanRequest, plan_scan, run_scan
from tests.conftest import FIXTURES, TEST_NOW, CliRunner
from tests.garrison.helpers import import_file
from tests.scanner.helpers import findings

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")

HOST = "127.0.1.212"
MYSQL = ServiceSpec(HOST, 3306, "mysql", "5.7.33")
SSH = ServiceSpec(HOST, 22, "ssh", "7.2p2 Ubuntu-4ubuntu2.10")


@pytest.fixture
def org(sqlite_settings: Settings) -> Settings:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    return sqlite_settings


def nmap_file(path: Path, when: datetime, *, mysql: bool) -> Path:
    """What nmap -sV wrote of HOST (ssh, and mysql if listening), as if run at ``when``."""
    specs = [SSH, MYSQL] if mysql else [SSH]
    with LabServices(specs):
        subprocess.run(["nmap", "-n", "-sT", "-sV", "-Pn", "-p", "22,3306", "-oX", str(path),
                        HOST], check=True, capture_output=True, timeout=120)
    return retime(path, when)


def retime(path: Path, when: datetime) -> Path:
    """Move every time in the file so that the scan starts at ``when`` (an old file)."""
    text = path.read_text(encoding="utf-8")
    start = int(re.search(r'<nmaprun [^>]*start="(\d+)"', text).group(1))  # type: ignore[union-attr]
    shift = int(when.timestamp()) - start
    text = re.sub(r'(start|starttime|endtime|time)="(\d+)"',
                  lambda m: f'{m.group(1)}="{int(m.group(2)) + shift}"', text)
    path.write_text(text, encoding="utf-8")
    return path


def live_scan(settings: Settings) -> int:
    with LabServices([SSH, MYSQL]):
        report = run_scan(settings, plan_scan(settings, ScanRequest(
            unit="hz-jw", targets=[HOST], profile="standard")))
    return report.run_id


def mysql_service(settings: Settings) -> tuple[str, datetime]:
    with read_session(settings) as session:
        svc = session.exec(select(Service).where(Service.port == 3306)).one()
        return svc.state, svc.last_seen


def test_an_older_file_is_history_and_moves_nothing(org: Settings, tmp_path: Path,
                                                     cli: CliRunner) -> None:
    month_ago = TEST_NOW - timedelta(days=30)
    older = nmap_file(tmp_path / "real-sV-lab.xml", month_ago, mysql=False)
    scan_run = live_scan(org)
    assert findings(org)[("mysql-exposed", HOST, 3306)] == "open"
    before = mysql_service(org)

    report = import_xml(org, path=older, unit_code="hz-jw")

    assert findings(org)[("mysql-exposed", HOST, 3306)] == "open"  # not "fixed"
    assert mysql_service(org) == before
    assert report.older_total == 1 and report.older[0]["address"] == HOST
    assert report.older[0]["newer_run"] == scan_run
    assert datetime.fromisoformat(report.observed_at or "") == month_ago
    with read_session(org) as session:
        history = session.exec(select(Change).where(Change.run_id == report.run_id)).all()
    assert [(c.kind.value, c.port, c.historical) for c in history] == [
        ("port_closed", 3306, True)]
    assert history[0].at.date() == month_ago.date()  # the file's time, not the import's
    # the run list goes by observation time: the old file's run comes before the scan
    listed = cli("scan", "list", "--json", db_url=org.db)
    assert [r["id"] for r in __import__("json").loads(listed.out)] == [scan_run, report.run_id]


def test_a_newer_file_still_moves_the_present(org: Settings, tmp_path: Path) -> None:
    live_scan(org)
    newer = nmap_file(tmp_path / "after.xml", TEST_NOW + timedelta(hours=6), mysql=False)
    report = import_xml(org, path=newer, unit_code="hz-jw")
    assert report.older_total == 0
    assert findings(org)[("mysql-exposed", HOST, 3306)] == "fixed"
    state, last_seen = mysql_service(org)
    assert state == "closed" and last_seen.date() == (TEST_NOW + timedelta(hours=6)).date()


def test_ports_no_later_run_looked_at_are_still_news(org: Settings, tmp_path: Path) -> None:
    """A later look at port 22 alone does not make an older file's 3306 history."""
    later = nmap_file(tmp_path / "later.xml", TEST_NOW, mysql=False)
    later.write_text(re.sub(r'services="[^"]*"', 'services="22"',
                            later.read_text(encoding="utf-8")), encoding="utf-8")
    import_xml(org, path=later, unit_code="hz-jw")  # covered tcp/22 only
    older = nmap_file(tmp_path / "older.xml", TEST_NOW - timedelta(days=3), mysql=True)
    report = import_xml(org, path=older, unit_code="hz-jw")
    assert report.older_total == 1  # port 22 is history ...
    assert mysql_service(org)[0] == "open"  # ... 3306 is news: nobody looked at it since
    assert findings(org)[("mysql-exposed", HOST, 3306)] == "open"


def test_runs_record_when_they_looked_and_what(org: Settings, tmp_path: Path) -> None:
    scan_run = live_scan(org)
    report = import_xml(org, path=nmap_file(tmp_path / "a.xml", TEST_NOW - timedelta(days=1),
                                            mysql=True), unit_code="hz-jw")
    with read_session(org) as session:
        runs = {r.id: r for r in session.exec(select(ScanRun).order_by(col(ScanRun.id)))}
    live, imported = runs[scan_run], runs[report.run_id]
    assert live.coverage["addresses"] == [f"{HOST}/32"]
    scanned = PortRanges.parse(live.coverage["ports"]["tcp"])
    assert 22 in scanned and 3306 in scanned and len(scanned) > 1000  # top 1000 + risky
    assert imported.coverage == {"addresses": [f"{HOST}/32"], "ports": {"tcp": "22,3306"}}
    assert imported.observed_at == (TEST_NOW - timedelta(days=1)).replace(microsecond=0)
    assert imported.observed_until is not None
    assert imported.observed_until >= imported.observed_at
    assert live.observed_at > imported.observed_at and live.started_at < imported.started_at
    assert imported.observed_at.tzinfo is UTC or imported.observed_at.utcoffset() == \
        timedelta(0)
