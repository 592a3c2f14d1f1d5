"""The on-call planner: patterns, shifts across midnight and DST, the five properties
of a plan, the exact explanation of every infeasible request, determinism."""

from __future__ import annotations

import itertools
import math
import time as clock
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expert_pool.rotation import (
    DEFAULT_PATTERN,
    Infeasible,
    Person,
    Requirement,
    Rotation,
    Shift,
    make_shifts,
    parse_pattern,
    plan_rotation,
    shift_label,
)
from garrison.errors import GarrisonError

SH = ZoneInfo("Asia/Shanghai")
DEC1 = date(2026, 12, 1)
EXAMPLE = "; write HH:MM-HH:MM pieces separated by commas, e.g. 08:00-20:00,20:00-08:00"


def local(day: int, hour: int, minute: int = 0, *, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def days(n: int, pattern: str = DEFAULT_PATTERN, first: date = DEC1) -> list[Shift]:
    return make_shifts(first, first + timedelta(days=n - 1), parse_pattern(pattern),
                       "Asia/Shanghai")


def roster(n: int, skills: dict[str, int] | None = None) -> list[Person]:
    return [Person(i, f"P{i}", dict(skills or {})) for i in range(1, n + 1)]


def overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def assert_valid(rot: Rotation, people: Sequence[Person], shifts: Sequence[Shift],
                 req: Requirement) -> None:
    """Properties 1-4, and the load matches the crews."""
    by_id = {p.id: p for p in people}
    assert rot.shifts == list(shifts)
    assert len(rot.crew) == len(shifts)
    for shift, crew in zip(shifts, rot.crew, strict=True):
        assert len(crew) == req.per_shift == len(set(crew))
        for skill, level in req.skills:
            assert any(by_id[i].skills.get(skill, 0) >= level for i in crew), (shift, skill)
        for i in crew:
            assert not any(overlap((shift.starts, shift.ends), b) for b in by_id[i].busy)
    for a, b in itertools.combinations(range(len(shifts)), 2):
        if overlap((shifts[a].starts, shifts[a].ends), (shifts[b].starts, shifts[b].ends)):
            assert not set(rot.crew[a]) & set(rot.crew[b])
    counted = Counter(i for crew in rot.crew for i in crew)
    assert rot.load == {p.id: counted[p.id] for p in people}


# ------------------------------------------------------------------ patterns


def test_the_default_pattern_is_two_twelve_hour_shifts() -> None:
    assert DEFAULT_PATTERN == "08:00-20:00,20:00-08:00"
    assert parse_pattern(DEFAULT_PATTERN) == [(time(8), time(20)), (time(20), time(8))]


def test_a_pattern_may_end_at_24_00_and_cross_midnight() -> None:
    assert parse_pattern("08:00-16:00,16:00-24:00,00:00-08:00") == [
        (time(8), time(16)), (time(16), time(0)), (time(0), time(8))]
    assert parse_pattern(" 8:30 - 17:00 ，17:00-8:30 ") == [
        (time(8, 30), time(17)), (time(17), time(8, 30))]
    assert parse_pattern("00:00-24:00") == [(time(0), time(0))]


@pytest.mark.parametrize(("text", "message"), [
    ("", "shift pattern is empty"),
    ("08:00-20:00,", "shift pattern '08:00-20:00,': an empty piece between commas"),
    ("08:00-20:00,8h-20h", "shift pattern: '8h-20h' is not a shift"),
    ("08:00", "shift pattern: '08:00' is not a shift"),
    ("25:00-08:00", "shift pattern: '25:00-08:00' is not a time of day (00:00 to 24:00)"),
    ("24:00-08:00", "shift pattern: '24:00-08:00' is not a time of day (00:00 to 24:00)"),
    ("08:00-24:30", "shift pattern: '08:00-24:30' is not a time of day (00:00 to 24:00)"),
    ("08:61-20:00", "shift pattern: '08:61-20:00' is not a time of day (00:00 to 24:00)"),
    ("08:00-08:00", "shift pattern: '08:00-08:00' has zero length"),
    ("08:00-20:00,19:00-07:00", "shift pattern: '08:00-20:00' and '19:00-07:00' overlap"),
    ("20:00-08:00,07:00-09:00", "shift pattern: '20:00-08:00' and '07:00-09:00' overlap"),
    ("00:00-24:00,08:00-09:00", "shift pattern: '00:00-24:00' and '08:00-09:00' overlap"),
])
def test_a_bad_pattern_names_the_bad_piece_and_shows_an_example(text: str,
                                                                 message: str) -> None:
    with pytest.raises(GarrisonError) as caught:
        parse_pattern(text)
    assert caught.value.message == message + EXAMPLE
    assert caught.value.hint is not None and "24:00" in caught.value.hint


# ------------------------------------------------------------------ shifts


def test_shifts_cross_midnight_in_the_zone_sorted_and_numbered() -> None:
    shifts = days(3)
    assert len(shifts) == 6
    assert [s.index for s in shifts] == list(range(6))
    assert [(s.starts, s.ends) for s in shifts[:3]] == [
        (local(1, 8), local(1, 20)), (local(1, 20), local(2, 8)), (local(2, 8), local(2, 20))]
    assert shifts[-1].ends == local(4, 8)
    assert all(s.starts.tzinfo == SH and s.starts.utcoffset() == timedelta(hours=8)
               for s in shifts)
    assert shifts[1].starts.astimezone(UTC) == datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_three_shift_pattern_over_90_days_makes_270_back_to_back_shifts() -> None:
    shifts = days(90, "08:00-16:00,16:00-24:00,00:00-08:00")
    assert len(shifts) == 270
    assert (shifts[0].starts, shifts[0].ends) == (local(1, 0), local(1, 8))
    assert (shifts[2].starts, shifts[2].ends) == (local(1, 16), local(2, 0))
    assert shift_label(shifts[2]) == "2026-12-01 16:00-24:00"
    assert all(a.ends == b.starts for a, b in itertools.pairwise(shifts))
    assert shifts[-1].ends == datetime(2027, 3, 1, 0, tzinfo=SH)


def test_berlin_shifts_across_the_october_change_have_their_true_instants() -> None:
    shifts = make_shifts(date(2026, 10, 24), date(2026, 10, 25), parse_pattern(DEFAULT_PATTERN),
                         "Europe/Berlin")
    utc = [(s.starts.astimezone(UTC), s.ends.astimezone(UTC)) for s in shifts]
    assert utc == [
        (datetime(2026, 10, 24, 6, tzinfo=UTC), datetime(2026, 10, 24, 18, tzinfo=UTC)),
        (datetime(2026, 10, 24, 18, tzinfo=UTC), datetime(2026, 10, 25, 7, tzinfo=UTC)),
        (datetime(2026, 10, 25, 7, tzinfo=UTC), datetime(2026, 10, 25, 19, tzinfo=UTC)),
        (datetime(2026, 10, 25, 19, tzinfo=UTC), datetime(2026, 10, 26, 7, tzinfo=UTC)),
    ]
    night = shifts[1]
    assert night.ends.astimezone(UTC) - night.starts.astimezone(UTC) == timedelta(hours=13)
    assert str(night.starts.tzinfo) == "Europe/Berlin"
    assert (night.starts.utcoffset(), night.ends.utcoffset()) == (timedelta(hours=2),
                                                                  timedelta(hours=1))
    assert shift_label(night) == "2026-10-24 20:00-08:00"


def test_berlin_spring_gap_moves_to_its_end_and_drops_a_shift_inside_it() -> None:
    shifts = make_shifts(date(2026, 3, 29), date(2026, 3, 29),
                         parse_pattern("00:00-02:30,02:30-24:00"), "Europe/Berlin")
    assert [(s.starts.astimezone(UTC), s.ends.astimezone(UTC)) for s in shifts] == [
        (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC)),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))]
    gone = make_shifts(date(2026, 3, 28), date(2026, 3, 30),
                       parse_pattern("02:00-03:00,03:00-02:00"), "Europe/Berlin")
    assert len(gone) == 5  # the 29th has no 02:00-03:00
    assert all(a.ends.astimezone(UTC) <= b.starts.astimezone(UTC)
               for a, b in itertools.pairwise(gone))


