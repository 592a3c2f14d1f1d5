"""On-call rotation planning (pure: plain data in, a plan or an explanation out).

``parse_pattern`` reads a day's shift pattern (``08:00-20:00,20:00-08:00``),
``make_shifts`` lays it over a period in a time zone, and ``plan_rotation`` puts
``per_shift`` people on every shift so that

1. every shift has exactly ``per_shift`` distinct people;
2. every required ``(skill, level)`` is held (level >= min) by someone on every shift;
3. nobody is on two overlapping shifts (``[s1, e1)`` and ``[s2, e2)`` overlap iff
   ``s1 < e2 and s2 < e1``);
4. nobody is on a shift that overlaps one of their busy periods;
5. the load (shifts per person) is as even as the constraints allow.

**Eligible** people are those who can take at least one shift: they are free for it
(no busy period overlaps it) *and* their skills do not rule them out -- some valid
crew for that shift includes them (with one person per shift and a required skill,
only its holders can ever be on call). Everybody else -- on leave for the whole
period, or never usable -- is *unavailable*: load 0, reported by
``Rotation.unavailable``, and left out of the spread.

**Spread** is ``max(load) - min(load)`` over the eligible people. The planner
minimises it: it fills the shifts in time order (least-loaded people first; a
look-ahead keeps the holders of a scarce skill for the shifts that need them), then
moves shifts along chains of valid replacements from people with load L to people
with load L - 2 or less until no chain is left, and, with skill requirements,
re-picks single crews (who covers which skill) when that evens the load further.
Without skill requirements (and with shifts that do not overlap) the result is
optimal: the largest load is as small, and the smallest as large, as any plan
allows. With them it is a heuristic -- optimal on every one of thousands of random
small rosters checked against brute force.

So the spread is at most 1 when every eligible person is free throughout and the
skills do not force the load apart. It is larger, truthfully, when they do: someone
on leave for most of the period cannot take a fair share, and when only two of six
people hold a skill that every one of ten shifts needs, those two work five shifts
each while the other four share the remaining ten slots (2 or 3 each): spread 3,
whatever the plan. The spread then measures the roster, not the planner.

Shifts made by ``make_shifts`` never overlap. Other shifts may; the planner keeps
anybody off two overlapping ones, but staffing them is then a harder puzzle: when
the greedy pass and its repairs fail, a budgeted complete search (small rosters only)
has the last word before ``Infeasible``.

**Pinned people.** ``plan_rotation(..., fixed={shift index: ids})`` keeps the given
people on those shifts and plans only the places left: a shift with ``per_shift``
pinned people is taken as it is, one with fewer gets the rest, so that the whole crew
covers the required skills; the pinned load counts when the load is evened out, and no
move ever takes a pinned person off their shift. ``oncall_repair`` refills the shifts
of a saved plan that leave, retirement or a skill change broke this way.

Time: shifts are aware datetimes in their zone; every comparison here is on UTC
instants, so a shift across a daylight-saving change has its true length.
"""

from __future__ import annotations

import heapq
import random
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from itertools import combinations
from math import comb
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from garrison.errors import GarrisonError
from garrison.i18n import _, ngettext

__all__ = [
    "DEFAULT_PATTERN",
    "MAX_DAYS",
    "Infeasible",
    "Person",
    "Requirement",
    "Rotation",
    "Shift",
    "make_shifts",
    "parse_pattern",
    "plan_rotation",
    "shift_label",
]

DEFAULT_PATTERN = "08:00-20:00,20:00-08:00"
"""Two 12-hour shifts a day."""
MAX_DAYS = 366
"""The longest period ``make_shifts`` lays a pattern over."""
LEVELS = (1, 2, 3)
_NAMES_SHOWN = 5
_REASONS_SHOWN = 10
_PATTERN_EXAMPLE = "08:00-20:00,20:00-08:00"
_PIECE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-\u2013~\uff5e]\s*(\d{1,2}):(\d{2})$")
_DAY = 24 * 60
_RELEASE_DEPTH = 4
_UNREACHABLE = 1 << 30
_SEARCH_CREWS = 5_000
_SEARCH_BUDGET = 50_000

