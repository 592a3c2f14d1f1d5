"""Store scan results: upsert assets and services, record changes, sync findings.

One call to ``Ingestor.ingest`` handles one batch of hosts inside the caller's
transaction, with set-based statements (a handful per batch, not per host), so a
crash between batches never leaves a half-written host and an import of 65,536
hosts takes seconds. What a port contributes (its row values, its rule outcomes,
its evidence) is worked out once per distinct port description and reused for
every host that shows the same service: the ``PortInfo`` cache.

Only what a batch covered is judged: an asset is "not seen" only when its address
was in the batch's coverage, a port is "closed" only when the run scanned it (the
ports in nmap's ``<scaninfo>``), and a finding is "fixed" only when its port was
scanned and found closed, or version detection saw the service and the rule no
longer matches.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from garrison.bulk import Bulk
from garrison.findings.sla import DEFAULT_POLICY, SlaPolicy
from garrison.findings.sync import (
    NewFindings,
    Observation,
    findings_on_assets,
    sync_findings,
)
from garrison.models import Asset, AssetState, Change, ChangeKind, FindingStatus, Service
from scanner.nmap_xml import HostResult, PortRanges, PortResult
from scanner.rules import Outcome, RuleSet, ServiceFacts

asset_t: sa.Table = Asset.__table__  # type: ignore[attr-defined]
service_t: sa.Table = Service.__table__  # type: ignore[attr-defined]
change_t: sa.Table = Change.__table__  # type: ignore[attr-defined]

OPEN_STATES = frozenset({"open"})
DEFAULT_MISSED_THRESHOLD = 2
_SERVICE_COLUMNS = ("state", "name", "product", "version", "extrainfo", "tunnel", "method",
                    "cpe", "scripts", "last_seen")
_ASSET_COLUMNS = ("unit_id", "address", "hostname", "mac", "vendor", "os_guess", "state",
                  "missed_runs", "first_seen", "last_seen", "last_observed")
_CHANGE_COLUMNS = ("run_id", "unit_id", "asset_id", "kind", "address", "protocol", "port",
                   "before", "after", "at")


@dataclass(frozen=True)
class Coverage:
    """What a run looked at, so absence can be judged only where it looked."""

    ports: dict[str, PortRanges] = field(default_factory=dict)
    """protocol -> ports scanned (empty for a host-discovery run)."""
    version_detection: bool = False
    scripts: bool = False

    def covers(self, protocol: str, port: int) -> bool:
        ranges = self.ports.get(protocol)
        return ranges is not None and port in ranges


@dataclass
class BatchResult:
    hosts: int = 0
    hosts_up: int = 0
    services: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)


class _AssetRow(NamedTuple):
    id: int
    address: str
    state: AssetState
    missed_runs: int


class _ServiceRow(NamedTuple):
    id: int
    asset_id: int
    protocol: str
    port: int
    state: str
    name: str | None
    product: str | None
    version: str | None
    tunnel: str | None
    method: str | None


class Match(NamedTuple):
    rule_id: str
    title: str
    severity: Any
    evidence: str


class PortInfo(NamedTuple):
    """Everything one port description contributes, computed once per run."""

    is_open: bool
    probed: bool
    """Version detection identified it (a silence then means something)."""
    values: tuple[Any, ...]
    """Row values for ``_SERVICE_COLUMNS``."""
    label: str
    facts: ServiceFacts
    outcomes: dict[str, Outcome]
    matches: tuple[Match, ...]


def normalise(address: str) -> str:
    return ipaddress.ip_address(address).compressed


def fingerprint(rule_id: str, unit_code: str, address: str, protocol: str | None,
                port: int | None) -> str:
    """The dedup key, readable: ``rule|unit|address|protocol/port``."""
    return f"{rule_id}|{unit_code}|{address}|{protocol or '-'}/{port if port is not None else '-'}"


def _label(p: PortResult | _ServiceRow) -> str:
    parts = [f"{p.protocol}/{p.port}", p.name or "?", p.product or "", p.version or ""]
    return " ".join(x for x in parts if x)


def _scripts_json(p: PortResult) -> str:
    if not p.scripts:
        return "{}"
    items = ", ".join(
        f'{json.dumps(s.id)}: {{"output": {json.dumps(s.output, ensure_ascii=False)}, '
        f'"data": {s.data_json or "null"}}}' for s in p.scripts)
    return "{" + items + "}"


class Ingestor:
    """Ingest batches of one run for one unit."""

    def __init__(self, session: Session, *, run_id: int, unit_id: int, unit_code: str,
                 rules: RuleSet, coverage: Coverage, now: datetime, actor: str,
                 policy: SlaPolicy = DEFAULT_POLICY,
                 missed_threshold: int = DEFAULT_MISSED_THRESHOLD) -> None:
        self.actor, self.policy = actor, policy
        self.session = session
        self.run_id, self.unit_id, self.unit_code = run_id, unit_id, unit_code
        self.rules, self.coverage, self.now = rules, coverage, now
        self.missed_threshold = missed_threshold
        self.context = f"run {run_id}"
        self.bulk = Bulk(session)
        self.stamp = self.bulk.ts(now)
        self._ports: dict[PortResult, PortInfo] = {}

    def ingest(self, hosts: Sequence[HostResult], covered: Iterable[str]) -> BatchResult:
        """Store one batch. Addresses must be normalised (``normalise`` or ScopeMatcher)
        and inside the unit's scopes; ``covered`` adds addresses the batch scanned that
        nmap did not list (absent from its output = not up)."""
        result = BatchResult(hosts=len(hosts))
        up = {h.address: h for h in hosts if h.state == "up" and h.address}
        covered_set = {h.address for h in hosts if h.address} | set(covered)  # down hosts too
        existing = self._existing_assets(covered_set)
        changes: list[tuple[Any, ...]] = []
        fresh = [h for a, h in up.items() if a not in existing]
        seen = [(existing[a], h) for a, h in up.items() if a in existing]
        new_ids = self._insert_assets(fresh)
        result.findings = self._first_sight(fresh, new_ids, changes, result)
        self._update_seen(seen, changes)
        self._mark_missed([row for a, row in existing.items() if a not in up], changes)
        result.findings += self._known(seen, changes, result)
        self.bulk.insert(change_t, _CHANGE_COLUMNS, changes)
        self.bulk.keep_statistics()
        result.hosts_up = len(up)
        result.changes = Counter(c[3] for c in changes)
        return result

    # ------------------------------------------------------------ ports

    def port_info(self, p: PortResult) -> PortInfo:
        info = self._ports.get(p)
        if info is None:
            info = self._port_info(p, None)
            if len(self._ports) < 200_000:
                self._ports[p] = info
        return info

    def _port_info(self, p: PortResult, prev: _ServiceRow | None) -> PortInfo:
        probed = p.method == "probed" or bool(p.product)
        name, product, version, tunnel = p.name, p.product, p.version, p.tunnel
        if not probed and prev is not None and prev.state in OPEN_STATES:
            # what an earlier version scan learnt still describes this open port
            name = prev.name or name
            product, version, tunnel = prev.product, prev.version, prev.tunnel
        scripts = tuple((s.id, s.output) for s in p.scripts) if self.coverage.scripts else None
        facts = ServiceFacts(p.protocol, p.port, name, product, version, tunnel, probed, scripts)
        values = (p.state, p.name, p.product, p.version, p.extrainfo, p.tunnel, p.method,
                  self.bulk.json(list(p.cpes), ("cpe", p.cpes)), _scripts_json(p), self.stamp)
        is_open = p.state in OPEN_STATES
        outcomes: dict[str, Outcome] = {}
        matches: list[Match] = []
        if is_open:
            evidence = self._evidence(facts, p)
            for rule, outcome in self.rules.evaluate(facts):
                outcomes[rule.id] = outcome
                if outcome is Outcome.yes:
                    matches.append(Match(rule.id, rule.title, rule.severity, evidence))
        return PortInfo(is_open, probed, values, _label(p), facts, outcomes, tuple(matches))

    def _evidence(self, facts: ServiceFacts, p: PortResult) -> str:
        evidence: dict[str, Any] = {"run": self.run_id, "service": facts.name}
        for key in ("product", "version", "tunnel"):
            if getattr(facts, key):
                evidence[key] = getattr(facts, key)
        if p.scripts:
            evidence["scripts"] = {s.id: s.output for s in p.scripts}
        return self.bulk.json(evidence)

    def _observations(self, address: str, asset_id: int, p: PortResult, info: PortInfo
                      ) -> Iterable[Observation]:
        for m in info.matches:
            yield Observation(fingerprint(m.rule_id, self.unit_code, address, p.protocol, p.port),
                              m.rule_id, m.title, m.severity, self.unit_id, asset_id, None,
                              address, p.protocol, p.port, m.evidence)

    # ------------------------------------------------------------ assets

    def _existing_assets(self, addresses: set[str]) -> dict[str, _AssetRow]:
        rows = self.bulk.lookup(asset_t, "address", sorted(addresses),
                                ("id", "state", "missed_runs"), where=("unit_id", self.unit_id))
        return {address: _AssetRow(aid, address, AssetState(state), missed)
                for address, aid, state, missed in rows}

    def _change(self, kind: ChangeKind, address: str, asset_id: int | None, *,
                protocol: str | None = None, port: int | None = None,
                before: dict[str, Any] | None = None,
                after: dict[str, Any] | None = None) -> tuple[Any, ...]:
        return (self.run_id, self.unit_id, asset_id, kind.value, address, protocol, port,
                None if before is None else self.bulk.json(before),
                None if after is None else self.bulk.json(after), self.stamp)

    def _insert_assets(self, hosts: list[HostResult]) -> dict[str, int]:
        if not hosts:
            return {}
        up = AssetState.up.value
        self.bulk.insert(asset_t, _ASSET_COLUMNS, [
            (self.unit_id, h.address, h.hostname, h.mac, h.vendor, h.os_guess, up, 0,
             self.stamp, self.stamp, self.stamp) for h in hosts])
        return {row.address: row.id for row in self._existing_assets(
            {h.address for h in hosts}).values()}

    def _first_sight(self, hosts: list[HostResult], ids: dict[str, int],
                     changes: list[tuple[Any, ...]], result: BatchResult) -> Counter[str]:
        """New assets: every open port is a new service, every match a new finding."""
        services: list[tuple[Any, ...]] = []
        findings = NewFindings(self.session, unit_id=self.unit_id, now=self.now,
                               context=self.context, policy=self.policy)
        appeared = ChangeKind.asset_appeared.value
        unit = self.unit_code
        for h in hosts:
            asset_id, address = ids[h.address], h.address
            labels = []
            for p in h.ports:
                info = self.port_info(p)
                if not info.is_open:
                    continue
                labels.append(info.label)
                services.append((asset_id, p.protocol, p.port, self.stamp, *info.values))
                for m in info.matches:
                    findings.add(fingerprint(m.rule_id, unit, address, p.protocol, p.port),
                                 m.rule_id, m.title, m.severity, asset_id, address,
                                 p.protocol, p.port, m.evidence)
            after = {"open": labels}
            key: Any = ("appeared", tuple(labels))
            for name, value in (("hostname", h.hostname), ("mac", h.mac), ("os", h.os_guess)):
                if value:
                    after[name], key = value, None  # type: ignore[assignment]
            changes.append((self.run_id, self.unit_id, asset_id, appeared, h.address, None, None,
                            None, self.bulk.json(after, key), self.stamp))
        self.bulk.insert(service_t, ("asset_id", "protocol", "port", "first_seen",
                                     *_SERVICE_COLUMNS), services)
        result.services += len(services)
        new = findings.flush()
        return Counter({"new": new}) if new else Counter()

    def _update_seen(self, pairs: list[tuple[_AssetRow, HostResult]],
                     changes: list[tuple[Any, ...]]) -> None:
        if not pairs:
            return
        b = self.bulk
        sets = ", ".join(f"{b.name(c)} = COALESCE({b.mark}, {b.name(c)})"
                         for c in ("hostname", "mac", "vendor", "os_guess"))
        b.many(f"UPDATE {b.name('asset')} SET {b.name('state')} = {b.mark}, "
               f"{b.name('missed_runs')} = 0, {b.name('last_seen')} = {b.mark}, "
               f"{b.name('last_observed')} = {b.mark}, {sets} WHERE {b.name('id')} = {b.mark}",
               [(AssetState.up.value, self.stamp, self.stamp, h.hostname, h.mac, h.vendor,
                 h.os_guess, row.id) for row, h in pairs])
        for row, h in pairs:
            if row.state is AssetState.gone:
                changes.append(self._change(ChangeKind.asset_appeared, row.address, row.id,
                                            before={"state": "gone"},
                                            after={"state": "up", "hostname": h.hostname}))

    def _mark_missed(self, rows: list[_AssetRow], changes: list[tuple[Any, ...]]) -> None:
        updates = []
        for row in rows:
            missed = row.missed_runs + 1
            gone = missed >= self.missed_threshold
            state = AssetState.gone if gone else AssetState.down
            updates.append((missed, state.value, self.stamp, row.id))
            if gone and row.state is not AssetState.gone:
                changes.append(self._change(ChangeKind.asset_gone, row.address, row.id,
                                            before={"state": row.state.value},
                                            after={"missed_runs": missed}))
        self.bulk.update(asset_t, ("missed_runs", "state", "last_observed"), "id", updates)

    # ------------------------------------------------------------ known assets

    def _services(self, asset_ids: list[int]) -> dict[int, dict[tuple[str, int], _ServiceRow]]:
        out: dict[int, dict[tuple[str, int], _ServiceRow]] = {}
        for row in self.bulk.lookup(service_t, "asset_id", asset_ids,
                                    ("id", "protocol", "port", "state", "name", "product",
                                     "version", "tunnel", "method")):
            asset_id, sid, *rest = row
            svc = _ServiceRow(sid, asset_id, *rest)
            out.setdefault(asset_id, {})[(svc.protocol, svc.port)] = svc
        return out

    def _known(self, pairs: list[tuple[_AssetRow, HostResult]],
               changes: list[tuple[Any, ...]], result: BatchResult) -> Counter[str]:
        """Assets seen before: diff their services, judge their findings."""
        if not pairs:
            return Counter()
        known = self._services([row.id for row, _h in pairs])
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        light: list[tuple[Any, ...]] = []
        infos: dict[tuple[int, str, int], PortInfo] = {}
        closed: set[tuple[int, str, int]] = set()
        observed: list[Observation] = []
        for row, host in pairs:
            have = known.get(row.id, {})
            listed = {(p.protocol, p.port): p for p in host.ports}
            for key, p in listed.items():
                prev = have.get(key)
                info = self.port_info(p) if prev is None or p.method == "probed" or p.product \
                    else self._port_info(p, prev)
                if info.is_open:
                    result.services += 1
                    infos[(row.id, *key)] = info
                    observed.extend(self._observations(row.address, row.id, p, info))
                else:
                    closed.add((row.id, *key))
                self._service_change(row, p, info, prev, inserts, updates, light, changes)
            for key, prev in have.items():
                if key not in listed and prev.state in OPEN_STATES and self.coverage.covers(*key):
                    closed.add((row.id, *key))
                    light.append(("closed", self.stamp, prev.id))
                    changes.append(self._change(ChangeKind.port_closed, row.address, row.id,
                                                protocol=prev.protocol, port=prev.port,
                                                before={"service": _label(prev)}))
        self.bulk.insert(service_t, ("asset_id", "protocol", "port", "first_seen",
                                     *_SERVICE_COLUMNS), inserts)
        self.bulk.update(service_t, _SERVICE_COLUMNS, "id", updates)
        # seen again without version detection, or closed: keep what we knew of it
        self.bulk.update(service_t, ("state", "last_seen"), "id", light)
        resolved = self._resolved([row.id for row, _h in pairs], infos, closed)
        if not observed and not resolved:
            return Counter()
        return sync_findings(self.session, observed=observed, resolved=resolved, now=self.now,
                             context=self.context, actor=self.actor, policy=self.policy)

    def _service_change(self, row: _AssetRow, p: PortResult, info: PortInfo,
                        prev: _ServiceRow | None, inserts: list[tuple[Any, ...]],
                        updates: list[tuple[Any, ...]], light: list[tuple[Any, ...]],
                        changes: list[tuple[Any, ...]]) -> None:
        address, asset_id = row.address, row.id
        if prev is None:
            if info.is_open:
                inserts.append((asset_id, p.protocol, p.port, self.stamp, *info.values))
                changes.append(self._change(ChangeKind.port_opened, address, asset_id,
                                            protocol=p.protocol, port=p.port,
                                            after={"service": info.label}))
            return
        was_open = prev.state in OPEN_STATES
        if info.is_open and not was_open:
            changes.append(self._change(ChangeKind.port_opened, address, asset_id,
                                        protocol=p.protocol, port=p.port,
                                        after={"service": info.label}))
        elif not info.is_open and was_open:
            changes.append(self._change(ChangeKind.port_closed, address, asset_id,
                                        protocol=p.protocol, port=p.port,
                                        before={"service": _label(prev)}))
        elif info.is_open and info.probed and \
                (prev.name, prev.product, prev.version) != (p.name, p.product, p.version):
            changes.append(self._change(
                ChangeKind.service_changed, address, asset_id, protocol=p.protocol,
                port=p.port, before={"name": prev.name, "product": prev.product,
                                     "version": prev.version},
                after={"name": p.name, "product": p.product, "version": p.version}))
        if info.is_open and not info.probed:
            light.append((p.state, self.stamp, prev.id))  # no version detection this time
        else:
            updates.append((*info.values, prev.id))

    def _resolved(self, asset_ids: list[int], infos: dict[tuple[int, str, int], PortInfo],
                  closed: set[tuple[int, str, int]]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for f in findings_on_assets(self.session, asset_ids):
            if f.status not in (FindingStatus.open, FindingStatus.in_progress):
                continue
            if f.protocol is None or f.port is None or f.asset_id is None:
                continue
            key = (f.asset_id, f.protocol, f.port)
            info = infos.get(key)
            if info is None:
                if key in closed or self.coverage.covers(f.protocol, f.port):
                    resolved[f.fingerprint] = f"{f.protocol}/{f.port} closed ({self.context})"
                continue
            if info.probed and f.rule_id in self.rules.rules and \
                    info.outcomes.get(f.rule_id, Outcome.no) is Outcome.no:
                facts = info.facts
                label = " ".join(x for x in (facts.name, facts.product, facts.version) if x)
                resolved[f.fingerprint] = (f"{f.protocol}/{f.port} now {label or 'unknown'}: "
                                           f"rule no longer matches ({self.context})")
        return resolved
