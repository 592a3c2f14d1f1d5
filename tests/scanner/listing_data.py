"""A small province for the listing tests: assets of hz-jw and its sub-unit hz-cg (IPv4
and IPv6, one address in both units, one asset down and one gone), and runs of hz-jw
whose observation order differs from the order they were stored in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from garrison.db import write_session
from garrison.findings.manual import add_manual
from garrison.models import (
    Asset,
    AssetState,
    Change,
    ChangeKind,
    RunKind,
    ScanRun,
    ScanStatus,
    Service,
    Severity,
    Unit,
)
from garrison.settings import Settings
from tests.garrison.helpers import POLICY, load_demo_org

SEEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
GONE_AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

Services = list[tuple[str, int, str, str, str | None]]
#: unit, address, state, services as (protocol, port, state, name, product)
ASSETS: list[tuple[str, str, AssetState, Services]] = [
    ("hz-jw", "127.0.1.100", AssetState.down, []),
    ("hz-jw", "fd00::10", AssetState.up, [("udp", 161, "open", "snmp", None)]),
    ("hz-jw", "127.0.1.2", AssetState.up, [("tcp", 22, "open", "ssh", "OpenSSH"),
                                            ("tcp", 443, "open", "https", "nginx")]),
    ("hz-cg", "127.0.1.10", AssetState.up, [("tcp", 22, "open", "ssh", "OpenSSH")]),
    ("hz-jw", "2001:db8::1", AssetState.up, []),
    ("hz-jw", "127.0.1.10", AssetState.up, [("tcp", 22, "closed", "ssh", "OpenSSH"),
                                             ("tcp", 80, "open", "http", "Apache httpd")]),
    ("hz-jw", "fd00::2", AssetState.up, []),
    ("hz-jw", "127.0.1.9", AssetState.gone, [("tcp", 6379, "open", "redis", "Redis"),
                                              ("tcp", 22, "open", "ssh", "OpenSSH")]),
    ("hz-cg", "127.0.16.5", AssetState.up, [("tcp", 3306, "open", "mysql", "MySQL")]),
    ("hz-jw", "10.0.0.1", AssetState.up, []),
    ("nb-jw", "127.0.2.20", AssetState.up, [("tcp", 22, "open", "ssh", "OpenSSH")]),
]
#: ``assets list --unit hz-jw``: by unit code, then address in numeric order, IPv4 first
HZ_ORDER = [("hz-cg", "127.0.1.10"), ("hz-cg", "127.0.16.5"), ("hz-jw", "10.0.0.1"),
            ("hz-jw", "127.0.1.2"), ("hz-jw", "127.0.1.9"), ("hz-jw", "127.0.1.10"),
            ("hz-jw", "127.0.1.100"), ("hz-jw", "2001:db8::1"), ("hz-jw", "fd00::2"),
            ("hz-jw", "fd00::10")]

T1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
#: Runs of hz-jw in the order they are stored (ids 1, 2, 3): the second is an import of
#: an older observation; the third looked at the same time as the first.
RUNS = [T2, T1, T2]
#: The changes each run recorded: (address, kind, port)
CHANGES: list[list[tuple[str, ChangeKind, int | None]]] = [
    [("127.0.1.10", ChangeKind.port_opened, 80), ("127.0.1.2", ChangeKind.port_opened, 443),
     ("127.0.1.10", ChangeKind.port_closed, 22), ("fd00::10", ChangeKind.asset_appeared, None),
     ("127.0.1.2", ChangeKind.port_opened, 22), ("127.0.1.10", ChangeKind.port_opened, 8080)],
    [("127.0.1.9", ChangeKind.asset_appeared, None)],
    [("127.0.1.9", ChangeKind.asset_gone, None)],
]


def build(settings: Settings) -> dict[str, int]:
    """Fill the database; returns the ids of the runs (``run1``..``run3``) and of the
    open finding on the gone asset (``gone_finding``)."""
    load_demo_org(settings)
    ids: dict[str, int] = {}
    with write_session(settings) as session:
        units = {u.code: u.id or 0 for u in session.exec(select(Unit)).all()}
        assets: dict[str, int] = {}
        for code, address, state, services in ASSETS:
            asset = Asset(unit_id=units[code], address=address, state=state,
                          hostname=f"{code}-{address}.example", first_seen=SEEN,
                          last_seen=SEEN, last_observed=GONE_AT)
            session.add(asset)
            session.flush()
            if code == "hz-jw":
                assets[address] = asset.id or 0
            for protocol, port, st, name, product in services:
                session.add(Service(asset_id=asset.id or 0, protocol=protocol, port=port,
                                    state=st, name=name, product=product, first_seen=SEEN,
                                    last_seen=SEEN))
        for n, (observed, changes) in enumerate(zip(RUNS, CHANGES, strict=True), start=1):
            run = ScanRun(unit_id=units["hz-jw"], kind=RunKind.scan, profile="test",
                          command="test", actor="tester", status=ScanStatus.done,
                          started_at=SEEN + timedelta(hours=n), observed_at=observed)
            session.add(run)
            session.flush()
            ids[f"run{n}"] = run.id or 0
            for address, kind, number in changes:
                at = GONE_AT if kind is ChangeKind.asset_gone else observed
                session.add(Change(run_id=run.id or 0, unit_id=units["hz-jw"],
                                   asset_id=assets[address], kind=kind, address=address,
                                   protocol="tcp" if number else None, port=number, at=at))
        for address in ("127.0.1.9", "127.0.1.2"):
            finding = add_manual(session, unit_code="hz-jw", title=f"Weak password on {address}",
                                 severity=Severity.high, actor="tester", address=address,
                                 now=settings.now(), policy=POLICY)
            ids.setdefault("gone_finding", finding.id or 0)
    return ids
