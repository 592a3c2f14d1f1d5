"""The shift grid of an on-call rotation: a day's pattern laid over a period.

``parse_pattern`` reads a day's shift pattern (``08:00-20:00,20:00-08:00``: pieces
``HH:MM-HH:MM`` separated by commas; a piece ending at or before its start crosses
midnight, ``24:00`` is the midnight that closes the day) and refuses empty,
zero-length or overlapping pieces. ``make_shifts`` lays the pattern over every day of
a period (at most ``MAX_DAYS``) in an IANA time zone; ``shift_label`` writes a shift
back as ``2026-12-03 08:00-20:00`` in its own zone.

Times: a ``Shift`` holds aware datetimes in the pattern's zone. Wall times are resolved
by ``zoneinfo`` -- the first of the two instants in a fall-back hour, the end of the
gap for a time a spring-forward skips -- and ``instant`` is the one way the planner
compares them (UTC seconds; a naive datetime is a bug and raises), so a shift across a
daylight-saving change has its true length. Shifts made here never overlap.

Pure: no database, no clock. Part of the on-call planner; ``expert_pool.rotation`` is
its public face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from garrison.errors import GarrisonError
from garrison.i18n import _

__all__ = ["DEFAULT_PATTERN", "MAX_DAYS", "Shift", "instant", "make_shifts", "parse_pattern",
           "shift_label"]

DEFAULT_PATTERN = "08:00-20:00,20:00-08:00"
"""Two 12-hour shifts a day."""
MAX_DAYS = 366
"""The longest period ``make_shifts`` lays a pattern over."""
_PATTERN_EXAMPLE = "08:00-20:00,20:00-08:00"
_PIECE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-\u2013~\uff5e]\s*(\d{1,2}):(\d{2})$")
_DAY = 24 * 60


@dataclass(frozen=True)
class Shift:
    """One shift of a rotation: ``[starts, ends)``."""

    index: int
    starts: datetime
    """Aware; ``make_shifts`` keeps the zone of the pattern."""
    ends: datetime


def parse_pattern(text: str) -> list[tuple[time, time]]:
    """``"08:00-16:00,16:00-24:00,00:00-08:00"`` -> ``[(start, end), ...]`` local times.

    ``24:00`` ends a shift at the midnight closing the day (it comes back as
    ``time(0, 0)``); an end at or before the start means the shift crosses midnight,
    so ``00:00-24:00`` is a whole day. A zero-length piece (``08:00-08:00``) or two
    pieces that overlap on the 24-hour clock are refused.
    """
    pieces = [p.strip() for p in re.split(r"[,\uff0c]", text.strip())]
    if pieces == [""]:
        raise _pattern_error(_("shift pattern is empty"))
    out: list[tuple[time, time]] = []
    spans: list[tuple[int, int, str]] = []
    for piece in pieces:
        if not piece:
            raise _pattern_error(_("shift pattern {t!r}: an empty piece between commas").format(
                t=text))
        match = _PIECE.match(piece)
        if match is None:
            raise _pattern_error(_("shift pattern: {p!r} is not a shift").format(p=piece))
        sh, sm, eh, em = (int(g) for g in match.groups())
        if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em):
            raise _pattern_error(_("shift pattern: {p!r} is not a time of day (00:00 to "
                                   "24:00)").format(p=piece))
        start, end = sh * 60 + sm, eh * 60 + em
        if start == end:
            raise _pattern_error(_("shift pattern: {p!r} has zero length").format(p=piece))
        if end < start:
            end += _DAY
        for other_start, other_end, other in spans:
            if any(start < other_end + k and other_start + k < end for k in (-_DAY, 0, _DAY)):
                raise _pattern_error(_("shift pattern: {a!r} and {b!r} overlap").format(
                    a=other, b=piece))
        spans.append((start, end, piece))
        out.append((time(sh, sm), time(eh % 24, em)))
    return out


def _pattern_error(problem: str) -> GarrisonError:
    return GarrisonError(
        _("{problem}; write HH:MM-HH:MM pieces separated by commas, e.g. {e}").format(
            problem=problem, e=_PATTERN_EXAMPLE),
        hint=_("A piece ending at or before its start crosses midnight; 24:00 is the "
               "midnight that ends the day."))


def make_shifts(first_day: date, last_day: date, pattern: list[tuple[time, time]],
                tz: str) -> list[Shift]:
    """Every pattern piece on every day ``first_day..last_day`` (inclusive) in zone ``tz``.

    A piece whose end is at or before its start ends on the next day. Times are
    resolved by ``zoneinfo``: a start in a spring-forward gap moves to the first real
    instant after it, and a piece wholly inside the gap (it does not exist that day)
    is left out. Shifts are sorted by start and numbered from 0.
    """
    if last_day < first_day:
        raise GarrisonError(_("the period ends ({b}) before it starts ({a})").format(
            a=first_day.isoformat(), b=last_day.isoformat()))
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise GarrisonError(
            _("a rotation covers at most {m} days; {a} to {b} is {n} days").format(
                m=MAX_DAYS, a=first_day.isoformat(), b=last_day.isoformat(), n=days),
            hint=_("Plan a shorter period, then the next one."))
    if not pattern:
        raise _pattern_error(_("shift pattern is empty"))
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise GarrisonError(_("unknown time zone {z!r}").format(z=tz),
                            hint=_("Use an IANA name such as Asia/Shanghai.")) from exc
    spans: list[tuple[datetime, datetime]] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for start, end in pattern:
            end_day = day + timedelta(days=1) if end <= start else day
            starts = _resolve(datetime.combine(day, start, tzinfo=zone), zone)
            ends = _resolve(datetime.combine(end_day, end, tzinfo=zone), zone)
            if instant(ends) > instant(starts):
                spans.append((starts, ends))
    spans.sort(key=lambda span: (instant(span[0]), instant(span[1])))
    return [Shift(i, starts, ends) for i, (starts, ends) in enumerate(spans)]


def _resolve(value: datetime, zone: ZoneInfo) -> datetime:
    """The real instant of a local wall time, in ``zone``: the first of two in a
    fall-back hour, and the end of the gap for a time a spring-forward skips."""
    resolved = value.astimezone(UTC).astimezone(zone)
    if resolved.replace(tzinfo=None) == value.replace(tzinfo=None):
        return resolved
    # In the gap: fold=1 reads the time with the offset before the change (an
    # instant before it), fold=0 with the offset after (an instant after it).
    before = value.replace(fold=1).astimezone(UTC)
    after = value.replace(fold=0).astimezone(UTC)
    offset = after.astimezone(zone).utcoffset()
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            after = middle
        else:
            before = middle
    return after.replace(microsecond=0).astimezone(zone)


def instant(value: datetime) -> float:
    """``value`` as UTC seconds, the one way rotation times are compared; a naive
    datetime is refused (``ValueError``: a caller's bug)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: rotation times must be aware")
    return value.timestamp()


def shift_label(shift: Shift) -> str:
    """``2026-12-03 08:00-20:00`` in the shift's own zone (``24:00`` for the midnight
    closing the start day)."""
    starts = shift.starts
    ends = shift.ends.astimezone(starts.tzinfo)
    end_text = ends.strftime("%H:%M")
    if end_text == "00:00" and ends.date() == starts.date() + timedelta(days=1):
        end_text = "24:00"
    return f"{starts.strftime('%Y-%m-%d %H:%M')}-{end_text}"
