"""Evaluate rules against what a scan saw of one service.

Each rule answers YES, NO or UNKNOWN. UNKNOWN means the run could not tell (no
version detection, no scripts): a finding is then neither refreshed nor judged
fixed. Rules are indexed by port and service name, and answers are cached per
distinct service fingerprint, so 400,000 services cost a few dict look-ups each.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from scanner.rules.schema import Condition, Rule
from scanner.rules.versions import VersionRange


class Outcome(enum.Enum):
    yes = "yes"
    no = "no"
    unknown = "unknown"


class ServiceFacts(NamedTuple):
    """What is known of one open port, as rules see it."""

    protocol: str
    port: int
    name: str | None
    product: str | None
    version: str | None
    tunnel: str | None
    probed: bool
    """Version detection identified this service (nmap ``method="probed"``)."""
    scripts: tuple[tuple[str, str], ...] | None
    """(script id, output) pairs; None when no scripts ran."""


class _Compiled(NamedTuple):
    rule: Rule
    condition: Condition
    product: re.Pattern[str] | None
    version: VersionRange | None
    output: re.Pattern[str] | None


def _and(outcomes: Iterable[Outcome]) -> Outcome:
    result = Outcome.yes
    for outcome in outcomes:
        if outcome is Outcome.no:
            return Outcome.no
        if outcome is Outcome.unknown:
            result = Outcome.unknown
    return result


def _check(c: _Compiled, facts: ServiceFacts) -> Outcome:
    cond = c.condition
    checks: list[Outcome] = []
    if cond.protocol is not None and cond.protocol != facts.protocol:
        return Outcome.no
    if cond.port is not None and facts.port not in cond.port:
        return Outcome.no
    if cond.service is not None:
        named = facts.name is not None and facts.name.lower() in cond.service
        checks.append(Outcome.yes if named else (Outcome.no if facts.probed else Outcome.unknown))
    if c.product is not None:
        if facts.product is None:
            checks.append(Outcome.no if facts.probed else Outcome.unknown)
        else:
            checks.append(Outcome.yes if c.product.search(facts.product) else Outcome.no)
    if c.version is not None:
        inside = c.version.contains(facts.version) if facts.version else None
        checks.append(Outcome.unknown if inside is None else
                      (Outcome.yes if inside else Outcome.no))
    if cond.tunnel is not None:
        checks.append(_tunnel(cond.tunnel, facts))
    if cond.script is not None:
        checks.append(_script(c, facts))
    return _and(checks)


def _tunnel(wanted: str, facts: ServiceFacts) -> Outcome:
    if not facts.probed:
        return Outcome.unknown
    is_tls = facts.tunnel == "ssl" or (facts.name or "") in {"https", "ssl", "imaps", "pop3s"}
    return Outcome.yes if is_tls == (wanted == "ssl") else Outcome.no


def _script(c: _Compiled, facts: ServiceFacts) -> Outcome:
    if facts.scripts is None:
        return Outcome.unknown
    for script_id, output in facts.scripts:
        if script_id == c.condition.script:
            if c.output is None or c.output.search(output):
                return Outcome.yes
            return Outcome.no
    return Outcome.no


class RuleSet:
    """An indexed, cached set of rules."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = {r.id: r for r in rules}
        self._by_port: dict[int, list[_Compiled]] = defaultdict(list)
        self._by_service: dict[str, list[_Compiled]] = defaultdict(list)
        self._generic: list[_Compiled] = []
        self._cache: dict[ServiceFacts, tuple[tuple[Rule, Outcome], ...]] = {}
        for rule in rules:
            for cond in rule.match:
                compiled = _Compiled(
                    rule, cond,
                    re.compile(cond.product, re.IGNORECASE) if cond.product else None,
                    VersionRange.parse(cond.version) if cond.version else None,
                    re.compile(cond.script_output) if cond.script_output else None)
                if cond.port is not None:
                    for port in cond.port:
                        self._by_port[port].append(compiled)
                elif cond.service is not None:
                    for name in cond.service:
                        self._by_service[name].append(compiled)
                else:
                    self._generic.append(compiled)

    def __len__(self) -> int:
        return len(self.rules)

    def evaluate(self, facts: ServiceFacts) -> tuple[tuple[Rule, Outcome], ...]:
        """Every rule that is not a plain NO for this service, with its outcome."""
        cached = self._cache.get(facts)
        if cached is not None:
            return cached
        per_rule: dict[str, Outcome] = {}
        candidates = [*self._by_port.get(facts.port, ()), *self._generic]
        if facts.name:
            candidates.extend(self._by_service.get(facts.name.lower(), ()))
        if not facts.probed:
            # a table guess of the name may be wrong: service-only rules cannot say NO
            for name_rules in self._by_service.values():
                candidates.extend(name_rules)
        for compiled in candidates:
            outcome = _check(compiled, facts)
            previous = per_rule.get(compiled.rule.id)
            if previous is Outcome.yes or outcome is Outcome.no:
                per_rule.setdefault(compiled.rule.id, Outcome.no)
                continue
            if outcome is Outcome.yes or previous is None or previous is Outcome.no:
                per_rule[compiled.rule.id] = outcome
        result = tuple((self.rules[rid], outcome) for rid, outcome in per_rule.items()
                       if outcome is not Outcome.no)
        if len(self._cache) < 100_000:
            self._cache[facts] = result
        return result

    def outcome(self, rule_id: str, facts: ServiceFacts) -> Outcome:
        """One rule's outcome (NO when the rule is not among the candidates)."""
        for rule, outcome in self.evaluate(facts):
            if rule.id == rule_id:
                return outcome
        return Outcome.no