def test_make_shifts_refuses_a_backwards_or_over_long_period_and_an_unknown_zone() -> None:
    pattern = parse_pattern(DEFAULT_PATTERN)
    with pytest.raises(GarrisonError) as caught:
        make_shifts(date(2026, 12, 2), date(2026, 12, 1), pattern, "Asia/Shanghai")
    assert caught.value.message == "the period ends (2026-12-01) before it starts (2026-12-02)"
    with pytest.raises(GarrisonError) as caught:
        make_shifts(date(2026, 1, 1), date(2027, 1, 2), pattern, "Asia/Shanghai")
    assert caught.value.message == ("a rotation covers at most 366 days; 2026-01-01 to "
                                    "2027-01-02 is 367 days")
    assert len(make_shifts(date(2026, 1, 1), date(2027, 1, 1), pattern, "UTC")) == 732
    with pytest.raises(GarrisonError) as caught:
        make_shifts(DEC1, DEC1, pattern, "Asia/Beijing")
    assert caught.value.message == "unknown time zone 'Asia/Beijing'"


# ------------------------------------------------------------------ plans


def test_everyone_available_gets_an_even_load() -> None:
    people, shifts = roster(7), days(10)
    req = Requirement(per_shift=2)
    rot = plan_rotation(people, shifts, req)
    assert_valid(rot, people, shifts, req)
    assert Counter(rot.load.values()) == {6: 5, 5: 2}  # 40 slots over 7 people
    assert rot.spread == 1
    assert rot.eligible == frozenset(range(1, 8)) and rot.unavailable == []