_Key = Callable[[int], tuple[float, int, int]]
_Move = tuple[int, int, int]
"""``(shift position, leaver, joiner)``."""


# ------------------------------------------------------------------ data


@dataclass(frozen=True)
class Person:
    """An expert who can be put on call."""

    id: int
    name: str
    skills: Mapping[str, int]
    """Skill -> level 1..3."""
    busy: tuple[tuple[datetime, datetime], ...] = ()
    """Periods ``[start, end)`` the person cannot be called (aware datetimes)."""


@dataclass(frozen=True)
class Shift:
    index: int
    starts: datetime
    """Aware; ``make_shifts`` keeps the zone of the pattern."""
    ends: datetime


@dataclass(frozen=True)
class Requirement:
    per_shift: int = 1
    skills: tuple[tuple[str, int], ...] = ()
    """Each ``(skill, min level)`` must be held by at least one person on every shift."""
    rest: timedelta = timedelta(0)
    """The least time off between two shifts of the same person: a shift counts as
    overlapping any shift that starts less than ``rest`` after it ends (so with 12-hour
    shifts and ``rest`` of 8 h, nobody works a day shift and the night after it)."""


@dataclass
class Rotation:
    shifts: list[Shift]
    crew: list[list[int]]
    """``crew[i]``: the ids of the people on ``shifts[i]`` (ascending)."""
    load: dict[int, int]
    """Person id -> number of shifts, for every person given (0 included)."""
    eligible: frozenset[int] | None = field(default=None)
    """The people the spread is computed over (see the module docstring); ``None``:
    everyone in ``load``."""

    @property
    def spread(self) -> int:
        """``max(load) - min(load)`` over the eligible people (0 when there are none)."""
        ids = self.load.keys() if self.eligible is None else self.eligible
        counts = [self.load[i] for i in ids]
        return max(counts) - min(counts) if counts else 0

    @property
    def unavailable(self) -> list[int]:
        """Ids of the people who could take no shift at all (ascending)."""
        if self.eligible is None:
            return []
        return sorted(i for i in self.load if i not in self.eligible)

    def on_call(self, at: datetime) -> list[int]:
        """The ids on the shift(s) covering ``at`` (``starts <= at < ends``)."""
        moment = _instant(at)
        out: list[int] = []
        for shift, crew in zip(self.shifts, self.crew, strict=True):
            if _instant(shift.starts) <= moment < _instant(shift.ends):
                out.extend(i for i in crew if i not in out)
        return out


class Infeasible(GarrisonError):
    """No plan meets the request; ``reasons`` says exactly what is missing."""

    def __init__(self, reasons: Sequence[str], *, hint: str | None = None) -> None:
        self.reasons: list[str] = list(reasons)
        shown = self.reasons[:_REASONS_SHOWN]
        more = len(self.reasons) - len(shown)
        if more:
            shown.append(ngettext("... and {n} more problem", "... and {n} more problems",
                                  more).format(n=more))
        super().__init__(
            "\n".join(shown),
            hint=hint or _("Ask for fewer people per shift or fewer (or lower) required "
                           "skills, or add experts to the pool."))


# ------------------------------------------------------------------ pattern and shifts


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
            if _instant(ends) > _instant(starts):
                spans.append((starts, ends))
    spans.sort(key=lambda span: (_instant(span[0]), _instant(span[1])))
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


def _instant(value: datetime) -> float:
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


# ------------------------------------------------------------------ planning


def plan_rotation(people: Sequence[Person], shifts: Sequence[Shift], req: Requirement, *,
                  seed: int = 0, fixed: Mapping[int, Collection[int]] | None = None
                  ) -> Rotation:
    """Put ``req.per_shift`` people on every shift (see the module docstring).

    ``fixed`` maps a ``Shift.index`` to the ids of people who stay on that shift
    (pinned): only the remaining places are planned. Deterministic: the same people,
    shifts, requirement and ``seed`` give the same plan, whatever order the people come
    in (ties are broken by a ``seed``-shuffled order of the ids). Raises ``Infeasible``
    naming what is missing, and ``GarrisonError`` for a malformed requirement.
    """
    return _Planner(people, shifts, req, seed, fixed).plan()


