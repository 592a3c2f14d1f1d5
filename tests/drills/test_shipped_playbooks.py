"""The shipped playbooks: they validate, their rehearsals load, and they play out as
the drill's rules say.

Three of them (the tabletop, the opinion drill and the combined leak drill) are run
end to end on the step clock with their ``fast`` and ``late`` rehearsals, on SQLite
and PostgreSQL; the numbers asserted below are worked out from the rules in
``drills.sim`` (points, late credit, penalties, reach growth), not copied from a run.
The attack-defense drill is only checked statically here: its detection is judged by
a finding on the portal's address, which needs a listener that test setups provide.

Reach arithmetic used below: a post's reach is multiplied by its ``growth_per_hour``
for every hour of drill time, so after ``h`` hours at growth ``g`` it is
``reach * g**h``; ticks are every minute of drill time (the default ``tick``), so a
spawn or an escalation happens at the first whole minute its condition holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from drills.loader import ENV_DIR, LoadedPlaybook, discover, load_playbook
from drills.script import load_script
from drills.service import check_scope
from drills.sim import Sim
from garrison.actions import action_context
from garrison.db import read_session
from garrison.models import DrillEvent, DrillState, Finding, FindingSource, Unit
from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.drills.helpers import SHIPPED, get, replayed, run_drill

REHEARSALS = SHIPPED / "rehearsals"
KINDS = {
    "web-portal-redblue": "attack-defense",
    "ransomware-approval-tabletop": "tabletop",
    "site-accident-rumour": "opinion-response",
    "wage-data-leak": "mixed",
}
MIN = 60.0
HOUR = 3600.0


def _path(pid: str) -> Path:
    return SHIPPED / f"{pid}.yaml"


def _rehearsal(pid: str, which: str) -> Path:
    return REHEARSALS / f"{pid}.{which}.yaml"


# ------------------------------------------------------------------ static checks


def test_discover_lists_the_four_shipped_playbooks_all_valid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "no-user-playbooks"))
    entries = discover()
    # Only *.yaml directly in playbooks/ are playbooks: clocks/ and rehearsals/ are not.
    assert {e.id: e.origin for e in entries} == dict.fromkeys(KINDS, "shipped")
    for entry in entries:
        assert entry.problems == (), entry.problems
        assert entry.loaded is not None
        assert entry.path == _path(entry.id)
        assert entry.loaded.origin == "shipped"
        assert entry.loaded.playbook.kind == KINDS[entry.id]
        assert entry.loaded.playbook.description and entry.loaded.playbook.objectives


def test_the_cli_validates_every_shipped_playbook(cli: CliRunner) -> None:
    result = cli("drill", "validate", *(str(_path(pid)) for pid in sorted(KINDS)))
    assert result.code == 0, result.err
    assert result.out.count(": OK (") == 4


def test_every_rehearsal_belongs_to_a_shipped_playbook() -> None:
    expected = {f"{pid}.{which}.yaml" for pid in KINDS for which in ("fast", "late")}
    assert {p.name for p in REHEARSALS.iterdir() if p.suffix == ".yaml"} == expected


@pytest.mark.parametrize("pid", sorted(KINDS))
@pytest.mark.parametrize("which", ["fast", "late"])
def test_rehearsals_load_against_their_playbook(pid: str, which: str) -> None:
    loaded = load_playbook(_path(pid))
    items = load_script(_rehearsal(pid, which), loaded)
    assert items, "a rehearsal with no responses rehearses nothing"
    teams = set(loaded.playbook.team_ids)
    assert {item["team"] for item in items} <= teams
    # Nobody answers for the red team: its actions are automated.
    assert all(loaded.playbook.team(item["team"]).role != "red" for item in items)


def test_rehearsals_of_another_playbook_are_refused() -> None:
    """The check the previous test relies on can fail: the tabletop has no opinion team."""
    from garrison.errors import DocumentError

    loaded = load_playbook(_path("ransomware-approval-tabletop"))
    with pytest.raises(DocumentError, match="no team 'opinion'"):
        load_script(_rehearsal("site-accident-rumour", "fast"), loaded)


def test_statutory_clocks_are_included_where_opinion_is_handled() -> None:
    for pid in ("site-accident-rumour", "wage-data-leak"):
        clocks = {c.id: c.team for c in load_playbook(_path(pid)).clocks}
        assert clocks == {"golden-4h": "opinion", "authoritative-5h": "opinion",
                          "press-briefing-24h": "opinion", "concerns-48h": "opinion"}
    for pid in ("web-portal-redblue", "ransomware-approval-tabletop"):
        assert load_playbook(_path(pid)).clocks == ()


def test_the_tabletop_touches_no_network() -> None:
    pb = load_playbook(_path("ransomware-approval-tabletop")).playbook
    assert pb.scope.targets == []
    assert [s.id for s in pb.steps if s.action is not None] == []


def test_the_redblue_drill_is_scored_hw_style() -> None:
    pb = load_playbook(_path("web-portal-redblue")).playbook
    assert pb.scope.unit == "hz-jw" and pb.scope.targets == ["127.0.1.80"]
    assert [(s.id, s.action, s.at) for s in pb.steps if s.action] == [
        ("recon", "scan", 0), ("probe", "probe", None)]
    recon = next(s for s in pb.steps if s.id == "recon")
    assert recon.with_ == {"profile": "quick", "targets": ["127.0.1.80"]}
    # Detection is automatic and tied to the asset, not to one rule: whatever the red
    # team's scan finds on the portal counts.
    [detect] = recon.expect
    assert detect.team == "blue" and detect.category == "detection"
    assert detect.check is not None
    assert (detect.check.asset, detect.check.rule) == ("127.0.1.80", None)
    expectations = [e for s in pb.steps for e in s.expect]
    assert {e.category for e in expectations} == {
        "detection", "analysis", "response", "notification", "traceback"}
    assert all(e.late is not None for e in expectations if e.does != "contain")
    assert [(r.team, r.against) for r in pb.scoring.red] == [("red", "blue")]
    assert {t.role for t in pb.teams} >= {"red", "blue", "white"}
    assert any(s.inject == "incident-report" for s in pb.steps)


def test_every_target_is_inside_the_scope_unit(sqlite_org: Settings) -> None:
    from sqlmodel import select

    from garrison.db import read_session
    from garrison.errors import ScopeRefused
    from garrison.models import AuditEvent

    refused = []
    for pid in KINDS:
        try:
            check_scope(action_context(sqlite_org), load_playbook(_path(pid)))
        except ScopeRefused as exc:
            refused.append((pid, exc.message))
    assert refused == []
    with read_session(sqlite_org) as session:
        actions = {e.action for e in session.exec(select(AuditEvent))}
    assert "scope.refused" not in actions


def test_a_target_outside_the_scope_would_be_refused(sqlite_org: Settings,
                                                     tmp_path: Path) -> None:
    """The same check refuses the leak drill moved to hz-yl (127.0.19.0/24)."""
    from garrison.errors import ScopeRefused

    text = _path("wage-data-leak").read_text("utf-8").replace("unit: hz-jw\n", "unit: hz-yl\n", 1)
    moved = tmp_path / "moved.yaml"
    moved.write_text(text, "utf-8")
    with pytest.raises(ScopeRefused, match="127.0.1.90 is outside the active scopes of hz-yl"):
        check_scope(action_context(sqlite_org), load_playbook(moved))


# ------------------------------------------------------------------ running them


@dataclass
class Outcome:
    run_id: int
    sim: Sim
    loaded: LoadedPlaybook
    summary: dict[str, Any]
    state: DrillState

    @property
    def totals(self) -> dict[str, float]:
        return self.sim.totals()

    @property
    def verdicts(self) -> dict[str, str]:
        return {e.key: e.verdict or "open" for e in self.sim.expectations}

    @property
    def clocks(self) -> dict[str, str | None]:
        return {cid: c.verdict for cid, c in self.sim.clocks.items()}

    @property
    def final_heat(self) -> float:
        return self.sim.heat()

    def at(self, kind: str, step: str) -> float:
        """Drill time of the derived event of ``kind`` about ``step``."""
        return next(e.at for e in self.sim.events if e.kind == kind and e.step == step)


def _run(settings: Settings, pid: str, which: str) -> Outcome:
    run_id = run_drill(settings, _path(pid), responses=_rehearsal(pid, which))
    rep = replayed(settings, run_id)
    run = get(settings, run_id)
    out = Outcome(run_id, rep.sim, rep.loaded, dict(run.summary), run.state)
    # What the engine stored as it went equals what a replay of its inputs derives.
    assert out.state is DrillState.done
    assert out.summary["scores"] == out.totals
    assert out.summary["level"] == out.sim.level
    assert out.summary["heat"] == round(out.final_heat)
    return out


def _findings(settings: Settings, run_id: int) -> set[tuple[str, str, str, str]]:
    """(unit, team, event key, severity) of the findings this run raised."""
    with read_session(settings) as session:
        rows = session.exec(select(Finding, Unit).where(
            Finding.unit_id == Unit.id, Finding.source == FindingSource.drill,
            col(Finding.fingerprint).startswith(f"drill|{run_id}|"))).all()
        return {(unit.code, str(f.evidence["team"]), str(f.evidence["key"]), f.severity.value)
                for f, unit in rows}


def _action_results(settings: Settings, run_id: int) -> dict[str, dict[str, Any]]:
    """step -> the result of its automated action, as the engine recorded it."""
    with read_session(settings) as session:
        rows = session.exec(select(DrillEvent).where(
            DrillEvent.run_id == run_id, DrillEvent.kind == "action-result")).all()
        return {str(e.step): dict(e.data) for e in rows}


def _rule_ids(settings: Settings, run_id: int) -> set[str]:
    with read_session(settings) as session:
        return set(session.exec(select(Finding.rule_id).where(
            col(Finding.fingerprint).startswith(f"drill|{run_id}|"))).all())


def test_ransomware_tabletop_fast_and_late(org: Settings) -> None:
    pid = "ransomware-approval-tabletop"
    fast, late = _run(org, pid, "fast"), _run(org, pid, "late")

    assert fast.verdicts == {
        "step:alarm:0": "met", "step:alarm:1": "met", "step:backup-at-risk:0": "met",
        "step:ransom-note:0": "met", "step:report-upward:0": "met",
        "step:province-receipt:0": "met", "step:forensics:0": "met",
        "step:forensics:1": "met", "step:restore:0": "met"}
    assert late.verdicts == {
        # acknowledged at 40m, deadline 15m, no late credit: the response earns nothing
        "step:alarm:0": "missed",
        "step:alarm:1": "late", "step:backup-at-risk:0": "late",
        "step:ransom-note:0": "missed", "step:report-upward:0": "late",
        "step:province-receipt:0": "missed", "step:forensics:0": "missed",
        "step:forensics:1": "late", "step:restore:0": "missed"}

    # fast: blue 5 (ack) + 20 (contain) + 15 (backups) + 10 + 10 + 10 (report, traceback,
    # restore); every other team its one expectation in full.
    assert fast.totals == {"blue": 70.0, "leadership": 15.0, "city": 15.0, "province": 10.0,
                           "white": 0.0}
    # late blue: -5 (ack missed, penalty) + 10 (contain at 45m: 30m deadline, half credit
    # within 30m more) + 3.75 (backups at 50m: fired at 20m, deadline 40m, linear credit
    # 0.5 * (1 - 10m/20m) * 15) + 0 (report missed, no penalty) + 5 (traceback at 4h30m:
    # deadline 4h, half of 10) + 0 (restore missed). leadership -10 (penalty); city 7.5
    # (notified at 2h30m, deadline 2h, half of 15); province -5 (penalty).
    assert late.totals == {"blue": 13.75, "leadership": -10.0, "city": 7.5, "province": -5.0,
                           "white": 0.0}
    assert fast.totals["blue"] > late.totals["blue"]

    # Without a duration the drill ends once everything is judged: the fast run at the
    # last response (restore, 4h), the late one when the last window closes (5h: the
    # traceback's late window and the restore deadline).
    assert fast.sim.t == 4 * HOUR
    assert late.sim.t == 5 * HOUR
    assert fast.sim.level == late.sim.level == "city"
    assert fast.final_heat == late.final_heat == 0.0

    assert _findings(org, fast.run_id) == set()
    assert _findings(org, late.run_id) == {
        ("hz-jw", "blue", "verdict:step:alarm:0", "medium"),
        ("hz-jw", "leadership", "verdict:step:ransom-note:0", "medium"),
        ("zj-jst", "province", "verdict:step:province-receipt:0", "medium"),
        ("hz-jw", "blue", "verdict:step:forensics:0", "medium"),
        ("hz-jw", "blue", "verdict:step:restore:0", "medium")}
    assert _rule_ids(org, late.run_id) == {f"drill:{pid}"}
    # The white cell's hot-wash lesson (at 3h50m, before the end) is on the timeline.
    assert [e.team for e in fast.sim.events if e.kind == "lesson"] == ["white"]


def test_site_accident_rumour_fast_and_late(org: Settings) -> None:
    pid = "site-accident-rumour"
    fast, late = _run(org, pid, "fast"), _run(org, pid, "late")

    # -- expectations and scores
    assert fast.verdicts == {"step:alert:0": "met", "step:draft-statement:0": "met",
                             "step:city-report:0": "met", "step:site-facts:0": "met"}
    assert late.verdicts == {
        "step:alert:0": "late",  # classified at 1h10m: deadline 40m, half credit for 30m more
        "step:draft-statement:0": "missed", "step:city-report:0": "missed",
        "step:site-facts:0": "missed",
        # heat > 50000 and the escalation happen only in the late run
        "step:heat-warning:0": "missed",
        "escalation:to-province:0": "missed", "escalation:to-province:1": "missed"}
    # fast opinion: classify 10 + authoritative-info 10 + clocks golden-4h 30,
    # authoritative-5h 20, press-briefing-24h 20, concerns-48h 10 = 100.
    assert fast.totals == {"opinion": 100.0, "leadership": 10.0, "city": 10.0,
                           "province": 0.0, "white": 0.0}
    # late opinion: 5 (late classify) - 10 (golden-4h) - 10 (authoritative-5h); the
    # authoritative-info expectation has no penalty. leadership -5 -5, city -5,
    # province -5 -5.
    assert late.totals == {"opinion": -15.0, "leadership": -10.0, "city": -5.0,
                           "province": -10.0, "white": 0.0}

    # -- statutory clocks start on the classification
    assert fast.sim.clocks["golden-4h"].started_at == 15 * MIN
    assert late.sim.clocks["golden-4h"].started_at == 70 * MIN
    assert fast.clocks == {"golden-4h": "met", "authoritative-5h": "met",
                           "press-briefing-24h": "met", "concerns-48h": "met"}
    # late: the statement at 5h30m is after 1h10m + 4h; nothing authoritative at all;
    # the 24h and 48h clocks are still running when the 12h drill ends.
    assert late.clocks == {"golden-4h": "missed", "authoritative-5h": "missed",
                           "press-briefing-24h": None, "concerns-48h": None}

    # -- the posts react to the statement, or to its absence
    assert fast.sim.posts["rumour"].reaction == "statement"  # at 30m, timely and approved
    assert "rumour-video" not in fast.sim.posts
    assert late.sim.posts["rumour"].reaction == "late_statement"  # no approval, and late
    assert late.sim.posts["rumour-video"].reaction == "late_statement"
    # late: silent from 2h (reach 2000 * 2**2 = 8000), then growth 3/h: reach > 30000
    # from 2h + ln(3.75)/ln(3) h = 192.2 min, so the variant appears at the 193m tick.
    assert late.at("spawn", "rumour-video") == 193 * MIN
    # heat = 8000 * 3**((t-120)/60) + 10000 * 2.5**((t-193)/60): 49944 at 205m,
    # 50830 at 206m; 99261 at 244m, 101028 at 245m.
    assert late.at("fired", "heat-warning") == 206 * MIN
    assert late.sim.escalated == {"to-province": 245 * MIN}
    assert fast.sim.escalated == {}
    assert (fast.sim.level, late.sim.level) == ("city", "province")

    # -- heat curves: the fast one peaks at the statement and fades; the late one only grows
    assert fast.final_heat == pytest.approx(2000 * 2**0.5 * 0.5**11.5, rel=1e-6)  # 0.98
    assert max(h for _t, h in fast.sim.heat_curve) == pytest.approx(2000 * 2**0.5, abs=0.1)
    assert late.final_heat == pytest.approx(
        8000 * 3**3.5 * 1.3**6.5  # rumour: silence 2h..5h30m, late statement to 12h
        + 10000 * 2.5**(137 / 60) * 1.2**6.5,  # variant: 193m..5h30m, then late statement
        rel=1e-6)  # about 2.32 million
    late_curve = [h for _t, h in late.sim.heat_curve]
    assert late_curve == sorted(late_curve)
    assert late.final_heat > 1_000_000 * fast.final_heat

    # -- missed expectations and clocks become findings of the team's unit
    assert _findings(org, fast.run_id) == set()
    assert _findings(org, late.run_id) == {
        ("hz-jw", "leadership", "verdict:step:draft-statement:0", "medium"),
        ("hz-jw", "city", "verdict:step:city-report:0", "medium"),
        ("hz-jw", "opinion", "verdict:step:site-facts:0", "medium"),
        ("hz-jw", "leadership", "verdict:step:heat-warning:0", "medium"),
        ("zj-jst", "province", "verdict:escalation:to-province:0", "medium"),
        ("zj-jst", "province", "verdict:escalation:to-province:1", "medium"),
        ("hz-jw", "opinion", "clock:golden-4h", "high"),
        ("hz-jw", "opinion", "clock:authoritative-5h", "high")}


def test_wage_data_leak_fast_and_late(org: Settings) -> None:
    pid = "wage-data-leak"
    fast, late = _run(org, pid, "fast"), _run(org, pid, "late")

    # -- the red team's actions ran for real, inside hz-jw's scope. Their results are
    # read as the engine stored them: a replay drops the probe's result, which is
    # stamped at the same drill time as the recon result that schedules the probe.
    for out in (fast, late):
        results = _action_results(org, out.run_id)
        assert set(results) == {"recon", "probe"}
        recon, probe = results["recon"], results["probe"]
        assert "error" not in recon and "error" not in probe, (recon, probe)
        assert (recon["status"], recon["hosts_up"]) == ("done", 1)  # loopback is up
        assert probe["probed"] == 1
        assert out.sim.steps["probe"].fired_at == out.sim.steps["recon"].done_at

    def red_gain(out: Outcome) -> float:
        # HW scoring: what the scan newly found, by severity. Nothing listens on
        # 127.0.1.90, so this is 0 on a quiet machine; it is derived from the scan's own
        # result so that a service bound to 0.0.0.0 does not break the test.
        counts: dict[str, int] = _action_results(org, out.run_id)["recon"]["new_findings"]
        per = {s.value: p for s, p in out.loaded.playbook.scoring.red[0].per_finding.items()}
        return float(sum(per[sev] * n for sev, n in counts.items()))

    # -- expectations and scores
    assert fast.verdicts == {
        "step:soc-alert:0": "met", "step:soc-alert:1": "met", "step:alert:0": "met",
        "step:draft-statement:0": "met", "step:city-report:0": "met",
        "step:province-receipt:0": "met", "step:forensics:0": "met",
        "step:forensics:1": "met"}
    assert late.verdicts == {
        "step:soc-alert:0": "missed",  # detected at 1h: deadline 50m, no late credit
        "step:soc-alert:1": "late",  # contained at 1h40m: deadline 1h20m, half credit
        "step:alert:0": "missed", "step:draft-statement:0": "missed",
        "step:city-report:0": "missed", "step:province-receipt:0": "missed",
        "step:forensics:0": "missed", "step:forensics:1": "missed",
        "escalation:to-province:0": "missed", "escalation:to-province:1": "missed"}
    gain_fast, gain_late = red_gain(fast), red_gain(late)
    # fast: blue 10 + 20 + 10 + 10; opinion classify 10 + golden-4h 30 + concerns-48h 10
    # (classified relatively-serious: the 5h and 24h clocks do not apply).
    assert fast.totals == {"red": gain_fast, "blue": 50.0 - gain_fast, "opinion": 50.0,
                           "leadership": 10.0, "city": 10.0, "province": 5.0, "white": 0.0}
    # late: blue -5 (detect) + 10 (contain, half of 20); opinion -5 (classify) - 10
    # (golden-4h); leadership -5; city -5; province -5 (receipt) -5 -5 (escalation).
    assert late.totals == {"red": gain_late, "blue": 5.0 - gain_late, "opinion": -15.0,
                           "leadership": -5.0, "city": -5.0, "province": -15.0, "white": 0.0}
    assert fast.totals["blue"] - late.totals["blue"] == 45.0 - gain_fast + gain_late

    # -- clocks: started by the classification (45m fast, 1h30m late)
    assert fast.clocks == {"golden-4h": "met", "authoritative-5h": None,
                           "press-briefing-24h": None, "concerns-48h": "met"}
    assert fast.sim.clocks["authoritative-5h"].started_at is None
    assert late.clocks == {"golden-4h": "missed", "authoritative-5h": None,
                           "press-briefing-24h": None, "concerns-48h": None}
    assert late.sim.clocks["golden-4h"].deadline == 90 * MIN + 4 * HOUR

    # -- the leak post: answered at 1h (30m after it appeared) or ignored until 6h
    assert fast.sim.posts["leak-post"].reaction == "statement"
    assert "leak-variant" not in fast.sim.posts
    assert fast.final_heat == pytest.approx(3000 * 2**0.5 * 0.5**11, rel=1e-6)  # 2.07
    # late: 3000 * 2**1.5 = 8485 at 2h (silence from 1h30m after it appeared), then
    # growth 3/h: > 40000 after ln(4.714)/ln(3) h, at 204.7 min -> the 205m tick.
    assert late.at("spawn", "leak-variant") == 205 * MIN
    # heat = 8485 * 3**((t-120)/60) + 15000 * 2.5**((t-205)/60): 147454 at 261m,
    # 150070 at 262m > 150000.
    assert late.sim.escalated == {"to-province": 262 * MIN}
    assert (fast.sim.level, late.sim.level) == ("city", "province")
    assert late.final_heat == pytest.approx(
        3000 * 2**1.5 * 3**4 * 1.4**6  # post: silence 2h..6h, late statement to 12h
        + 15000 * 2.5**(155 / 60) * 1.3**6,  # variant: 205m..6h, then late statement
        rel=1e-6)  # about 5.95 million

    # -- findings at both levels
    assert _findings(org, fast.run_id) == set()
    assert _findings(org, late.run_id) == {
        ("hz-jw", "blue", "verdict:step:soc-alert:0", "high"),
        ("hz-jw", "opinion", "verdict:step:alert:0", "medium"),
        ("hz-jw", "leadership", "verdict:step:draft-statement:0", "medium"),
        ("hz-jw", "city", "verdict:step:city-report:0", "medium"),
        ("hz-jw", "blue", "verdict:step:forensics:0", "high"),
        ("hz-jw", "blue", "verdict:step:forensics:1", "medium"),
        ("hz-jw", "opinion", "clock:golden-4h", "high"),
        ("zj-jst", "province", "verdict:step:province-receipt:0", "medium"),
        ("zj-jst", "province", "verdict:escalation:to-province:0", "medium"),
        ("zj-jst", "province", "verdict:escalation:to-province:1", "medium")}


@pytest.mark.parametrize("rehearsal", ["fast", "late"])
@pytest.mark.parametrize("playbook_id", [
    "web-portal-redblue", "ransomware-approval-tabletop", "site-accident-rumour",
    "wage-data-leak"])
def test_the_fast_clock_rehearses_exactly_as_the_step_clock(
        sqlite_org: Settings, playbook_id: str, rehearsal: str) -> None:
    """Every shipped playbook, on the fast clock (fast:200000: 12 h of drill time in
    0.2 s) with its scripted responses, ends with the verdicts and scores of the step
    clock: the scripted responses land at their drill times, and automated actions do
    not eat drill time on a compressed clock."""
    from tests.drills.helpers import SHIPPED, replayed, run_drill

    script = SHIPPED / "rehearsals" / f"{playbook_id}.{rehearsal}.yaml"
    stepped = run_drill(sqlite_org, playbook_id, responses=script, clock="step")
    fast = run_drill(sqlite_org, playbook_id, responses=script, clock="fast:200000")
    a, b = replayed(sqlite_org, stepped).sim, replayed(sqlite_org, fast).sim
    assert b.finished and b.totals() == a.totals()
    assert [(e.key, e.verdict, e.points) for e in b.expectations] == [
        (e.key, e.verdict, e.points) for e in a.expectations]
    assert {c: k.verdict for c, k in b.clocks.items()} == {
        c: k.verdict for c, k in a.clocks.items()}
    assert (b.level, round(b.heat())) == (a.level, round(a.heat()))