def test_required_skills_are_on_every_shift_at_the_best_spread_they_allow() -> None:
    people = [Person(1, "A", {"forensics": 2}), Person(2, "B", {"forensics": 3, "web": 1}),
              Person(3, "C", {"network": 2}), Person(4, "D", {"network": 1}),
              Person(5, "E", {"network": 3, "forensics": 1}), Person(6, "F", {}),
              Person(7, "G", {"forensics": 2, "network": 2})]
    shifts = days(7)
    req = Requirement(per_shift=2, skills=(("forensics", 2), ("network", 2)))
    rot = plan_rotation(people, shifts, req, seed=3)
    assert_valid(rot, people, shifts, req)
    # D and F hold neither skill at level 2: they can only partner G, who holds both,
    # so G works at least D + F shifts. With x shifts each for D and F, the four
    # others share 28 - 4x slots: spread max(2x, 7 - x) - min(x, 7 - x) >= 3.
    assert all(7 in crew for crew in rot.crew if {4, 6} & set(crew))
    assert rot.spread == 3
    assert sum(rot.load.values()) == 28
    even = plan_rotation(people[:3] + people[4:5] + people[6:], shifts, req)
    assert even.spread == 1  # without D and F: 28 slots over 5 people, 5 or 6 each
    assert sorted(even.load.values()) == [5, 5, 6, 6, 6]


def test_nobody_works_during_leave_and_the_rest_take_up_the_slack() -> None:
    people = roster(4)
    away = (local(3, 0), local(6, 0))  # the 3rd to the 5th: 6 of 16 shifts
    people[0] = Person(1, "P1", {}, (away,))
    shifts = days(8)
    req = Requirement(per_shift=1)
    rot = plan_rotation(people, shifts, req)
    assert_valid(rot, people, shifts, req)
    assert all(1 not in crew for s, crew in zip(shifts, rot.crew, strict=True)
               if overlap((s.starts, s.ends), away))
    assert sorted(rot.load.values()) == [4, 4, 4, 4]


def test_someone_free_for_few_shifts_takes_them_all_and_the_spread_says_so() -> None:
    shifts = days(6)
    people = roster(4)
    people[0] = Person(1, "P1", {}, ((shifts[2].starts, shifts[-1].ends),))  # 2 shifts free
    req = Requirement(per_shift=1)
    rot = plan_rotation(people, shifts, req, seed=5)
    assert_valid(rot, people, shifts, req)
    assert rot.load[1] == 2
    assert sorted(rot.load[i] for i in (2, 3, 4)) == [3, 3, 4]
    assert rot.spread == 2