def _requirements(req: Requirement) -> list[tuple[str, int]]:
    if not isinstance(req.per_shift, int) or req.per_shift < 1:
        raise GarrisonError(_("people per shift must be at least 1, not {n}").format(
            n=req.per_shift))
    merged: dict[str, int] = {}
    for skill, level in req.skills:
        if level not in LEVELS:
            raise GarrisonError(
                _("required skill {s}: level {v} is not 1, 2 or 3").format(s=skill, v=level))
        merged[skill] = max(level, merged.get(skill, 0))
    return list(merged.items())


def _names(names: Iterable[str]) -> str:
    listed = list(names)
    shown = ", ".join(listed[:_NAMES_SHOWN])
    more = len(listed) - _NAMES_SHOWN
    if more > 0:
        shown += _(" and {n} more").format(n=more)
    return shown


def _gain(load: int) -> float:
    """How much ``1/(load + 1)`` falls when a person with ``load`` takes a shift."""
    return -1.0 / ((load + 1) * (load + 2))


def _exact_gain(load: int) -> Fraction:
    return Fraction(-1, (load + 1) * (load + 2))


def _cover_table(masks: frozenset[int], bits: int) -> list[int]:
    """``table[need]``: the fewest people (one per distinct mask) whose masks cover
    ``need``; ``_UNREACHABLE`` when they cannot."""
    dist = {0: 0}
    frontier = [0]
    while frontier:
        following: list[int] = []
        for state in frontier:
            for mask in masks:
                nxt = state | mask
                if nxt not in dist:
                    dist[nxt] = dist[state] + 1
                    following.append(nxt)
        frontier = following
    return [min((d for state, d in dist.items() if state & need == need),
                default=_UNREACHABLE) for need in range(1 << bits)]


