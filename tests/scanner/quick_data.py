"""The listing tests' province (``listing_data``) and what the quick path must also read
right: CJK hostnames and products, an import run of a sub-unit with every column
filled (JSON before/after, a change whose asset was deleted), an interrupted run whose
error looks like markup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from garrison.db import write_session
from garrison.models import (
    Asset,
    AssetState,
    Change,
    ChangeKind,
    RunKind,
    ScanRun,
    ScanStatus,
    Service,
    Unit,
)
from garrison.settings import Settings
from tests.scanner.listing_data import SEEN, T1, T2, build

#: unit, address, hostname, state, open services as (protocol, port, name, product)
CJK_ASSETS = [
    ("hz-jw", "127.0.3.1", "杭州-数据中心-网关", AssetState.up,
     [("tcp", 443, "https", "中间件 网关"), ("tcp", 22, "ssh", "OpenSSH")]),
    ("hz-jw", "127.0.3.200", "數據庫-主機", AssetState.gone, [("tcp", 3306, "mysql", "MySQL")]),
    ("nb-jw", "fd00::3", "宁波%_主机", AssetState.down, []),
]


@dataclass
class Province:
    settings: Settings
    ids: dict[str, int]
    """run1..run3 (hz-jw, listing_data), imported (hz-cg), interrupted (hz-jw)."""


def build_province(settings: Settings) -> Province:
    ids = build(settings)
    with write_session(settings) as session:
        units = {u.code: u.id or 0 for u in session.exec(select(Unit)).all()}
        for code, address, hostname, state, services in CJK_ASSETS:
            asset = Asset(unit_id=units[code], address=address, hostname=hostname, state=state,
                          mac="00:11:22:33:44:55", os_guess="Linux 5.x 内核",
                          first_seen=SEEN, last_seen=SEEN + timedelta(hours=1),
                          last_observed=SEEN)
            session.add(asset)
            session.flush()
            for protocol, port, name, product in services:
                session.add(Service(asset_id=asset.id or 0, protocol=protocol, port=port,
                                    state="open", name=name, product=product, first_seen=SEEN,
                                    last_seen=SEEN))
        cg = session.exec(select(Asset).where(Asset.address == "127.0.16.5")).one()
        imported = ScanRun(
            unit_id=units["hz-cg"], kind=RunKind.import_, profile="import", technique="syn",
            targets=["127.0.16.0/24"], command="nmap -sS -oX 扫描.xml 127.0.16.0/24",
            actor="李娜", status=ScanStatus.done, started_at=SEEN,
            finished_at=SEEN + timedelta(minutes=5), observed_at=T1 + timedelta(days=2),
            observed_until=T1 + timedelta(days=2, minutes=3), hosts_total=256, hosts_done=256,
            hosts_up=2, hosts_skipped=3, services_seen=1, batches_total=1, batches_done=1,
            counts={"change.asset_appeared": 2, "change.service_changed": 1,
                    "finding.new": 1},
            nmap_version="7.94", source_file="/tmp/扫描.xml", source_sha256="ab" * 32)
        interrupted = ScanRun(
            unit_id=units["hz-jw"], kind=RunKind.scan, profile="quick", technique="connect",
            targets=["127.0.1.0/24"], command="nmap -sT 127.0.1.0/24", actor="tester",
            status=ScanStatus.interrupted, started_at=SEEN, observed_at=T2,
            finished_at=SEEN + timedelta(seconds=1), batches_total=4, batches_done=1,
            error="[red]interrupted[/red] by 王强")
        session.add_all([imported, interrupted])
        session.flush()
        ids["imported"], ids["interrupted"] = imported.id or 0, interrupted.id or 0
        at = T1 + timedelta(days=2)
        session.add_all([
            Change(run_id=imported.id or 0, unit_id=units["hz-cg"], asset_id=None,
                   kind=ChangeKind.asset_appeared, address="127.0.16.9", at=at,
                   after={"hostname": "已删除", "open": []}),
            Change(run_id=imported.id or 0, unit_id=units["hz-cg"], asset_id=cg.id,
                   kind=ChangeKind.service_changed, address=cg.address, protocol="tcp",
                   port=3306, at=at, before={"product": "MySQL", "version": "5.7"},
                   after={"product": "MySQL", "version": "8.0", "中文": "是"}),
            Change(run_id=imported.id or 0, unit_id=units["hz-cg"], asset_id=cg.id,
                   kind=ChangeKind.asset_appeared, address=cg.address, at=at,
                   after={"hostname": None, "open": ["tcp/3306 mysql"]}),
            Change(run_id=interrupted.id or 0, unit_id=units["hz-jw"], asset_id=None,
                   kind=ChangeKind.port_closed, address="127.0.1.7", protocol="tcp", port=21,
                   at=T2, before={"state": "open"}, after={"state": "closed"}),
        ])
    return Province(settings, ids)
