"""The matcher's ranking and exclusions, on plain candidates (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from expert_pool.matching import Candidate, Need, coverage, rank


def cand(id_: int, name: str, skills: dict[str, int], *, city: str | None = "杭州",
         load: int = 0, certs: tuple[str, ...] = (), home: int | None = None,
         home_code: str | None = None, active: bool = True,
         away: tuple[datetime, datetime, str | None] | None = None) -> Candidate:
    return Candidate(id=id_, name=name, organisation="org", city=city, skills=skills,
                     certs=certs, load=load, active=active, home_unit_id=home,
                     home_unit=home_code, away=away)


def names(need: Need, *cands: Candidate) -> list[str]:
    return [m.candidate.name for m in rank(list(cands), need).ranked]


NEED = Need(skills=(("forensics", 2), ("malware", 1)), city="杭州", count=10)


def test_coverage_counts_a_level_short_as_a_third_and_two_short_as_nothing() -> None:
    assert coverage({"forensics": 3, "malware": 1}, NEED.skills) == (1.0, ("forensics", "malware"),
                                                                     (), 1)
    share, covered, short, _surplus = coverage({"forensics": 1}, NEED.skills)
    assert (round(share, 4), covered, short) == (round(1 / 6, 4), (), ("forensics", "malware"))
    assert coverage({"forensics": 1}, (("forensics", 3),))[0] == 0.0


def test_full_coverage_outranks_same_city() -> None:
    near_partial = cand(1, "near", {"forensics": 2}, city="杭州")
    far_full = cand(2, "far", {"forensics": 2, "malware": 1}, city="宁波")
    assert names(NEED, near_partial, far_full) == ["far", "near"]


def test_same_city_outranks_load() -> None:
    busy_near = cand(1, "busy-near", {"forensics": 2, "malware": 1}, load=3)
    idle_far = cand(2, "idle-far", {"forensics": 2, "malware": 1}, city="宁波")
    assert names(NEED, idle_far, busy_near) == ["busy-near", "idle-far"]


def test_city_comparison_ignores_case() -> None:
    need = Need(skills=(("web", 1),), city="hangzhou")
    assert names(need, cand(1, "a", {"web": 1}, city="Ningbo"),
                 cand(2, "b", {"web": 1}, city="Hangzhou")) == ["b", "a"]


def test_lower_load_outranks_more_certifications() -> None:
    loaded = cand(1, "loaded", {"forensics": 2, "malware": 1}, load=2, certs=("CISP", "CISSP"))
    free = cand(2, "free", {"forensics": 2, "malware": 1}, load=0)
    assert names(NEED, loaded, free) == ["free", "loaded"]


def test_certifications_break_the_tie_then_surplus_then_name() -> None:
    plain = cand(1, "plain", {"forensics": 2, "malware": 1})
    certified = cand(2, "certified", {"forensics": 2, "malware": 1}, certs=("CISP",))
    deeper = cand(3, "deeper", {"forensics": 3, "malware": 2})
    abc = cand(4, "abc", {"forensics": 2, "malware": 1})
    assert names(NEED, plain, certified, deeper, abc) == ["certified", "deeper", "abc",
                                                          "plain"]


def test_count_cuts_the_list_but_eligible_counts_everyone() -> None:
    people = [cand(i, f"p{i}", {"web": 1}) for i in range(8)]
    result = rank(people, Need(skills=(("web", 1),), count=3))
    assert [m.candidate.id for m in result.ranked] == [0, 1, 2]
    assert (result.eligible, result.considered, result.unqualified) == (8, 8, 0)


def test_experts_without_any_requested_skill_are_counted_not_listed() -> None:
    result = rank([cand(1, "web", {"web": 3}), cand(2, "fx", {"forensics": 1})],
                  Need(skills=(("forensics", 2),)))
    assert [m.candidate.name for m in result.ranked] == ["fx"]
    assert result.unqualified == 1 and result.excluded == []
    assert result.notes == ["nobody available covers every requested skill; the best partial "
                            "matches are shown"]


def test_conflicts_absence_and_retirement_are_excluded_with_reasons() -> None:
    review = Need(skills=(("forensics", 1),), unit="hz-jw", conflicted=frozenset({10, 11}))
    leave = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC), "年假")
    people = [
        cand(1, "staff", {"forensics": 3}, home=10, home_code="hz-jw"),
        cand(2, "sub-unit staff", {"forensics": 3}, home=11, home_code="hz-cg"),
        cand(3, "parent staff", {"forensics": 1}, home=1, home_code="zj-jst"),
        cand(4, "on leave", {"forensics": 3}, away=leave),
        cand(5, "retired", {"forensics": 3}, active=False),
        cand(6, "outsider", {"forensics": 1}),
    ]
    result = rank(people, review)
    assert [m.candidate.name for m in result.ranked] == ["outsider", "parent staff"]
    assert {x.candidate.name: x.reasons for x in result.excluded} == {
        "staff": ("conflict of interest: works for hz-jw, the unit under review",),
        "sub-unit staff": ("conflict of interest: works for hz-cg, which is under hz-jw",),
        "on leave": ("unavailable 2026-12-01 00:00 to 2026-12-08 00:00 (年假)",),
        "retired": ("retired",),
    }


def test_an_expert_can_be_out_for_several_reasons_at_once() -> None:
    leave = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC), None)
    result = rank([cand(1, "x", {"web": 1}, home=10, home_code="hz-jw", active=False,
                        away=leave)],
                  Need(skills=(("web", 1),), unit="hz-jw", conflicted=frozenset({10})))
    assert result.excluded[0].reasons == (
        "retired", "conflict of interest: works for hz-jw, the unit under review",
        "unavailable 2026-12-01 00:00 to 2026-12-02 00:00")
