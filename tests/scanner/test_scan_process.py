"""The nmap processes a scan starts, and the packets it may send.

- nmap dies with Garrison, also when Garrison is killed with SIGKILL (no clean-up at
  all): before issue 11 a killed scan left nmap scanning on, orphaned.
- SYN or connect is chosen by what the process may do (CAP_NET_RAW), not by its uid:
  root in a container without the capability scanned with SYN and failed every run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from garrison.db import write_session
from garrison.models import Scope, Unit
from garrison.settings import Settings
from scanner.lab import LabServices, ServiceSpec
from scanner.privilege import CAP_NET_RAW, effective_capabilities, raw_sockets_allowed
from tests.conftest import FIXTURES
from tests.garrison.helpers import import_file
from tests.waiting import wait_for

GARRISON = str(Path(sys.executable).with_name("garrison"))
needs_nmap = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not raw_sockets_allowed(),
    reason="dropping CAP_NET_RAW needs root with the capability and setpriv (util-linux)")
DROP_RAW = ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"]


@pytest.fixture
def org(sqlite_settings: Settings) -> Settings:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    return sqlite_settings


def _nmaps_for(target: str) -> list[int]:
    """Processes running nmap with ``target`` on their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"nmap") for a in argv[:4]) and target.encode() in argv:
            found.append(int(entry.name))
    return found


@needs_nmap
def test_nmap_dies_when_garrison_is_killed(org: Settings) -> None:
    target = "127.0.77.0/24"  # hz-jw's scope is 127.0.1.0/24: widen it for this test
    with write_session(org) as session:
        unit = session.exec(select(Unit).where(Unit.code == "hz-jw")).one()
        session.add(Scope(unit_id=unit.id or 0, cidr=target, authorized_by="test",
                          created_at=org.now()))
    proc = subprocess.Popen([GARRISON, "--db", org.db, "scan", "run", "--unit", "hz-jw",
                             "--target", target, "--profile", "full", "--technique",
                             "connect", "--json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: bool(_nmaps_for(target)), timeout=30)
        nmaps = _nmaps_for(target)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 2
        while _nmaps_for(target) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _nmaps_for(target) == [], f"nmap {nmaps} outlived a killed Garrison"
    finally:
        for pid in _nmaps_for(target):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def test_the_capability_is_read_from_the_kernel(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t000001fffeffdfff\n", encoding="ascii")
    caps = effective_capabilities(status)
    assert caps is not None and not caps >> CAP_NET_RAW & 1  # bit 13 cleared
    status.write_text("Name:\tx\nCapEff:\t0000000000002000\n", encoding="ascii")
    assert effective_capabilities(status) == 1 << CAP_NET_RAW
    status.write_text("Name:\tx\n", encoding="ascii")
    assert effective_capabilities(status) is None


@needs_nmap
@needs_root
def test_root_without_cap_net_raw_scans_by_connect(org: Settings) -> None:
    spec = ServiceSpec("127.0.1.213", 22, "ssh", "7.4")
    with LabServices([spec]):
        done = subprocess.run([*DROP_RAW, GARRISON, "--db", org.db, "scan", "run", "--unit",
                               "hz-jw", "--target", "127.0.1.213", "--profile", "quick",
                               "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["technique"], report["status"], report["hosts_up"]) == ("connect", "done", 1)


@needs_nmap
@needs_root
def test_forcing_syn_without_the_capability_says_why(org: Settings) -> None:
    done = subprocess.run([*DROP_RAW, GARRISON, "--db", org.db, "scan", "run", "--unit",
                           "hz-jw", "--target", "127.0.1.213", "--technique", "syn"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: a SYN scan sends raw packets, which needs the CAP_NET_RAW capability; this "
        "process does not have it (user root)\n")
    assert "Use --technique connect" in done.stderr


@needs_nmap
@needs_root
def test_with_the_capability_the_default_is_syn(org: Settings) -> None:
    done = subprocess.run([GARRISON, "--db", org.db, "scan", "run", "--unit", "hz-jw",
                           "--target", "127.0.1.213", "--dry-run"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert " -sS " in done.stdout and "--unprivileged" not in done.stdout
