"""Dates and times as officers type them, in the deployment's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from garrison.errors import GarrisonError
from garrison.i18n import _


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_when(text: str, tz: str, *, now: datetime, option: str = "--at") -> datetime:
    """``2026-12-01``, ``2026-12-01 14:00``, ``2026-12-01T14:00+08:00`` or ``now`` -> an
    aware datetime (a time without a zone is in ``tz``; ``now`` is the given instant)."""
    text = text.strip()
    if text.lower() == "now":
        return now
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise GarrisonError(_("{o}: {v!r} is not a date or time; write YYYY-MM-DD or "
                              "'YYYY-MM-DD HH:MM'").format(o=option, v=text)) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value


def parse_day(text: str, *, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise GarrisonError(_("{o}: {v!r} is not a date; write YYYY-MM-DD").format(
            o=option, v=text)) from exc


def day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone(tz))


def local_text(value: datetime, tz: str) -> str:
    return value.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


def period_text(starts: datetime, ends: datetime, tz: str) -> str:
    """``2026-12-01..2026-12-05`` for whole local days (``ends`` is the midnight after the
    last one, as ``experts away --to 2026-12-05`` stores it), else
    ``2026-12-01 14:00..2026-12-03 09:00``."""
    first, last = starts.astimezone(zone(tz)), ends.astimezone(zone(tz))
    if first.time() == time.min and last.time() == time.min:
        return f"{first.date().isoformat()}..{(last.date() - timedelta(days=1)).isoformat()}"
    return f"{local_text(starts, tz)}..{local_text(ends, tz)}"
