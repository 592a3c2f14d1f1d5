"""The opinion-response rules, end to end through the engine (step clock, scripted)."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from drills.loader import load_playbook
from drills.sim import Input, Sim
from garrison.db import read_session
from garrison.models import Finding, FindingSource, Unit
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.drills.helpers import get, replayed, run_drill, verdicts

DRILLS = FIXTURES / "drills"
PLAYBOOK = DRILLS / "opinion.yaml"


def test_fast_and_late_teams_get_different_drills(org: Settings) -> None:
    fast = run_drill(org, PLAYBOOK, responses=DRILLS / "opinion.fast.yaml")
    late = run_drill(org, PLAYBOOK, responses=DRILLS / "opinion.late.yaml")
    f, s = replayed(org, fast).sim, replayed(org, late).sim
    # fast: classify 10 + golden-4h 30 + authoritative-5h 20; city notified in time: 10
    assert f.totals() == {"opinion": 60.0, "leadership": 0.0, "city": 10.0, "province": 0.0,
                          "white": 0.0}
    # late: classify 15 min after its deadline earns 10 x 0.5 x (1 - 15/30) = 2.5; the
    # golden-4h and authoritative-5h clocks are missed (-10 each); the province did not
    # acknowledge the escalation (-5); the city never notified (no penalty, a finding)
    assert s.totals() == {"opinion": -17.5, "leadership": 0.0, "city": 0.0, "province": -5.0,
                          "white": 0.0}
    assert verdicts(org, fast) == {"step:classify:0": "met", "step:notify:0": "met"}
    assert verdicts(org, late) == {"step:classify:0": "late", "step:notify:0": "missed",
                                   "escalation:to-province:0": "missed"}
    assert (f.level, s.level) == ("city", "province")
    assert "rumour-v2" not in f.posts and "rumour-v2" in s.posts  # the variant spawned
    assert f.posts["rumour"].reaction == "statement"  # timely, approved
    assert s.posts["rumour"].reaction == "late_statement"
    # reach: 800 x 2.5/h for 20 min, then x0.6/h for 7 h 40 min; the late one exploded
    assert round(f.heat()) == round(800 * 2.5 ** (1 / 3) * 0.6 ** (23 / 3))
    assert s.heat() > 1_000_000
    assert [h for _t, h in f.heat_curve][:3] == [  # sampled every minute (the tick)
        800.0, pytest.approx(800 * 2.5 ** (1 / 60), abs=0.05),
        pytest.approx(800 * 2.5 ** (2 / 60), abs=0.05)]
    assert max(h for _t, h in f.heat_curve) < 1100 < min(h for t, h in s.heat_curve
                                                         if t >= 7200)
    assert {c: v.verdict for c, v in f.clocks.items()} == {
        "golden-4h": "met", "authoritative-5h": "met", "press-briefing-24h": None,
        "concerns-48h": None}  # still running when the 8-hour drill ended
    assert {c: v.verdict for c, v in s.clocks.items()}["golden-4h"] == "missed"


def test_missed_expectations_and_clocks_become_findings_of_the_teams_units(
        org: Settings) -> None:
    fast = run_drill(org, PLAYBOOK, responses=DRILLS / "opinion.fast.yaml")
    late = run_drill(org, PLAYBOOK, responses=DRILLS / "opinion.late.yaml")
    with read_session(org) as session:
        rows = session.exec(select(Finding, Unit.code)
                            .join(Unit, col(Unit.id) == col(Finding.unit_id))
                            .where(Finding.source == FindingSource.drill)
                            .order_by(col(Finding.id))).all()
    found = [(f.fingerprint.split("|", 2)[1], code, f.severity.value, f.owner,
              f.title) for f, code in rows]
    assert str(fast) not in {run for run, *_rest in found}
    assert sorted(found) == sorted([
        (str(late), "hz-jw", "medium", "陈静",
         "Drill test-opinion: city did not notify-province in time (notify)"),
        (str(late), "zj-jst", "medium", "王强",
         "Drill test-opinion: province did not acknowledge in time (to-province)"),
        (str(late), "hz-jw", "high", "陈静",
         "Drill test-opinion: opinion did not statement in time (clock golden-4h)"),
        (str(late), "hz-jw", "high", "陈静",
         "Drill test-opinion: opinion did not authoritative-info in time "
         "(clock authoritative-5h)"),
    ])
    assert get(org, late).summary["verdicts"] == {"late": 1, "missed": 2}


def test_a_statement_without_approval_counts_as_late() -> None:
    pb = load_playbook(PLAYBOOK)
    sim = Sim(pb.playbook, pb.clocks)
    sim.apply(Input(600, "response", "a", "opinion", None, "statement"))  # timely, unapproved
    sim.advance(3600)
    assert sim.posts["rumour"].reaction == "late_statement"
    assert sim.posts["rumour"].growth == 1.4


def test_a_response_at_the_deadline_is_in_time_and_late_credit_falls_linearly() -> None:
    pb = load_playbook(PLAYBOOK)
    results = {}
    for at in (35 * 60, 35 * 60 + 1, 50 * 60, 65 * 60, 65 * 60 + 1):  # deadline 35 min
        sim = Sim(pb.playbook, pb.clocks)
        sim.apply(Input(at, "response", "c", "opinion", "classify", "classify"))
        sim.advance(2 * 3600)
        (exp,) = [e for e in sim.expectations if e.source == "classify"]
        results[at] = (exp.verdict, exp.points)
    # at the end of the late window the linear credit has fallen to 0: that is a miss
    assert results == {2100: ("met", 10.0), 2101: ("late", 5.0), 3000: ("late", 2.5),
                       3900: ("missed", -5.0), 3901: ("missed", -5.0)}
