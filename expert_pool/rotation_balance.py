"""Evening out an on-call plan's load: how many shifts each person works.

A complete plan (every shift staffed, every rule kept) comes in from the greedy pass
of ``expert_pool.rotation_planner``; ``improve`` makes its load as even as the rules
allow, never breaking one:

- ``_balance`` moves shifts along chains of valid replacements (breadth first,
  ``_chain``/``_path``) from a person with load L to one with load L - 2 or less, until
  no such chain is left;
- with required skills, ``_recompose`` re-picks a single shift's crew -- who covers
  which skill -- when the best crew given everyone else's load beats the present one
  (a change no single replacement can make), and ``_balance`` runs again.

Every step lowers the sum of squared loads (or, at equal sums, the sum of
``1/(load + 1)``), so the loop ends. Pinned people are never moved. Without skill
requirements the result is optimal; with them it is a heuristic (see
``expert_pool.rotation``).
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

from expert_pool.rotation_state import Move, PlanState

__all__ = ["improve"]


def improve(plan: PlanState, eligible: list[int]) -> None:
    """Chains of replacements; with skill requirements, while the spread is 2 or
    more, also the best crew for each shift given everyone else's load (a change
    of who covers which skill that no single replacement can make), and chains
    again after any change. Both lower the sum of squared loads, so this ends."""
    eligible.sort(key=lambda i: plan.rank[i])
    _balance(plan, eligible)
    while plan.reqs and eligible:
        loads = [plan.load[i] for i in eligible]
        if max(loads) - min(loads) <= 1:
            return
        changed = False
        for position in range(len(plan.shifts)):
            changed = _recompose(plan, position) or changed
        if not changed:
            return
        _balance(plan, eligible)


def _recompose(plan: PlanState, position: int) -> bool:
    """Replace the shift's crew by the valid crew with the lowest total load of
    the others' shifts (the sum of squared loads falls), or with an equal total
    that gives the shift to less-loaded people (the sum of ``1/(load + 1)``
    falls), when that beats the present crew. A shift with pinned people keeps
    its crew."""
    if plan.pinned[position]:
        return False
    members = set(plan.crew[position])
    groups: dict[int, list[tuple[int, int]]] = {}
    for i in plan.available(position):
        groups.setdefault(plan.mask[i], []).append((plan.load[i] - (i in members), i))
    for group in groups.values():
        group.sort(key=lambda item: (item[0], item[1] not in members, plan.rank[item[1]]))
        del group[plan.k:]
    # (covered skills, people taken) -> (total load, tie-break, people)
    states: dict[tuple[int, int], tuple[int, float, tuple[int, ...]]] = {
        (0, 0): (0, 0.0, ())}
    for mask in sorted(groups):
        following = dict(states)
        for (covered, count), (cost, tie, taken) in states.items():
            for j, (other_load, person) in enumerate(groups[mask][:plan.k - count]):
                cost += other_load
                tie += _gain(other_load)
                taken = (*taken, person)
                state = (covered | mask, count + j + 1)
                if state not in following or (cost, tie) < following[state][:2]:
                    following[state] = (cost, tie, taken)
        states = following
    best = states.get((plan.full, plan.k))
    if best is None or set(best[2]) == members:
        return False
    present = sum(plan.load[i] - 1 for i in members)
    if best[0] > present or best[0] == present and not (
            sum(_exact_gain(plan.load[i]) for i in set(best[2]) - members)
            < sum(_exact_gain(plan.load[i] - 1) for i in members - set(best[2]))):
        return False
    for person in list(plan.crew[position]):
        plan.leave(position, person)
    for person in best[2]:
        plan.join(position, person)
    return True


def _balance(plan: PlanState, eligible: list[int]) -> None:
    """Move shifts along chains of valid replacements from a person with load L
    to one with load <= L - 2 until no such chain exists (each move lowers the
    sum of squared loads, so this ends). ``eligible`` is in rank order."""
    while eligible:
        loads = sorted({plan.load[i] for i in eligible}, reverse=True)
        lowest = loads[-1]
        for level in loads:
            if level - 2 < lowest:
                return
            sources = [i for i in eligible if plan.load[i] == level]
            path = _chain(plan, sources, level - 2)
            if path is not None:
                for position, leaver, joiner in path:
                    plan.leave(position, leaver)
                    plan.join(position, joiner)
                break
        else:
            return


def _chain(plan: PlanState, sources: list[int], limit: int) -> list[Move] | None:
    """Breadth-first: ``a`` -> ``b`` when ``b`` can replace ``a`` on one of
    ``a``'s shifts. Returns the moves ``(shift, leaver, joiner)`` of a chain from a
    source to someone with load <= ``limit``."""
    parent: dict[int, tuple[int, int]] = {}
    seen = set(sources)
    expanded: set[tuple[int, int]] = set()
    queue = deque(sources)
    while queue:
        leaver = queue.popleft()
        for position in sorted(plan.assigned[leaver]):
            if leaver in plan.pinned[position]:
                continue
            members = plan.crew[position]
            missing = plan.missing_without(position, leaver)
            if (position, missing) in expanded:
                continue
            expanded.add((position, missing))
            near = plan.overlaps[position]
            for joiner in plan.free[position]:
                if (joiner in seen or joiner in members
                        or (plan.mask[joiner] & missing) != missing
                        or (near and any(t in plan.assigned[joiner] for t in near))):
                    continue
                seen.add(joiner)
                parent[joiner] = (leaver, position)
                if plan.load[joiner] <= limit:
                    path = _path(plan, parent, joiner)
                    if path is not None:
                        return path
                queue.append(joiner)
    return None


def _path(plan: PlanState, parent: dict[int, tuple[int, int]],
          target: int) -> list[Move] | None:
    """The moves of the chain ``_chain`` found to ``target``, or None when, made
    together, they would leave a shift without a required skill or with someone on
    it twice."""
    moves: list[Move] = []
    person = target
    while person in parent:
        leaver, position = parent[person]
        moves.append((position, leaver, person))
        person = leaver
    touched: dict[int, list[int]] = {}
    for position, leaver, joiner in moves:
        members = touched.setdefault(position, list(plan.crew[position]))
        members.remove(leaver)
        members.append(joiner)
    for members in touched.values():
        covered = 0
        for i in members:
            covered |= plan.mask[i]
        if covered != plan.full or len(set(members)) != len(members):
            return None
    return moves


def _gain(load: int) -> float:
    """How much ``1/(load + 1)`` falls when a person with ``load`` takes a shift."""
    return -1.0 / ((load + 1) * (load + 2))


def _exact_gain(load: int) -> Fraction:
    return Fraction(-1, (load + 1) * (load + 2))
