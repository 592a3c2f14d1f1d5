"""The ``discovery`` profile end to end: scapy ARP in a namespace lab, assets with MACs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import col, select

from garrison.db import read_session
from garrison.models import Asset
from garrison.settings import Settings
from scanner.scan import ScanRequest, plan_scan, run_scan
from tests.garrison.helpers import import_file
from tests.scanner.netlab import netlab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets and netns need root")

ORG = """units:
  - code: lab-unit
    name: 网络实验室
    level: unit
    officer: {name: 张伟}
    scopes: [{cidr: 10.213.7.0/24, authorized_by: LAB-1}]
"""


def test_discovery_scan_stores_each_lab_host_with_its_mac(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(ORG, encoding="utf-8")
    import_file(sqlite_settings, org)
    with netlab(3) as lab:
        plan = plan_scan(sqlite_settings, ScanRequest(unit="lab-unit", profile="discovery"))
        assert plan.technique == "arp/icmp/tcp-syn (scapy)"
        report = run_scan(sqlite_settings, plan)
        lab.stop_host(lab.hosts[2][0])
        again = run_scan(sqlite_settings, plan_scan(
            sqlite_settings, ScanRequest(unit="lab-unit", profile="discovery")))
    assert (report.hosts_total, report.hosts_up) == (256, 3)
    assert again.hosts_up == 2
    with read_session(sqlite_settings) as session:
        assets = session.exec(select(Asset).order_by(col(Asset.address))).all()
    assert [(a.address, a.mac, a.state.value) for a in assets] == [
        (lab.hosts[0][0], lab.hosts[0][1], "up"),
        (lab.hosts[1][0], lab.hosts[1][1], "up"),
        (lab.hosts[2][0], lab.hosts[2][1], "down"),  # one covering miss: down, not yet gone
    ]
