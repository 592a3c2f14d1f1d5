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

The planner is split into modules that each read in one sitting: ``rotation_shifts``
(the pattern and the shift grid), ``rotation_model`` (``Person``, ``Requirement``,
``Rotation``, ``Infeasible``), ``rotation_state`` (the request as indexes and the plan
being built), ``rotation_planner`` (the greedy pass, its repairs and the complete
search), ``rotation_balance`` (evening out the load) and ``rotation_diagnose`` (the
reasons of ``Infeasible``). This module is their public face: import from here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from expert_pool.rotation_model import Infeasible, Person, Requirement, Rotation
from expert_pool.rotation_planner import Planner
from expert_pool.rotation_shifts import (
    DEFAULT_PATTERN,
    MAX_DAYS,
    Shift,
    make_shifts,
    parse_pattern,
    shift_label,
)

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
    return Planner(people, shifts, req, seed, fixed).plan()