def test_someone_on_leave_throughout_is_reported_and_left_out_of_the_spread() -> None:
    shifts = days(5)
    people = [*roster(3), Person(9, "Away", {}, ((local(1, 0), local(30, 0)),))]
    rot = plan_rotation(people, shifts, Requirement(per_shift=1))
    assert rot.load[9] == 0
    assert rot.unavailable == [9]
    assert rot.eligible == frozenset({1, 2, 3})
    assert sorted(rot.load[i] for i in (1, 2, 3)) == [3, 3, 4]
    assert rot.spread == 1


def test_people_whose_skills_rule_them_out_are_not_eligible() -> None:
    people = [Person(1, "F1", {"forensics": 1}), Person(2, "F2", {"forensics": 2}),
              Person(3, "Web", {"web": 3})]
    shifts = days(3)
    req = Requirement(per_shift=1, skills=(("forensics", 1),))
    rot = plan_rotation(people, shifts, req)
    assert_valid(rot, people, shifts, req)
    assert rot.load == {1: 3, 2: 3, 3: 0}
    assert rot.unavailable == [3]
    assert rot.spread == 0


def test_a_scarce_skill_is_rationed_and_the_spread_shows_what_it_costs() -> None:
    """Ten shifts each need one of the two forensics holders: they take five each and
    nothing else; the four others share the other ten slots. Spread 3 is the best
    any plan can do (5 - 2)."""
    people = [Person(1, "F1", {"forensics": 1}), Person(2, "F2", {"forensics": 2}),
              *[Person(i, f"O{i}", {"web": 2}) for i in range(3, 7)]]
    shifts = days(5)
    req = Requirement(per_shift=2, skills=(("forensics", 1),))
    for seed in range(5):
        rot = plan_rotation(people, shifts, req, seed=seed)
        assert_valid(rot, people, shifts, req)
        assert (rot.load[1], rot.load[2]) == (5, 5)
        assert sorted(rot.load[i] for i in range(3, 7)) == [2, 2, 3, 3]
        assert rot.spread == 3
        assert all(len({1, 2} & set(crew)) == 1 for crew in rot.crew)


def test_re_picking_who_covers_which_skill_evens_a_load_single_swaps_cannot() -> None:
    """P3 (b1 only) is free for the first shift alone and can work it only beside P1,
    the one person with a and b>=2. Getting P3 on needs P1 moved to shift 0 and P2 +
    P4 to cover P1's old shift together: two crews re-picked, not one replacement."""
    shifts = days(2)

    def off(*positions: int) -> tuple[tuple[datetime, datetime], ...]:
        return tuple((shifts[i].starts, shifts[i].ends) for i in positions)

    people = [Person(1, "P1", {"a": 1, "b": 3}, off(3)), Person(2, "P2", {"a": 2}, off(2)),
              Person(3, "P3", {"b": 1}, off(1, 2, 3)), Person(4, "P4", {"b": 3}),
              Person(5, "P5", {"b": 1})]
    req = Requirement(per_shift=2, skills=(("a", 1), ("b", 2)))
    for seed in range(4):
        rot = plan_rotation(people, shifts, req, seed=seed)
        assert_valid(rot, people, shifts, req)
        assert rot.crew[0] == [1, 3]
        assert rot.spread == 1
        assert sorted(rot.load.values()) == [1, 1, 2, 2, 2]


def test_the_same_input_and_seed_give_the_same_plan_in_any_order() -> None:
    people = [Person(i, f"P{i}", {"web": 1 + i % 3, "forensics": 1 + i % 2})
              for i in range(1, 13)]
    shifts = days(14)
    req = Requirement(per_shift=3, skills=(("web", 3), ("forensics", 2)))
    first = plan_rotation(people, shifts, req, seed=42)
    again = plan_rotation(list(reversed(people)), shifts, req, seed=42)
    assert first.crew == again.crew and first.load == again.load
    others = {tuple(map(tuple, plan_rotation(people, shifts, req, seed=s).crew))
              for s in range(5)}
    assert len(others) > 1  # the seed does break ties


