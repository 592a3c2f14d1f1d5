"""Drill-time durations: ``90s``, ``20m``, ``1h30m``, ``2d`` <-> seconds."""

from __future__ import annotations

import re

from garrison.i18n import _

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
MAX_SECONDS = 30 * 86_400
"""No drill runs longer than 30 days of drill time."""


def parse_duration(value: object) -> int:
    """Seconds in ``value``; ``ValueError`` with the message a playbook author sees."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(_("expected a duration like 90s, 20m, 1h30m or 2d, got {v!r}").format(
            v=value))
    if isinstance(value, int):
        if value == 0:
            return 0
        raise ValueError(_("{v!r} has no unit: write {v}s, {v}m or {v}h").format(v=value))
    text = value.strip().replace(" ", "")
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(_("bad duration {v!r}: write it like 90s, 20m, 1h30m or 2d").format(
            v=value))
    seconds = sum(int(part) * size for part, (_unit, size) in zip(match.groups(), _UNITS,
                                                                    strict=True) if part)
    if seconds > MAX_SECONDS:
        raise ValueError(_("{v!r} is longer than 30 days").format(v=value))
    return seconds


def format_duration(seconds: float) -> str:
    """``1h30m``, ``45s``, ``0m``: the shortest exact spelling of whole seconds."""
    rest = int(round(seconds))
    if rest == 0:
        return "0m"
    sign = "-" if rest < 0 else ""
    rest = abs(rest)
    parts = []
    for unit, size in _UNITS:
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return sign + "".join(parts)


def clock_text(seconds: float) -> str:
    """Drill time as ``T+02:05:00`` (days as ``T+1d 02:05:00``)."""
    total = int(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    prefix = f"{days}d " if days else ""
    return f"T+{prefix}{hours:02d}:{minutes:02d}:{secs:02d}"
