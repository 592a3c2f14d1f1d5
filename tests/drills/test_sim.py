"""Rules of the simulation that the shipped playbooks do not exercise on their own."""

from __future__ import annotations

from pathlib import Path

from drills.loader import load_playbook
from drills.sim import Input, Sim

WAITING = """
id: waiting
title: wait and after
kind: tabletop
scope: {unit: hz-jw}
teams: [blue, white]
steps:
  - {id: hold, at: 5m, action: wait, with: {for: 10m}}
  - {id: next, after: hold, delay: 2m, inject: message, to: [blue], text: go,
     expect: [{team: blue, does: acknowledge, within: 5m, points: 3}]}
  - {id: parallel, at: 5m, inject: message, to: [white], text: also at 5m}
"""


def test_wait_completes_after_its_time_and_after_counts_from_completion(
        tmp_path: Path) -> None:
    path = tmp_path / "waiting.yaml"
    path.write_text(WAITING, encoding="utf-8")
    loaded = load_playbook(path)
    sim = Sim(loaded.playbook, loaded.clocks)
    sim.apply(Input(17 * 60 + 30, "response", "r", "blue", None, "acknowledge"))
    sim.advance(3600)
    fired = {e.step: e.at for e in sim.events if e.kind == "fired"}
    assert fired == {"hold": 300.0, "next": 1020.0, "parallel": 300.0}  # 5m + 10m + 2m
    assert [e.at for e in sim.events if e.kind == "done"] == [900.0]
    assert [(e.verdict, e.points) for e in sim.expectations] == [("met", 3.0)]
    assert sim.finished and sim.finished_at == 1020.0 + 30  # judged: nothing left to do