def test_on_call_answers_for_an_instant_in_any_zone() -> None:
    people, shifts = roster(3), days(2)
    rot = plan_rotation(people, shifts, Requirement(per_shift=1))
    assert rot.on_call(local(1, 8)) == rot.crew[0]
    assert rot.on_call(local(1, 19, 59)) == rot.crew[0]
    assert rot.on_call(local(1, 20)) == rot.crew[1]
    assert rot.on_call(datetime(2026, 12, 1, 23, tzinfo=UTC)) == rot.crew[1]  # 07:00 +08
    assert rot.on_call(datetime(2026, 12, 2, 1, tzinfo=UTC)) == rot.crew[2]  # 09:00 +08
    assert rot.on_call(local(1, 7, 59)) == []
    assert rot.on_call(local(3, 8)) == []
    assert rot.crew[0] != rot.crew[1]
    with pytest.raises(ValueError, match="naive"):
        rot.on_call(datetime(2026, 12, 1, 9))


def test_overlapping_shifts_never_share_a_person_and_a_repair_finds_the_plan() -> None:
    """The greedy puts the first free holder on the morning shift; only moving
    people between the overlapping shifts staffs the night."""
    shifts = [Shift(0, local(1, 5), local(1, 14)), Shift(1, local(1, 12), local(1, 22)),
              Shift(2, local(1, 20), local(2, 4))]
    people = [Person(1, "A", {"forensics": 2}),
              Person(2, "B", {"forensics": 3}, ((local(1, 23), local(2, 7)),))]
    req = Requirement(per_shift=1, skills=(("forensics", 2),))
    for seed in range(4):
        rot = plan_rotation(people, shifts, req, seed=seed)
        assert_valid(rot, people, shifts, req)
        assert rot.crew == [[1], [2], [1]]


def test_a_chain_of_overlapping_shifts_two_people_must_alternate_on() -> None:
    """Each shift overlaps the next; only A and D hold b>=2, and A is away during the
    last, so D must take the first, third and fifth -- which no shift-by-shift choice
    can know at the start. The last-resort search finds it."""
    shifts = [Shift(0, local(1, 5), local(1, 8)), Shift(1, local(1, 7), local(1, 18)),
              Shift(2, local(1, 16), local(2, 0)), Shift(3, local(1, 22), local(2, 3)),
              Shift(4, local(2, 1), local(2, 11))]
    people = [Person(1, "A", {"a": 2, "b": 3}, ((local(2, 5), local(2, 6)),)),
              Person(2, "B", {"c": 2}), Person(3, "C", {"c": 1}),
              Person(4, "D", {"a": 2, "b": 3})]
    req = Requirement(per_shift=1, skills=(("b", 2),))
    for seed in range(4):
        rot = plan_rotation(people, shifts, req, seed=seed)
        assert_valid(rot, people, shifts, req)
        assert rot.crew == [[4], [1], [4], [1], [4]]


def test_the_greedy_pass_alone_rations_a_scarce_skill() -> None:
    """Before any repair, the look-ahead keeps the two forensics holders for the
    forensics slots (5 shifts each of 10) instead of spending them as fillers."""
    from expert_pool.rotation_planner import Planner

    people = [Person(1, "F1", {"forensics": 1}), Person(2, "F2", {"forensics": 2}),
              *[Person(i, f"O{i}", {"web": 2}) for i in range(3, 7)]]
    for seed in range(5):
        planner = Planner(people, days(5), Requirement(2, (("forensics", 1),)), seed)
        planner.greedy()
        assert planner.load[:2] == [5, 5]


# ------------------------------------------------------------------ infeasible


def infeasible(people: Sequence[Person], shifts: Sequence[Shift],
               req: Requirement) -> Infeasible:
    with pytest.raises(Infeasible) as caught:
        plan_rotation(people, shifts, req)
    assert isinstance(caught.value, GarrisonError)
    assert caught.value.hint == ("Ask for fewer people per shift or fewer (or lower) "
                                 "required skills, or add experts to the pool.")
    assert caught.value.message == "\n".join(caught.value.reasons)
    return caught.value


def test_more_people_per_shift_than_the_pool_has() -> None:
    error = infeasible(roster(2), days(1), Requirement(per_shift=3))
    assert error.reasons == ["3 people per shift needs at least 3 experts; the pool has 2 "
                             "active experts"]
    error = infeasible([], days(1), Requirement(per_shift=1))
    assert error.reasons == ["1 person per shift needs at least 1 expert; the pool has 0 "
                             "active experts"]


