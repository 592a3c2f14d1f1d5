"""Red/blue: the red team's scan hits real loopback listeners; the blue team's
detection expectation is met by the finding that scan raised."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import select

from garrison.db import read_session
from garrison.models import DrillEvent, Finding, FindingSource, ScanRun
from garrison.settings import Settings
from scanner.lab import LabServices, ServiceSpec
from tests.conftest import FIXTURES
from tests.drills.helpers import get, replayed, run_drill

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")

PORTAL = "127.0.1.80"
LISTENERS = [ServiceSpec(PORTAL, 6379, "redis", "6.0.5"), ServiceSpec(PORTAL, 23, "telnet")]


def test_scan_raises_findings_and_a_check_meets_the_blue_expectation(org: Settings) -> None:
    script = [{"at": 600, "team": "blue", "does": "analyse", "note": "Redis未授权"},
              {"at": 7200, "team": "blue", "does": "contain"}]  # too late: due by 1 h
    with LabServices(LISTENERS):
        run_id = run_drill(org, FIXTURES / "drills" / "redblue.yaml", script=script)
    assert get(org, run_id).state.value == "done"
    with read_session(org) as session:
        scans = session.exec(select(ScanRun)).all()
        raised = {(f.rule_id, f.address, f.port, f.severity.value)
                  for f in session.exec(select(Finding).where(
                      Finding.source == FindingSource.scan)).all()}
        result = session.exec(select(DrillEvent).where(DrillEvent.kind == "action-result")).one()
        check = session.exec(select(DrillEvent).where(DrillEvent.kind == "auto-check")).one()
    assert [s.targets for s in scans] == [[f"{PORTAL}/32"]]  # only the approved portal
    assert raised == {("redis-exposed", PORTAL, 6379, "critical"),
                      ("telnet-exposed", PORTAL, 23, "high")}
    assert result.data["new_findings"] == {"critical": 1, "high": 1}
    assert check.data["expectation"] == "step:recon:0"
    sim = replayed(org, run_id).sim
    assert {e.key: e.verdict for e in sim.expectations} == {
        "step:recon:0": "met", "step:recon:1": "met", "step:contain:0": "missed"}
    # red: a critical (20) and a high (10) finding; blue: -30 for them, detection 20,
    # analysis 10, containment missed -5
    assert sim.totals() == {"red": 30.0, "blue": -5.0, "white": 0.0}
    by_category: dict[str, float] = {}
    for line in sim.scores:
        if line.team == "blue" and line.category:
            by_category[line.category] = by_category.get(line.category, 0) + line.points
    assert by_category == {"detection": 20.0, "analysis": 10.0, "response": -5.0}
    with read_session(org) as session:
        drill_findings = session.exec(select(Finding).where(
            Finding.source == FindingSource.drill)).all()
    assert [(f.title, f.severity.value) for f in drill_findings] == [
        ("Drill test-redblue: blue did not contain in time (contain)", "high")]


def test_step_clock_results_come_back_at_the_drill_time_their_action_fired(
        sqlite_org: Settings) -> None:
    """Regression: the step clock once moved on to the next due event before running a
    pending action, stamping the scan's result 20 minutes late; and a replay dropped the
    result of an action that started ``after`` another at the same drill time."""
    from tests.drills.helpers import SHIPPED

    run_id = run_drill(sqlite_org, SHIPPED / "web-portal-redblue.yaml")
    with read_session(sqlite_org) as session:
        stored = session.exec(select(DrillEvent).where(DrillEvent.run_id == run_id)).all()
        events = {e.key: e.drill_at for e in stored}
        probe = next(e.data for e in stored if e.key == "result:probe")
    assert events["result:recon"] == events["action:recon"] == 0.0
    # scapy's probe records what answered: the portal's address answers ICMP on loopback
    assert {"address": PORTAL, "method": "icmp"} in probe["answered"]
    assert probe["probed"] == 1
    assert events["result:probe"] == events["action:probe"]
    sim = replayed(sqlite_org, run_id).sim
    assert sim.finished and sim.pending_actions() == []
    assert get(sqlite_org, run_id).summary["scores"] == sim.totals()


def test_a_result_at_the_same_time_as_the_result_it_follows_is_kept() -> None:
    from drills.sim import Input, Sim
    from tests.drills.helpers import SHIPPED, loaded

    pb = loaded(SHIPPED / "web-portal-redblue.yaml")
    sim = Sim(pb.playbook, pb.clocks)
    sim.apply(Input(1200.0, "action-result", "result:recon", team="red", step="recon",
                    data={"new_findings": {}}))
    sim.apply(Input(1200.0, "action-result", "result:probe", team="red", step="probe",
                    data={"answered": []}))
    assert sim.steps["probe"].result == {"answered": []}
    assert sim.pending_actions() == []
