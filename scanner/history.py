"""Which later runs looked at an address, and at which ports: so that an older
observation (an nmap file from last month, imported today) is kept as history instead
of rewriting the present.

Every run records what it covered (``ScanRun.coverage``: the addresses and the ports
per protocol) and when it looked (``observed_at`` .. ``observed_until``). An
observation of address A at time t is *older* for port P when some other run of the
unit looked at A and P after t (a run whose observation ended after t, or is still
going, is taken to have). Such an observation never closes a port, marks an asset
gone, fixes or reopens a finding; it is stored as history (``Change.historical``).
Ports no later run looked at are still news and are applied as usual.

Runs recorded before coverage was kept (``coverage == {}``) cover nothing we can name;
for an asset a later run observed (``Asset.last_observed``) but no run with coverage
explains, every port counts as covered (``ALL_PORTS``): when in doubt, the present
stays put.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from garrison.matcher import ScopeMatcher
from garrison.models import ScanRun
from scanner.nmap_xml import PortRanges


class PortSet:
    """Ports per protocol; ``ALL_PORTS`` covers every port."""

    def __init__(self, ports: dict[str, PortRanges] | None) -> None:
        self.ports = ports  # None: all ports

    def covers(self, protocol: str, port: int) -> bool:
        if self.ports is None:
            return True
        ranges = self.ports.get(protocol)
        return ranges is not None and port in ranges

    @classmethod
    def union(cls, sets: Iterable[PortSet]) -> PortSet:
        merged: dict[str, list[tuple[int, int]]] = {}
        for s in sets:
            if s.ports is None:
                return ALL_PORTS
            for protocol, ranges in s.ports.items():
                merged.setdefault(protocol, []).extend(ranges.spans())
        return cls({p: PortRanges(spans) for p, spans in merged.items()})


ALL_PORTS = PortSet(None)


@dataclass(frozen=True)
class Newer:
    """The later observations of one address."""

    ports: PortSet
    newest: datetime
    run_id: int | None
    """The newest such run (None: only the asset's own record says so)."""
    runs: int


@dataclass(frozen=True)
class _Covering:
    run_id: int
    observed_until: datetime | None
    """The end of the run's observation (None: still observing)."""
    addresses: ScopeMatcher
    ports: PortSet

    def after(self, when: datetime) -> bool:
        """Could it have looked after ``when``? (A run still going could.)"""
        return self.observed_until is None or self.observed_until > when


def coverage_json(addresses: Sequence[str], ports: dict[str, PortRanges]) -> dict[str, Any]:
    """``ScanRun.coverage``: CIDRs (compacted) and port ranges as nmap writes them."""
    return {"addresses": compact(addresses),
            "ports": {protocol: str(ranges) for protocol, ranges in sorted(ports.items())}}


def compact_addresses(by_version: dict[int, list[int]]) -> list[str]:
    """Addresses given as integers (per IP version) as the fewest CIDRs: sorted and
    merged into runs first, so 65,536 hosts of a /16 cost a sort, not 65,536 set
    insertions (netaddr took 0.7 s for them)."""
    import ipaddress

    cidrs: list[str] = []
    for version in (4, 6):
        values = sorted(set(by_version.get(version, ())))
        start = prev = None
        for value in [*values, None]:
            if value is not None and prev is not None and value == prev + 1:
                prev = value
                continue
            if start is not None and prev is not None:
                first: Any = (ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address)
                cidrs.extend(str(n) for n in ipaddress.summarize_address_range(
                    first(start), first(prev)))
            start = prev = value
    return cidrs


def merge_coverage(old: dict[str, Any], addresses: Sequence[str],
                   ports: dict[str, PortRanges]) -> dict[str, Any]:
    """A run's coverage after one more batch (a live scan records it batch by batch)."""
    merged = {p: PortRanges.parse(text) for p, text in (old.get("ports") or {}).items()}
    for protocol, ranges in ports.items():
        spans = (merged[protocol].spans() if protocol in merged else []) + ranges.spans()
        merged[protocol] = PortRanges(spans)
    return coverage_json([*(old.get("addresses") or []), *addresses], merged)


def compact(addresses: Sequence[str]) -> list[str]:
    """Addresses and CIDRs as the fewest CIDRs (65,536 hosts of a /16: one)."""
    import netaddr

    return [str(c) for c in netaddr.IPSet(addresses).iter_cidrs()] if addresses else []


class NewerRuns:
    """The unit's runs that looked after a given time, with what they covered."""

    def __init__(self, runs: list[_Covering], now: datetime) -> None:
        self.now = now
        self.runs = sorted(runs, key=lambda r: r.observed_until or now)

    @classmethod
    def load(cls, session: Session, *, unit_id: int, after: datetime, exclude_run: int,
             now: datetime) -> NewerRuns:
        """Runs of the unit that may have looked after ``after`` (their observation ended
        later, or goes on)."""
        until = col(ScanRun.observed_until)
        rows = session.exec(select(ScanRun).where(
            col(ScanRun.unit_id) == unit_id, col(ScanRun.id) != exclude_run,
            until.is_(None) | (until > after))).all()
        runs = []
        for run in rows:
            cover = run.coverage or {}
            if not cover.get("addresses"):
                continue  # recorded before coverage was kept: only Asset.last_observed tells
            ports = PortSet({p: PortRanges.parse(t) for p, t in cover.get("ports", {}).items()})
            assert run.id is not None
            runs.append(_Covering(run.id, run.observed_until, ScopeMatcher(cover["addresses"]),
                                  ports))
        return cls(runs, now)

    def __bool__(self) -> bool:
        return bool(self.runs)

    def after(self, address: str, when: datetime) -> Newer | None:
        """The runs that covered ``address`` after ``when``; None if there are none."""
        hits = [r for r in self.runs
                if r.after(when) and r.addresses.match(address) is not None]
        if not hits:
            return None
        return Newer(PortSet.union(r.ports for r in hits), hits[-1].observed_until or self.now,
                     hits[-1].run_id, len(hits))