def test_a_required_skill_nobody_has_at_that_level() -> None:
    people = [Person(1, "张三", {"forensics": 1}), Person(2, "李四", {"web": 3})]
    error = infeasible(people, days(1),
                       Requirement(skills=(("forensics", 2), ("malware", 2), ("cloud", 1))))
    assert error.reasons == [
        "nobody has forensics at level 2 or above (required on every shift); experts with "
        "forensics: 张三 (level 1)",
        "nobody has malware at level 2 or above (required on every shift); nobody has "
        "malware at all",
        "nobody has cloud (required on every shift)",
    ]


def test_at_most_five_lower_level_holders_are_listed() -> None:
    people = [Person(i, f"E{i}", {"network": 1 + (i == 7)}) for i in range(1, 9)]
    error = infeasible(people, days(1), Requirement(skills=(("network", 3),)))
    assert error.reasons == [
        "nobody has network at level 3 or above (required on every shift); experts with "
        "network: E7 (level 2), E1 (level 1), E2 (level 1), E3 (level 1), E4 (level 1) "
        "and 3 more"]


def test_a_shift_without_enough_free_people_is_named_with_who_is_away() -> None:
    people = [Person(1, "A", {}, ((local(3, 9), local(3, 10)),)),
              Person(2, "B", {}, ((local(3, 19), local(3, 21)),)), Person(3, "C", {})]
    error = infeasible(people, days(5), Requirement(per_shift=2))
    assert error.reasons == [
        "shift 2026-12-03 08:00-20:00: only 1 of the 2 people needed are free "
        "(on leave: A, B)"]


def test_a_shift_nobody_is_free_for() -> None:
    people = [Person(1, "A", {}, ((local(2, 0), local(3, 0)),)),
              Person(2, "B", {}, ((local(2, 6), local(2, 9)),))]
    error = infeasible(people, days(2), Requirement(per_shift=1))
    assert error.reasons == [
        "shift 2026-12-01 20:00-08:00: nobody is free (on leave: A, B)",
        "shift 2026-12-02 08:00-20:00: nobody is free (on leave: A, B)"]


def test_a_shift_without_a_free_holder_of_a_required_skill() -> None:
    people = [Person(1, "A", {"forensics": 1}), Person(2, "B", {"web": 2}),
              Person(3, "C", {"forensics": 3}, ((local(3, 12), local(3, 13)),))]
    error = infeasible(people, days(4), Requirement(per_shift=2, skills=(("forensics", 2),)))
    assert error.reasons == [
        "shift 2026-12-03 08:00-20:00: nobody with forensics>=2 is free (on leave: C)"]


def test_skills_that_no_crew_of_the_size_can_hold_together() -> None:
    people = [Person(1, "A", {"web": 1}), Person(2, "B", {"network": 1}),
              Person(3, "C", {"cloud": 1})]
    error = infeasible(people, days(1), Requirement(
        per_shift=2, skills=(("web", 1), ("network", 1), ("cloud", 1))))
    assert error.reasons == [
        "shift 2026-12-01 08:00-20:00: no 2 free people together hold web>=1, network>=1, "
        "cloud>=1",
        "shift 2026-12-01 20:00-08:00: no 2 free people together hold web>=1, network>=1, "
        "cloud>=1"]


def test_many_problems_are_all_in_reasons_and_the_message_shows_ten() -> None:
    people = [Person(1, "A", {}, ((local(1, 0), local(8, 0)),)), Person(2, "B", {})]
    with pytest.raises(Infeasible) as caught:
        plan_rotation(people, days(6), Requirement(per_shift=2))
    assert len(caught.value.reasons) == 12
    lines = caught.value.message.splitlines()
    assert len(lines) == 11 and lines[-1] == "... and 2 more problems"
    assert lines[0] == ("shift 2026-12-01 08:00-20:00: only 1 of the 2 people needed are "
                        "free (on leave: A)")


