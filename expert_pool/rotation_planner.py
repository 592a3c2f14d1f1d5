"""The on-call planner's search: a valid plan, shift by shift.

``Planner.plan`` is ``plan_rotation`` (``expert_pool.rotation``, whose docstring states
the rules and the guarantees). In order:

1. the pinned people take their places, and ``rotation_diagnose.check`` refuses up
   front what no search can fix (too few people, a skill nobody has, a shift nobody
   free can staff), every problem at once;
2. ``eligible``: who can take at least one shift (the spread is measured over them);
3. ``greedy`` staffs the shifts in time order -- the skills the crew still lacks first
   (``select``/``cover``: scarcest skill first), then the least-loaded people. Its
   key is load plus a look-ahead (a holder of a required skill owes each later shift
   they are free for 1/(free holders) of a place), so the holders of a scarce skill
   are kept for the shifts that need them. When people a shift needs are on
   overlapping shifts, ``unblock`` moves them off along chains of replacements
   (``release``/``hand_over``); when that fails too, ``search`` -- a complete,
   budgeted backtracking search, small rosters only -- has the last word before
   ``Infeasible``;
4. ``rotation_balance.improve`` evens the load.

Deterministic: ties go by the ``seed``-shuffled rank of the people, never by the order
they were given in. Pure: no database, no clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import combinations
from math import comb

from expert_pool.rotation_balance import improve
from expert_pool.rotation_diagnose import check, unstaffable
from expert_pool.rotation_model import Infeasible, Rotation
from expert_pool.rotation_state import Move, PlanState

__all__ = ["Planner"]

_RELEASE_DEPTH = 4
_SEARCH_CREWS = 5_000
_SEARCH_BUDGET = 50_000

_Key = Callable[[int], tuple[float, int, int]]


class Planner(PlanState):
    """Builds one plan on its ``PlanState`` (make a new one for another plan)."""

    def plan(self) -> Rotation:
        """Pins, checks, the greedy pass, the balancing: the plan, or ``Infeasible``."""
        for position, pinned in enumerate(self.pinned):
            for i in sorted(pinned):
                self.join(position, i)
        check(self)
        eligible = self.eligible()
        self.greedy()
        improve(self, [i for i in range(len(self.people)) if eligible[i]])
        crew: list[list[int]] = [[] for _ in self.shifts]
        for position, members in enumerate(self.crew):
            crew[self.order[position]] = sorted(self.people[i].id for i in members)
        return Rotation(
            shifts=list(self.shifts), crew=crew,
            load={p.id: self.load[i] for i, p in enumerate(self.people)},
            eligible=frozenset(p.id for i, p in enumerate(self.people) if eligible[i]))

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

    def greedy(self) -> None:
        """Staff every shift not yet full, in time order (see the module docstring)."""
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
        """``search`` from ``position`` on; ``budget[0]``: the crews it may still try."""
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
        """Whether the people still available could fill the shift's open places."""
        cands, need, uncovered = self.gap(position, self.available(position))
        return len(cands) >= need and self.table(cands)[uncovered] <= need

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
        raise unstaffable(self, position)

    def release(self, person: int, position: int) -> list[list[Move]] | None:
        """Take ``person`` off every shift overlapping ``position``: the chains of
        moves made, or None (and nothing changed) when that cannot be done."""
        done: list[list[Move]] = []
        for other in sorted(t for t in self.overlaps[position] if t in self.assigned[person]):
            moves = self.hand_over(person, other, position, _RELEASE_DEPTH, {}, set(), set())
            if moves is None:
                self.undo(done)
                return None
            self.apply(moves)
            done.append(moves)
        return done

    def apply(self, moves: list[Move]) -> None:
        """One chain: everyone leaves, then everyone joins (a chain may be a cycle)."""
        for shift, leaver, _joiner in moves:
            self.leave(shift, leaver)
        for shift, _leaver, joiner in moves:
            self.join(shift, joiner)

    def undo(self, chains: list[list[Move]]) -> None:
        """Take back chains made by ``apply``, the last first."""
        for moves in reversed(chains):
            self.apply([(shift, joiner, leaver) for shift, leaver, joiner in moves])

    def hand_over(self, leaver: int, position: int, keep_free: int, depth: int,
                  leaving: dict[int, int], joined: set[int],
                  tried: set[tuple[int, int]]) -> list[Move] | None:
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
