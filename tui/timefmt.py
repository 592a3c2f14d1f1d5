"""Times as the screens show them: in the deployment's zone, saying which.

The CLI prints stored times in UTC and says so in its column headers ("last seen
(UTC)"); the TUI shows the deployment's local time (``GARRISON_TIMEZONE``, Asia/Shanghai
by default) and says which zone it is: ``2026-12-01 10:00 UTC+8`` in a line of text,
``when (UTC+8)`` in a column header.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TIME = "%Y-%m-%d %H:%M"


def zone_label(zone: str, at: datetime) -> str:
    """``UTC+8``, ``UTC-3:30``, ``UTC`` for ``zone`` at the moment ``at``."""
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zoned(moment: datetime, zone: str, fmt: str = TIME) -> str:
    """``moment`` in ``zone``, followed by the zone: ``2026-12-01 10:00 UTC+8``."""
    return f"{moment.astimezone(ZoneInfo(zone)).strftime(fmt)} {zone_label(zone, moment)}"
