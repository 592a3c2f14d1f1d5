"""Deadlines by severity (the SLA table), tightened for high MLPS protection levels.

Defaults: critical 7 days, high 30, medium 90, low 180, info none. Assets at MLPS
(等级保护) level 3 or above get the time multiplied by 0.5, rounded up: a level-3
system is one whose compromise seriously harms public order or the public interest,
so its owners fix faster. All of it is configurable per deployment
(``GARRISON_SLA_DAYS``, ``GARRISON_MLPS_TIGHTEN_FROM``, ``GARRISON_MLPS_FACTOR``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from garrison.models import Severity

if TYPE_CHECKING:
    from garrison.settings import Settings

DEFAULT_DAYS: dict[Severity, int | None] = {
    Severity.critical: 7,
    Severity.high: 30,
    Severity.medium: 90,
    Severity.low: 180,
    Severity.info: None,
}


@dataclass(frozen=True)
class SlaPolicy:
    days: dict[Severity, int | None] = field(default_factory=lambda: dict(DEFAULT_DAYS))
    """Days to fix by severity; None: no deadline."""
    tighten_from: int = 3
    """MLPS protection level from which deadlines are tightened."""
    factor: float = 0.5
    """Multiplier for those assets' deadlines (rounded up to whole days)."""

    def days_for(self, severity: Severity, protection_level: int | None = None) -> int | None:
        days = self.days.get(severity)
        if days is None:
            return None
        if protection_level is not None and protection_level >= self.tighten_from:
            return max(1, math.ceil(days * self.factor))
        return days

    def as_json(self) -> dict[str, object]:
        return {"days": {s.value: d for s, d in self.days.items()},
                "mlps_tighten_from": self.tighten_from, "mlps_factor": self.factor}

    def describe(self) -> str:
        table = ", ".join(f"{s.value} {d}d" for s, d in self.days.items() if d is not None)
        return (f"{table}; x{self.factor:g} (rounded up) for MLPS level "
                f"{self.tighten_from} and above")


DEFAULT_POLICY = SlaPolicy()


def due_at(severity: Severity, start: datetime, protection_level: int | None,
           policy: SlaPolicy) -> datetime | None:
    days = policy.days_for(severity, protection_level)
    return None if days is None else start + timedelta(days=days)


def policy_from(sla_days: dict[str, int | None], tighten_from: int, factor: float) -> SlaPolicy:
    days = dict(DEFAULT_DAYS)
    days.update({Severity(k): v for k, v in sla_days.items()})
    return SlaPolicy(days, tighten_from, factor)


def settings_policy(settings: Settings) -> SlaPolicy:
    """The deployment's policy (``GARRISON_SLA_DAYS``, ``GARRISON_MLPS_*``)."""
    return policy_from(settings.sla_days, settings.mlps_tighten_from, settings.mlps_factor)