def test_overlapping_shifts_one_person_cannot_cover() -> None:
    shifts = [Shift(0, local(1, 8), local(1, 12)), Shift(1, local(1, 10), local(1, 14))]
    error = infeasible([Person(1, "A", {})], shifts, Requirement(per_shift=1))
    assert error.reasons == [
        "shift 2026-12-01 10:00-14:00: nobody is free (on an overlapping shift: A)"]


def test_a_malformed_requirement_is_refused() -> None:
    with pytest.raises(GarrisonError) as caught:
        plan_rotation(roster(2), days(1), Requirement(per_shift=0))
    assert caught.value.message == "people per shift must be at least 1, not 0"
    with pytest.raises(GarrisonError) as caught:
        plan_rotation(roster(2), days(1), Requirement(skills=(("web", 4),)))
    assert caught.value.message == "required skill web: level 4 is not 1, 2 or 3"


# ------------------------------------------------------------------ properties


@st.composite
def rosters(draw: st.DrawFn) -> tuple[list[Person], list[Shift], Requirement]:
    shifts = days(draw(st.integers(1, 3)))
    people = []
    for i in range(1, draw(st.integers(1, 6)) + 1):
        skills = draw(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(1, 3),
                                      max_size=3))
        busy: tuple[tuple[datetime, datetime], ...] = ()
        if draw(st.booleans()):
            first = draw(st.integers(0, len(shifts) - 1))
            last = draw(st.integers(first, len(shifts) - 1))
            busy = ((shifts[first].starts + timedelta(hours=1),
                     shifts[last].ends - timedelta(hours=1)),)
        people.append(Person(i, f"P{i}", skills, busy))
    per_shift = draw(st.integers(1, 3))
    needs = draw(st.dictionaries(st.sampled_from(["a", "b"]), st.integers(1, 2), max_size=2))
    return people, shifts, Requirement(per_shift, tuple(sorted(needs.items())))


def crews(people: Sequence[Person], shift: Shift, req: Requirement) -> list[tuple[int, ...]]:
    """Every valid crew for one shift (brute force)."""
    free = [p for p in people if not any(overlap((shift.starts, shift.ends), b)
                                         for b in p.busy)]
    return [tuple(p.id for p in crew) for crew in itertools.combinations(free, req.per_shift)
            if all(any(p.skills.get(s, 0) >= v for p in crew) for s, v in req.skills)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rosters(), st.integers(0, 3))
def test_plans_are_valid_fair_and_deterministic(case: tuple[list[Person], list[Shift],
                                                            Requirement], seed: int) -> None:
    people, shifts, req = case
    options = [crews(people, s, req) for s in shifts]
    if not all(options):  # pattern shifts never overlap: each shift stands alone
        with pytest.raises(Infeasible):
            plan_rotation(people, shifts, req, seed=seed)
        return
    rot = plan_rotation(people, shifts, req, seed=seed)
    assert_valid(rot, people, shifts, req)
    assert plan_rotation(people, shifts, req, seed=seed) == rot
    eligible = {i for crews_ in options for crew in crews_ for i in crew}
    assert rot.eligible == frozenset(eligible)
    fully_free = all(not p.busy for p in people)
    if fully_free and all(all(p.skills.get(s, 0) >= v for s, v in req.skills) for p in people):
        assert rot.spread <= 1
    if math.prod(len(o) for o in options) <= 4000:
        best = min(max(c[i] for i in eligible) - min(c[i] for i in eligible)
                   for c in (Counter(i for crew in plan for i in crew)
                             for plan in itertools.product(*options)))
        assert rot.spread == best


def test_ninety_days_three_shifts_two_hundred_experts_plans_quickly() -> None:
    people = [Person(i, f"E{i}", {"forensics": 1 + i % 3, "network": 1 + (i * 7) % 3})
              for i in range(200)]
    shifts = days(90, "08:00-16:00,16:00-24:00,00:00-08:00")
    req = Requirement(per_shift=2, skills=(("forensics", 1), ("network", 2)))
    started = clock.perf_counter()
    rot = plan_rotation(people, shifts, req)
    elapsed = clock.perf_counter() - started
    assert_valid(rot, people, shifts, req)
    assert rot.spread == 1
    assert elapsed < 5
