"""The planner with pinned people (``plan_rotation(..., fixed=...)``): pinned people stay
where they are, only the open places are filled -- validly, fairly, with the rest rule
around the pinned shifts -- and an impossible refill says exactly what is missing."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expert_pool.rotation import Infeasible, Person, Requirement, Rotation, Shift, plan_rotation
from tests.expert_pool.test_rotation import assert_valid, days, overlap, roster, rosters

REST = timedelta(hours=8)


def assert_pinned(rot: Rotation, shifts: Sequence[Shift],
                  fixed: dict[int, list[int]]) -> None:
    for shift, crew in zip(shifts, rot.crew, strict=True):
        assert set(fixed.get(shift.index, [])) <= set(crew), shift


def test_pinned_people_stay_and_only_the_open_places_are_filled() -> None:
    people, shifts = roster(6), days(3)
    req = Requirement(per_shift=2)
    fixed = {0: [1, 2], 1: [3], 2: [1, 2], 3: [3], 4: [1, 2], 5: [3]}
    rot = plan_rotation(people, shifts, req, fixed=fixed)
    assert_valid(rot, people, shifts, req)
    assert_pinned(rot, shifts, fixed)
    assert [rot.crew[i] for i in (0, 2, 4)] == [[1, 2]] * 3
    extra = Counter(i for position in (1, 3, 5) for i in rot.crew[position] if i != 3)
    assert sorted(extra) == [4, 5, 6]  # the three open places go to three different people
    assert rot.load == {1: 3, 2: 3, 3: 3, 4: 1, 5: 1, 6: 1}


def test_the_refill_brings_the_skill_the_kept_crew_lacks() -> None:
    people = [Person(1, "A", {"forensics": 3}), Person(2, "B", {}), Person(3, "C", {}),
              Person(4, "D", {"forensics": 2}), Person(5, "E", {"forensics": 1})]
    shifts = days(1)
    req = Requirement(per_shift=2, skills=(("forensics", 2),))
    rot = plan_rotation(people, shifts, req, fixed={0: [2], 1: [3]})
    assert_valid(rot, people, shifts, req)
    for crew, kept in zip(rot.crew, (2, 3), strict=True):
        assert kept in crew and len(set(crew) & {1, 4}) == 1  # E's forensics:1 is too low


def test_the_refill_goes_to_the_least_loaded_counting_the_pinned_shifts() -> None:
    people, shifts = roster(3), days(3)
    # 1 and 2 are pinned on four shifts between them; the two open shifts go to 3
    fixed = {0: [1], 1: [2], 2: [1], 3: [2]}
    rot = plan_rotation(people, shifts, Requirement(), fixed=fixed)
    assert rot.crew[4:] == [[3], [3]]
    assert rot.load == {1: 2, 2: 2, 3: 2}


def test_nobody_gets_an_open_place_without_the_rest_after_a_pinned_shift() -> None:
    people, shifts = roster(3), days(2)
    fixed = {0: [1], 2: [2], 3: [3]}
    rot = plan_rotation(people, shifts, Requirement(rest=REST), fixed=fixed)
    # shift 1 (20:00-08:00) follows 1's day shift and precedes 2's next day shift
    assert rot.crew[1] == [3]


def test_an_impossible_refill_names_what_is_missing() -> None:
    people = [Person(1, "甲", {"opinion": 3}), Person(2, "乙", {}),
              Person(3, "丙", {"opinion": 3}, busy=((days(1)[1].starts, days(1)[1].ends),))]
    shifts = days(1)
    req = Requirement(per_shift=1, skills=(("opinion", 3),), rest=REST)
    with pytest.raises(Infeasible) as caught:
        plan_rotation(people, shifts, req, fixed={0: [1]})
    assert caught.value.reasons == [
        "shift 2026-12-01 20:00-08:00: nobody with opinion>=3 is free (on leave: 丙; on or "
        "resting from a nearby shift: 甲)"]
    with pytest.raises(Infeasible) as caught:
        plan_rotation(roster(3), days(1), Requirement(per_shift=2, rest=REST),
                      fixed={0: [1, 2]})
    assert caught.value.reasons == [
        "shift 2026-12-01 20:00-08:00: only 1 of the 2 people needed are free (on or resting "
        "from a nearby shift: P1, P2)"]


def test_pins_that_cannot_be_are_a_callers_bug() -> None:
    with pytest.raises(ValueError, match="no shift 9"):
        plan_rotation(roster(2), days(1), Requirement(), fixed={9: [1]})
    with pytest.raises(ValueError, match="cannot pin"):
        plan_rotation(roster(2), days(1), Requirement(), fixed={0: [1, 2]})
    with pytest.raises(ValueError, match="cannot pin"):
        plan_rotation(roster(2), days(1), Requirement(), fixed={0: [7]})


# ------------------------------------------------------------------ properties


def valid_completions(people: Sequence[Person], shifts: Sequence[Shift], req: Requirement,
                      fixed: dict[int, list[int]]) -> list[list[tuple[int, ...]]]:
    """Per shift, every crew that keeps its pinned people, is free and holds the skills."""
    out = []
    by_id = {p.id: p for p in people}
    for shift in shifts:
        pinned = set(fixed.get(shift.index, []))
        free = [p.id for p in people if p.id in pinned or not any(
            overlap((shift.starts, shift.ends), b) for b in p.busy)]
        out.append([crew for crew in itertools.combinations(sorted(free), req.per_shift)
                    if pinned <= set(crew) and all(
                        any(by_id[i].skills.get(s, 0) >= v for i in crew)
                        for s, v in req.skills)])
    return out


def rested(shifts: Sequence[Shift], plan: Sequence[tuple[int, ...]], rest: timedelta) -> bool:
    for a, b in itertools.combinations(range(len(shifts)), 2):
        near = overlap((shifts[a].starts, shifts[a].ends + rest),
                       (shifts[b].starts, shifts[b].ends + rest))
        if near and set(plan[a]) & set(plan[b]):
            return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rosters(), st.integers(0, 3), st.data(), st.booleans())
def test_a_refill_keeps_the_pins_and_is_found_whenever_one_exists(
        case: tuple[list[Person], list[Shift], Requirement], seed: int,
        data: st.DataObject, rest: bool) -> None:
    people, shifts, req = case
    req = Requirement(req.per_shift, req.skills, REST if rest else timedelta(0))
    try:
        first = plan_rotation(people, shifts, req, seed=seed)
    except Infeasible:
        return
    # keep a random part of the plan, as a repair keeps the unaffected places
    fixed = {shift.index: [i for i in crew if data.draw(st.booleans())]
             for shift, crew in zip(shifts, first.crew, strict=True)}
    options = valid_completions(people, shifts, req, fixed)
    exists = None
    if all(options) and len(list(itertools.product(*options))) <= 4000:
        exists = any(rested(shifts, plan, req.rest) for plan in itertools.product(*options))
    try:
        rot = plan_rotation(people, shifts, req, seed=seed, fixed=fixed)
    except Infeasible:
        assert exists is not True
        return
    assert exists is not False
    assert_valid(rot, people, shifts, req)
    assert_pinned(rot, shifts, fixed)
    assert rested(shifts, [tuple(c) for c in rot.crew], req.rest)
    assert plan_rotation(people, shifts, req, seed=seed, fixed=fixed) == rot
