"""The on-call planner's working state: who can be where, and who is where now.

``PlanState`` turns a request (people, shifts, requirement, seed, pinned people) into
plain indexes the search works on, and keeps the plan being built:

- people are numbered by position in id order and shifts by position in time order
  (``order[position]`` is the shift's index in the caller's list);
- every person's required skills are a bit mask (``mask``; bit ``b`` is
  ``reqs[b]``), so "does this crew cover the requirement" is an ``|`` and a compare,
  and ``table`` (``cover_table``) says how few people among some candidates can
  cover the skills still missing;
- ``overlaps[position]``: the shifts that overlap it (the rest between shifts
  included), ``free[position]``: the people no busy period keeps from it (in the
  ``seed``-shuffled ``rank`` order that breaks every tie), ``pinned[position]``: the
  people fixed on it;
- ``crew``, ``assigned`` and ``load`` are the plan so far, changed only by ``join``
  and ``leave``.

``expert_pool.rotation_planner`` searches over this state,
``expert_pool.rotation_balance`` evens its load and ``expert_pool.rotation_diagnose``
explains why it cannot be completed. Pure: no database, no clock.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence

from expert_pool.rotation_model import Person, Requirement
from expert_pool.rotation_shifts import Shift, instant
from garrison.errors import GarrisonError
from garrison.i18n import _

LEVELS = (1, 2, 3)
UNREACHABLE = 1 << 30
"""``cover_table``'s answer for skills the candidates cannot cover at all."""
Move = tuple[int, int, int]
"""``(shift position, leaver, joiner)``: one person replaces another on a shift."""


def requirements(req: Requirement) -> list[tuple[str, int]]:
    """The required ``(skill, min level)`` pairs, one per skill (the highest level
    asked); ``GarrisonError`` for a malformed requirement."""
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


def cover_table(masks: frozenset[int], bits: int) -> list[int]:
    """``table[need]``: the fewest people (one per distinct mask) whose masks cover
    ``need``; ``UNREACHABLE`` when they cannot."""
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
                default=UNREACHABLE) for need in range(1 << bits)]


class PlanState:
    """A request as indexes, and the plan being built on it (see the module docstring)."""

    def __init__(self, people: Sequence[Person], shifts: Sequence[Shift], req: Requirement,
                 seed: int, fixed: Mapping[int, Collection[int]] | None = None) -> None:
        self.reqs = requirements(req)
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
        span = [(instant(s.starts), instant(s.ends)) for s in self.shifts]
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
        busy = [[(instant(a), instant(b)) for a, b in p.busy] for p in self.people]
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

    def table(self, people: Iterable[int]) -> list[int]:
        """``cover_table`` of these people's masks (cached per set of masks)."""
        masks = frozenset(self.mask[i] for i in people)
        found = self._tables.get(masks)
        if found is None:
            found = self._tables[masks] = cover_table(masks, len(self.reqs))
        return found

    def available(self, position: int) -> list[int]:
        """The people free for the shift and on no shift that overlaps it."""
        near = self.overlaps[position]
        if not near:
            return self.free[position]
        return [i for i in self.free[position]
                if not any(t in self.assigned[i] for t in near)]

    def missing_without(self, position: int, leaver: int) -> int:
        """The required skills (as bits) the shift's crew lacks once ``leaver`` leaves."""
        rest = 0
        for i in self.crew[position]:
            if i != leaver:
                rest |= self.mask[i]
        return self.full & ~rest

    def join(self, position: int, person: int) -> None:
        """``person`` takes a place on the shift."""
        self.crew[position].append(person)
        self.assigned[person].add(position)
        self.load[person] += 1

    def leave(self, position: int, person: int) -> None:
        """``person`` gives up their place on the shift."""
        self.crew[position].remove(person)
        self.assigned[person].discard(position)
        self.load[person] -= 1
