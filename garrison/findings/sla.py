"""Deadlines by severity (the SLA table), tightened for high MLPS protection levels.

Defaults: critical 7 days, high 30, medium 90, low 180, info none. Assets at MLPS
(等级保护) level 3 or above get half the time, rounded up: a level-3 system is one
whose compromise seriously harms public interest, so its owners fix faster.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from garrison.models import Severity

DEFAULT_DAYS: dict[Severity, int | None] = {
    Severity.critical: 7,
    Severity.high: 30,
    Severity.medium: 90,
    Severity.low: 180,
    Severity.info: None,
}
MLPS_TIGHTEN_FROM = 3
MLPS_FACTOR = 0.5


def due_at(severity: Severity, start: datetime, protection_level: int | None = None,
           table: dict[Severity, int | None] | None = None) -> datetime | None:
    days = (table or DEFAULT_DAYS).get(severity)
    if days is None:
        return None
    if protection_level is not None and protection_level >= MLPS_TIGHTEN_FROM:
        days = math.ceil(days * MLPS_FACTOR)
    return start + timedelta(days=days)