class _Planner:
    def __init__(self, people: Sequence[Person], shifts: Sequence[Shift], req: Requirement,
                 seed: int, fixed: Mapping[int, Collection[int]] | None = None) -> None:
        self.reqs = _requirements(req)
        self.k = req.per_shift
        self.people = sorted(people, key=lambda p: p.id)
        ids = [p.id for p in self.people]
        if len(set(ids)) != len(ids):
            raise ValueError("person ids must be unique")
        self.shifts = list(shifts)
        n, m = len(self.people), len(self.shifts)
        order = list(range(n))
        random.Random(seed).shuffle(order)
        self.rank = [0] * n
        for position, person in enumerate(order):
            self.rank[person] = position
        self.full = (1 << len(self.reqs)) - 1
        self.mask = [sum(1 << b for b, (skill, level) in enumerate(self.reqs)
                         if p.skills.get(skill, 0) >= level) for p in self.people]
        # Shifts in time order; everything below indexes shifts by that position.
        span = [(_instant(s.starts), _instant(s.ends)) for s in self.shifts]
        for shift, (a, b) in zip(self.shifts, span, strict=True):
            if b <= a:
                raise ValueError(f"shift {shift.index} ends before it starts")
        self.order = sorted(range(m), key=lambda i: (span[i][0], span[i][1], i))
        self.span = [span[i] for i in self.order]
        self.overlaps: list[list[int]] = [[] for _ in range(m)]
        rest = req.rest.total_seconds()
        if rest < 0:
            raise GarrisonError(_("the rest between shifts cannot be negative"))
        for i in range(m):
            j = i + 1
            while j < m and self.span[j][0] < self.span[i][1] + rest:
                self.overlaps[i].append(j)
                self.overlaps[j].append(i)
                j += 1
        self.resting = rest > 0
        busy = [[(_instant(a), _instant(b)) for a, b in p.busy] for p in self.people]
        self.free: list[list[int]] = []
        for start, end in self.span:
            free = [i for i in range(n) if not any(a < end and start < b for a, b in busy[i])]
            free.sort(key=lambda i: self.rank[i])
            self.free.append(free)
        self._tables: dict[frozenset[int], list[int]] = {}
        self.pinned = self.pins(fixed or {})
        self.crew: list[list[int]] = [[] for _ in range(m)]
        self.assigned: list[set[int]] = [set() for _ in range(n)]
        self.load = [0] * n

    def pins(self, fixed: Mapping[int, Collection[int]]) -> list[frozenset[int]]:
        """``fixed`` (shift index -> person ids) as person positions per shift position."""
        at = {self.shifts[i].index: position for position, i in enumerate(self.order)}
        if fixed and len(at) != len(self.shifts):
            raise ValueError("shift indexes must be unique to pin people on shifts")
        person = {p.id: i for i, p in enumerate(self.people)}
        pinned = [frozenset[int]() for _ in self.shifts]
        for index, ids in fixed.items():
            if index not in at:
                raise ValueError(f"no shift {index} to pin people on")
            unknown = set(ids) - person.keys()
            if unknown or len(set(ids)) > self.k:
                raise ValueError(f"shift {index}: cannot pin {sorted(ids)}")
            pinned[at[index]] = frozenset(person[i] for i in ids)
        return pinned

    def covered(self, members: Iterable[int]) -> int:
        """The required skills (as bits) that ``members`` hold between them."""
        bits = 0
        for i in members:
            bits |= self.mask[i]
        return bits

    def gap(self, position: int, avail: list[int]) -> tuple[list[int], int, int]:
        """What the shift still needs: (candidates from ``avail`` not on it yet, places
        left, required skills not covered by its crew)."""
        members = self.crew[position]
        return ([i for i in avail if i not in members], self.k - len(members),
                self.full & ~self.covered(members))

    # ---------------------------------------------------------------- checks

    def table(self, people: Iterable[int]) -> list[int]:
        masks = frozenset(self.mask[i] for i in people)
        found = self._tables.get(masks)
        if found is None:
            found = self._tables[masks] = _cover_table(masks, len(self.reqs))
        return found

    def need_text(self, bit: int) -> str:
        skill, level = self.reqs[bit]
        return f"{skill}>={level}"

    def check(self) -> None:
        """Everything that can be known before planning, each problem once."""
        n = len(self.people)
        if self.k > n:
            raise Infeasible([
                ngettext("{k} person per shift needs at least {k} expert",
                         "{k} people per shift needs at least {k} experts", self.k).format(
                    k=self.k) + "; " +
                ngettext("the pool has {n} active expert", "the pool has {n} active experts",
                         n).format(n=n)])
        reasons: list[str] = []
        for skill, level in self.reqs:
            if any(p.skills.get(skill, 0) >= level for p in self.people):
                continue
            holders = sorted((p for p in self.people if p.skills.get(skill, 0) > 0),
                             key=lambda p: (-p.skills[skill], p.name, p.id))
            if level == 1:
                reasons.append(_("nobody has {s} (required on every shift)").format(s=skill))
            elif not holders:
                reasons.append(_("nobody has {s} at level {v} or above (required on every "
                                 "shift); nobody has {s} at all").format(s=skill, v=level))
            else:
                reasons.append(_("nobody has {s} at level {v} or above (required on every "
                                 "shift); experts with {s}: {who}").format(
                    s=skill, v=level, who=_names(
                        _("{name} (level {v})").format(name=p.name, v=p.skills[skill])
                        for p in holders)))
        if reasons:
            raise Infeasible(reasons)
        for position in range(len(self.shifts)):
            reasons.extend(self.shift_problems(position, self.available(position)))
        if reasons:
            raise Infeasible(reasons)

    def shift_problems(self, position: int, avail: list[int]) -> list[str]:
        """Why ``avail`` (the people free for the shift, less those on an overlapping
        shift) cannot fill the places left on it."""
        cands, need, uncovered = self.gap(position, avail)
        if len(cands) >= need and self.table(cands)[uncovered] <= need:
            return []
        label = _("shift {when}").format(when=shift_label(self.shifts[self.order[position]]))
        free = set(self.free[position])
        here = set(avail)
        members = set(self.crew[position])

        def why(wanted: int = 0) -> str:
            away = [p.name for i, p in enumerate(self.people)
                    if i not in free and i not in members and self.mask[i] & wanted == wanted]
            busy = [p.name for i, p in enumerate(self.people)
                    if i in free and i not in here and i not in members
                    and self.mask[i] & wanted == wanted]
            parts = []
            if away:
                parts.append(_("on leave: {who}").format(who=_names(away)))
            if busy:
                parts.append((_("on or resting from a nearby shift: {who}") if self.resting
                              else _("on an overlapping shift: {who}")).format(
                    who=_names(busy)))
            return f" ({'; '.join(parts)})" if parts else ""

        out: list[str] = []
        if not cands and need:
            out.append(_("{shift}: nobody is free{why}").format(shift=label, why=why()))
            return out
        if len(cands) < need:
            out.append(_("{shift}: only {n} of the {k} people needed are free{why}").format(
                shift=label, n=len(cands), k=need, why=why()))
        bits = [bit for bit in range(len(self.reqs)) if uncovered >> bit & 1]
        missing = False
        for bit in bits:
            if not any(self.mask[i] >> bit & 1 for i in cands):
                missing = True
                out.append(_("{shift}: nobody with {need} is free{why}").format(
                    shift=label, need=self.need_text(bit), why=why(1 << bit)))
        if not missing and len(cands) >= need:
            out.append(_("{shift}: no {k} free people together hold {needs}").format(
                shift=label, k=need, needs=", ".join(self.need_text(bit) for bit in bits)))
        return out

    def eligible(self) -> list[bool]:
        """Who can take at least one shift: pinned on it, or free for it and in some
        valid crew with the people pinned there."""
        out = [False] * len(self.people)
        for position, free in enumerate(self.free):
            pinned = self.pinned[position]
            for i in pinned:
                out[i] = True
            cands = [i for i in free if i not in pinned]
            need, rest = self.k - len(pinned), self.full & ~self.covered(pinned)
            table = self.table(cands)
            for i in cands:
                if not out[i] and need and table[rest & ~self.mask[i]] <= need - 1:
                    out[i] = True
        return out

    # ---------------------------------------------------------------- greedy

    def plan(self) -> Rotation:
        for position, pinned in enumerate(self.pinned):
            for i in sorted(pinned):
                self.join(position, i)
        self.check()
        eligible = self.eligible()
        self.greedy()
        self.improve([i for i in range(len(self.people)) if eligible[i]])
        crew: list[list[int]] = [[] for _ in self.shifts]
        for position, members in enumerate(self.crew):
            crew[self.order[position]] = sorted(self.people[i].id for i in members)
        return Rotation(
            shifts=list(self.shifts), crew=crew,
            load={p.id: self.load[i] for i, p in enumerate(self.people)},
            eligible=frozenset(p.id for i, p in enumerate(self.people) if eligible[i]))

    def greedy(self) -> None:
        n = len(self.people)
        # Look-ahead: a holder of a required skill owes each future shift it is free
        # for 1/(free holders) of a slot; keeping that owed share in the key keeps the
        # holders of a scarce skill for the shifts that need them.
        share: list[list[tuple[int, float]]] = []
        reserve = [0.0] * n
        remaining = [0] * n
        for position, free in enumerate(self.free):
            owed: list[tuple[int, float]] = []
            if len(self.crew[position]) == self.k:
                share.append(owed)
                continue  # pinned whole: nobody is owed to it
            for bit in range(len(self.reqs)):
                holders = [i for i in free if self.mask[i] >> bit & 1]
                for i in holders:
                    owed.append((i, 1.0 / len(holders)))
                    reserve[i] += 1.0 / len(holders)
            share.append(owed)
            for i in free:
                remaining[i] += 1
        for position, free in enumerate(self.free):
            for i, part in share[position]:
                reserve[i] -= part
            for i in free:
                remaining[i] -= 1
            if len(self.crew[position]) == self.k:
                continue

            def key(i: int) -> tuple[float, int, int]:
                return (self.load[i] + reserve[i], remaining[i], self.rank[i])

            chosen = self.select(position, key)
            if chosen is None:
                try:
                    chosen = self.unblock(position, key)
                except Infeasible:
                    if self.search():
                        return
                    raise
            for i in chosen:
                self.join(position, i)

    def search(self) -> bool:
        """The last resort when overlapping shifts defeat the greedy: a complete
        search (on small rosters, within a budget) that staffs the shifts in time
        order, trying every valid crew, least-loaded first, and backing up as soon as
        a later overlapping shift could no longer be staffed. True when it found a
        plan (left in place); False leaves the planner's state undefined."""
        if any(comb(len(free), self.k) > _SEARCH_CREWS for free in self.free):
            return False
        for position, members in enumerate(self.crew):
            for person in list(members):
                if person not in self.pinned[position]:
                    self.leave(position, person)
        return self.place(0, [_SEARCH_BUDGET])

    def place(self, position: int, budget: list[int]) -> bool:
        if position == len(self.shifts):
            return True
        cands, need, uncovered = self.gap(position, self.available(position))
        crews = [crew for crew in combinations(cands, need)
                 if self.covered(crew) & uncovered == uncovered]
        crews.sort(key=lambda crew: (sum(self.load[i] for i in crew),
                                     [self.rank[i] for i in crew]))
        later = [t for t in self.overlaps[position] if t > position]
        for crew in crews:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            for i in crew:
                self.join(position, i)
            if all(self.staffable(t) for t in later) and self.place(position + 1, budget):
                return True
            for i in crew:
                self.leave(position, i)
        return False

    def staffable(self, position: int) -> bool:
        cands, need, uncovered = self.gap(position, self.available(position))
        return len(cands) >= need and self.table(cands)[uncovered] <= need

    def available(self, position: int) -> list[int]:
        near = self.overlaps[position]
        if not near:
            return self.free[position]
        return [i for i in self.free[position]
                if not any(t in self.assigned[i] for t in near)]

    def select(self, position: int, key: _Key) -> list[int] | None:
        """The people for the places left on the shift: a cover of the required skills
        its crew lacks (scarcest skill first, lowest key first), then the lowest keys."""
        avail, need, uncovered = self.gap(position, self.available(position))
        if len(avail) < need:
            return None
        table = self.table(avail)
        cover = self.cover(avail, uncovered, need, [], table, key)
        if cover is None:
            return None
        taken = set(cover)
        rest = heapq.nsmallest(need - len(cover), (i for i in avail if i not in taken),
                               key=key)
        return cover + rest

    def cover(self, avail: list[int], uncovered: int, slots: int, chosen: list[int],
              table: list[int], key: _Key) -> list[int] | None:
        if not uncovered:
            return chosen
        if table[uncovered] > slots:
            return None
        pool = [i for i in avail if i not in chosen and self.mask[i] & uncovered]
        bits = [b for b in range(len(self.reqs)) if uncovered >> b & 1]
        scarcest = min(bits, key=lambda b: (sum(1 for i in pool if self.mask[i] >> b & 1), b))
        best: dict[int, int] = {}
        for i in pool:
            if self.mask[i] >> scarcest & 1:
                group = self.mask[i] & uncovered
                if group not in best or key(i) < key(best[group]):
                    best[group] = i
        for group, person in sorted(best.items(), key=lambda item: key(item[1])):
            found = self.cover(avail, uncovered & ~group, slots - 1, [*chosen, person],
                               table, key)
            if found is not None:
                return found
        return None

    def unblock(self, position: int, key: _Key) -> list[int]:
        """The greedy could not staff this shift because people it needs are on
        overlapping shifts: move them off those shifts along chains of replacements,
        keeping each move that staffs the shift or frees more people for it."""
        progress = True
        while progress:
            progress = False
            blocked = sorted((i for i in self.free[position]
                              if any(t in self.assigned[i] for t in self.overlaps[position])),
                             key=key)
            for person in blocked:
                before = len(self.available(position))
                moves = self.release(person, position)
                if moves is None:
                    continue
                chosen = self.select(position, key)
                if chosen is not None:
                    return chosen
                if len(self.available(position)) > before:
                    progress = True
                    break
                self.undo(moves)
        avail = self.available(position)
        raise Infeasible(self.shift_problems(position, avail) or [
            _("{shift}: no {k} free people can be found for it").format(
                shift=_("shift {when}").format(
                    when=shift_label(self.shifts[self.order[position]])),
                k=self.k - len(self.crew[position]))])

    def release(self, person: int, position: int) -> list[list[_Move]] | None:
        """Take ``person`` off every shift overlapping ``position``: the chains of
        moves made, or None (and nothing changed) when that cannot be done."""
        done: list[list[_Move]] = []
        for other in sorted(t for t in self.overlaps[position] if t in self.assigned[person]):
            moves = self.hand_over(person, other, position, _RELEASE_DEPTH, {}, set(), set())
            if moves is None:
                self.undo(done)
                return None
            self.apply(moves)
            done.append(moves)
        return done

    def apply(self, moves: list[_Move]) -> None:
        """One chain: everyone leaves, then everyone joins (a chain may be a cycle)."""
        for shift, leaver, _joiner in moves:
            self.leave(shift, leaver)
        for shift, _leaver, joiner in moves:
            self.join(shift, joiner)

    def undo(self, chains: list[list[_Move]]) -> None:
        for moves in reversed(chains):
            self.apply([(shift, joiner, leaver) for shift, leaver, joiner in moves])

    def missing_without(self, position: int, leaver: int) -> int:
        """The required skills (as bits) the shift's crew lacks once ``leaver`` leaves."""
        rest = 0
        for i in self.crew[position]:
            if i != leaver:
                rest |= self.mask[i]
        return self.full & ~rest

    def hand_over(self, leaver: int, position: int, keep_free: int, depth: int,
                  leaving: dict[int, int], joined: set[int],
                  tried: set[tuple[int, int]]) -> list[_Move] | None:
        """Moves ``(shift, leaver, joiner)`` that take ``leaver`` off the shift: someone
        replaces them, and if that someone is on an overlapping shift, is replaced
        there in turn (up to ``depth`` more times). Pinned people never move."""
        if leaver in self.pinned[position]:
            return None
        members = self.crew[position]
        missing = self.missing_without(position, leaver)
        leaving = {**leaving, leaver: position}
        candidates = self.free[position]
        if keep_free in self.overlaps[position]:  # who joins here is lost to keep_free
            wanted = set(self.free[keep_free])
            candidates = sorted(candidates, key=lambda i: i in wanted)
        for joiner in candidates:
            if (joiner in members or joiner in joined
                    or (self.mask[joiner] & missing) != missing):
                continue
            conflicts = [t for t in self.overlaps[position]
                         if t in self.assigned[joiner] and leaving.get(joiner) != t]
            if not conflicts:
                return [(position, leaver, joiner)]
            if depth == 0 or len(conflicts) > 1:
                continue
            other = conflicts[0]
            if other == keep_free or other in leaving.values() or (joiner, other) in tried:
                continue
            tried.add((joiner, other))
            rest_moves = self.hand_over(joiner, other, keep_free, depth - 1, leaving,
                                        joined | {joiner}, tried)
            if rest_moves is not None:
                return [(position, leaver, joiner), *rest_moves]
        return None

    def join(self, position: int, person: int) -> None:
        self.crew[position].append(person)
        self.assigned[person].add(position)
        self.load[person] += 1

    def leave(self, position: int, person: int) -> None:
        self.crew[position].remove(person)
        self.assigned[person].discard(position)
        self.load[person] -= 1

    # ---------------------------------------------------------------- balancing

    def improve(self, eligible: list[int]) -> None:
        """Chains of replacements; with skill requirements, while the spread is 2 or
        more, also the best crew for each shift given everyone else's load (a change
        of who covers which skill that no single replacement can make), and chains
        again after any change. Both lower the sum of squared loads, so this ends."""
        eligible.sort(key=lambda i: self.rank[i])
        self.balance(eligible)
        while self.reqs and eligible:
            loads = [self.load[i] for i in eligible]
            if max(loads) - min(loads) <= 1:
                return
            changed = False
            for position in range(len(self.shifts)):
                changed = self.recompose(position) or changed
            if not changed:
                return
            self.balance(eligible)

    def recompose(self, position: int) -> bool:
        """Replace the shift's crew by the valid crew with the lowest total load of
        the others' shifts (the sum of squared loads falls), or with an equal total
        that gives the shift to less-loaded people (the sum of ``1/(load + 1)``
        falls), when that beats the present crew. A shift with pinned people keeps
        its crew."""
        if self.pinned[position]:
            return False
        members = set(self.crew[position])
        groups: dict[int, list[tuple[int, int]]] = {}
        for i in self.available(position):
            groups.setdefault(self.mask[i], []).append((self.load[i] - (i in members), i))
        for group in groups.values():
            group.sort(key=lambda item: (item[0], item[1] not in members, self.rank[item[1]]))
            del group[self.k:]
        # (covered skills, people taken) -> (total load, tie-break, people)
        states: dict[tuple[int, int], tuple[int, float, tuple[int, ...]]] = {
            (0, 0): (0, 0.0, ())}
        for mask in sorted(groups):
            following = dict(states)
            for (covered, count), (cost, tie, taken) in states.items():
                for j, (other_load, person) in enumerate(groups[mask][:self.k - count]):
                    cost += other_load
                    tie += _gain(other_load)
                    taken = (*taken, person)
                    state = (covered | mask, count + j + 1)
                    if state not in following or (cost, tie) < following[state][:2]:
                        following[state] = (cost, tie, taken)
            states = following
        best = states.get((self.full, self.k))
        if best is None or set(best[2]) == members:
            return False
        present = sum(self.load[i] - 1 for i in members)
        if best[0] > present or best[0] == present and not (
                sum(_exact_gain(self.load[i]) for i in set(best[2]) - members)
                < sum(_exact_gain(self.load[i] - 1) for i in members - set(best[2]))):
            return False
        for person in list(self.crew[position]):
            self.leave(position, person)
        for person in best[2]:
            self.join(position, person)
        return True

    def balance(self, eligible: list[int]) -> None:
        """Move shifts along chains of valid replacements from a person with load L
        to one with load <= L - 2 until no such chain exists (each move lowers the
        sum of squared loads, so this ends). ``eligible`` is in rank order."""
        while eligible:
            loads = sorted({self.load[i] for i in eligible}, reverse=True)
            lowest = loads[-1]
            for level in loads:
                if level - 2 < lowest:
                    return
                sources = [i for i in eligible if self.load[i] == level]
                path = self.chain(sources, level - 2)
                if path is not None:
                    for position, leaver, joiner in path:
                        self.leave(position, leaver)
                        self.join(position, joiner)
                    break
            else:
                return

    def chain(self, sources: list[int], limit: int) -> list[_Move] | None:
        """Breadth-first: ``a`` -> ``b`` when ``b`` can replace ``a`` on one of
        ``a``'s shifts. Returns the moves ``(shift, leaver, joiner)`` of a chain from a
        source to someone with load <= ``limit``."""
        parent: dict[int, tuple[int, int]] = {}
        seen = set(sources)
        expanded: set[tuple[int, int]] = set()
        queue = deque(sources)
        while queue:
            leaver = queue.popleft()
            for position in sorted(self.assigned[leaver]):
                if leaver in self.pinned[position]:
                    continue
                members = self.crew[position]
                missing = self.missing_without(position, leaver)
                if (position, missing) in expanded:
                    continue
                expanded.add((position, missing))
                near = self.overlaps[position]
                for joiner in self.free[position]:
                    if (joiner in seen or joiner in members
                            or (self.mask[joiner] & missing) != missing
                            or (near and any(t in self.assigned[joiner] for t in near))):
                        continue
                    seen.add(joiner)
                    parent[joiner] = (leaver, position)
                    if self.load[joiner] <= limit:
                        path = self.path(parent, joiner)
                        if path is not None:
                            return path
                    queue.append(joiner)
        return None

    def path(self, parent: dict[int, tuple[int, int]],
             target: int) -> list[_Move] | None:
        moves: list[_Move] = []
        person = target
        while person in parent:
            leaver, position = parent[person]
            moves.append((position, leaver, person))
            person = leaver
        touched: dict[int, list[int]] = {}
        for position, leaver, joiner in moves:
            members = touched.setdefault(position, list(self.crew[position]))
            members.remove(leaver)
            members.append(joiner)
        for members in touched.values():
            covered = 0
            for i in members:
                covered |= self.mask[i]
            if covered != self.full or len(set(members)) != len(members):
                return None
        return moves

