"""Helpers for scanner tests: runs, synthetic hosts, reading back changes and findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select

from garrison.db import read_session, write_session
from garrison.models import (
    Change,
    Finding,
    FindingEvent,
    RunKind,
    ScanRun,
    ScanStatus,
    Unit,
)
from garrison.settings import Settings
from scanner.inventory import BatchResult, Coverage, Ingestor
from scanner.nmap_xml import HostResult, PortRanges, PortResult
from scanner.rules import load_rules
from scanner.runs import finish, start_run

RULES = load_rules()[0]
TCP_TOP = Coverage(ports={"tcp": PortRanges.parse("1-10000")}, version_detection=True,
                   scripts=True)
QUICK = Coverage(ports={"tcp": PortRanges.parse("21-23,80,443,3306,6379")})


def port(number: int, name: str, product: str | None = None, version: str | None = None, *,
         state: str = "open", probed: bool = True, protocol: str = "tcp") -> PortResult:
    return PortResult(protocol, number, state, "syn-ack", name, product, version, None, None,
                      "probed" if probed else "table", (), ())


def host(address: str, *ports: PortResult, state: str = "up") -> HostResult:
    return HostResult(address, 4, state, "syn-ack", None, None, None, None, None, (),
                      tuple(ports), ())


def ingest(settings: Settings, hosts: Sequence[HostResult], covered: Iterable[str] = (), *,
           coverage: Coverage = TCP_TOP, unit: str = "hz-jw",
           now: datetime | None = None) -> tuple[int, BatchResult]:
    with write_session(settings) as session:
        u = session.exec(select(Unit).where(Unit.code == unit)).one()
        assert u.id is not None
        run = start_run(session, unit_id=u.id, unit_code=u.code, kind=RunKind.scan,
                        profile="test", targets=[], request={}, command="test",
                        actor="tester", now=now or settings.now())
        assert run.id is not None
        result = Ingestor(session, run_id=run.id, unit_id=u.id, unit_code=u.code, rules=RULES,
                          coverage=coverage, now=now or settings.now(),
                          actor="tester").ingest(hosts, covered)
        finish(session, run, status=ScanStatus.done, actor="tester", now=now or settings.now())
        return run.id, result


def changes(settings: Settings, run_id: int) -> list[tuple[str, str, str | None]]:
    with read_session(settings) as session:
        rows = session.exec(select(Change).where(Change.run_id == run_id)
                            .order_by(col(Change.id))).all()
        return [(c.kind.value, c.address, f"{c.protocol}/{c.port}" if c.port else None)
                for c in rows]


def findings(settings: Settings) -> dict[tuple[str, str | None, int | None], str]:
    """(rule, address, port) -> status."""
    with read_session(settings) as session:
        return {(f.rule_id, f.address, f.port): f.status.value
                for f in session.exec(select(Finding)).all()}


def history(settings: Settings, rule: str) -> list[tuple[str | None, str, str]]:
    with read_session(settings) as session:
        f = session.exec(select(Finding).where(Finding.rule_id == rule)).one()
        events = session.exec(select(FindingEvent).where(FindingEvent.finding_id == f.id)
                              .order_by(col(FindingEvent.id))).all()
        return [(e.from_status.value if e.from_status else None, e.to_status.value, e.actor)
                for e in events]


def run_status(settings: Settings, run_id: int) -> ScanRun:
    with read_session(settings) as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        return run
