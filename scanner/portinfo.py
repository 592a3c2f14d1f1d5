"""What one port description contributes to the inventory, worked out once per run.

The same service shows up on many hosts (a /16 of identical web servers); its row
values, rule outcomes and evidence are computed once per distinct ``PortResult`` and
reused for every host that shows it (``PortCache``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from garrison.bulk import Bulk
from scanner.nmap_xml import PortRanges, PortResult
from scanner.rules import Outcome, RuleSet, ServiceFacts

OPEN_STATES = frozenset({"open"})
SERVICE_VALUES = ("state", "name", "product", "version", "extrainfo", "tunnel", "method",
                  "cpe", "scripts")
"""The service columns a port description fills (``last_seen`` is the host's own)."""


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


class PreviousService(NamedTuple):
    """A service row as stored, for the diff against what a scan saw."""

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
    first_seen: Any


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
    """Row values for ``SERVICE_VALUES``."""
    label: str
    facts: ServiceFacts
    outcomes: dict[str, Outcome]
    matches: tuple[Match, ...]


def label(p: PortResult | PreviousService) -> str:
    parts = [f"{p.protocol}/{p.port}", p.name or "?", p.product or "", p.version or ""]
    return " ".join(x for x in parts if x)


def fingerprint(rule_id: str, unit_code: str, address: str, protocol: str | None,
                port: int | None) -> str:
    """The dedup key, readable: ``rule|unit|address|protocol/port``."""
    return f"{rule_id}|{unit_code}|{address}|{protocol or '-'}/{port if port is not None else '-'}"


def _scripts_json(p: PortResult) -> str:
    if not p.scripts:
        return "{}"
    items = ", ".join(
        f'{json.dumps(s.id)}: {{"output": {json.dumps(s.output, ensure_ascii=False)}, '
        f'"data": {s.data_json or "null"}}}' for s in p.scripts)
    return "{" + items + "}"


class PortCache:
    """``PortInfo`` per distinct port description, for one run."""

    LIMIT = 200_000

    def __init__(self, bulk: Bulk, rules: RuleSet, coverage: Coverage, run_id: int) -> None:
        self.bulk, self.rules, self.coverage, self.run_id = bulk, rules, coverage, run_id
        self._ports: dict[PortResult, PortInfo] = {}
        self._same: dict[int, tuple[PortResult, PortInfo]] = {}
        """By object: an import shares identical ports (``import_read``), so the same
        object comes back for every host and is found without hashing its twelve
        fields again (the entry keeps the object alive, so its id stays its own)."""

    def get(self, p: PortResult) -> PortInfo:
        known = self._same.get(id(p))
        if known is not None:
            return known[1]
        info = self._ports.get(p)
        if info is None:
            info = self.describe(p, None)
            if len(self._ports) < self.LIMIT:
                self._ports[p] = info
        if len(self._same) < self.LIMIT:
            self._same[id(p)] = (p, info)
        return info

    def describe(self, p: PortResult, prev: PreviousService | None) -> PortInfo:
        probed = p.method == "probed" or bool(p.product)
        name, product, version, tunnel = p.name, p.product, p.version, p.tunnel
        if not probed and prev is not None and prev.state in OPEN_STATES:
            # what an earlier version scan learnt still describes this open port
            name = prev.name or name
            product, version, tunnel = prev.product, prev.version, prev.tunnel
        scripts = tuple((s.id, s.output) for s in p.scripts) if self.coverage.scripts else None
        facts = ServiceFacts(p.protocol, p.port, name, product, version, tunnel, probed, scripts)
        values = (p.state, p.name, p.product, p.version, p.extrainfo, p.tunnel, p.method,
                  self.bulk.json(list(p.cpes), ("cpe", p.cpes)), _scripts_json(p))
        is_open = p.state in OPEN_STATES
        outcomes: dict[str, Outcome] = {}
        matches: list[Match] = []
        if is_open:
            evidence = self._evidence(facts, p)
            for rule, outcome in self.rules.evaluate(facts):
                outcomes[rule.id] = outcome
                if outcome is Outcome.yes:
                    matches.append(Match(rule.id, rule.title, rule.severity, evidence))
        return PortInfo(is_open, probed, values, label(p), facts, outcomes, tuple(matches))

    def _evidence(self, facts: ServiceFacts, p: PortResult) -> str:
        evidence: dict[str, Any] = {"run": self.run_id, "service": facts.name}
        for key in ("product", "version", "tunnel"):
            if getattr(facts, key):
                evidence[key] = getattr(facts, key)
        if p.scripts:
            evidence["scripts"] = {s.id: s.output for s in p.scripts}
        return self.bulk.json(evidence)
