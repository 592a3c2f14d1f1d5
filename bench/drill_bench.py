"""A generated 200-step playbook on the fast clock: how long does the drill take?

Generates a mixed playbook (messages, incident reports, ``after`` chains, ``when``
steps, expectations with late credit and penalties, two posts with a spawn, an
escalation, the statutory clocks) and scripted responses for half of its
expectations, then times ``garrison drill run FILE --clock fast:N --responses ...``
as a user runs it (wall clock, start-up included), next to ``garrison --version``
(the CLI floor) and the drill-time floor (span / N), and the simulation alone. The
issue's target: under 2 s.

    .venv/bin/python bench/drill_bench.py [--steps 200] [--speed 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEAMS = ["blue", "opinion", "leadership", "city", "province"]
ACTIONS = ["acknowledge", "report-finding", "contain", "statement", "escalate",
           "notify-province", "analyse", "coordinate"]


def playbook(steps: int) -> tuple[dict[str, object], list[dict[str, object]]]:
    """(playbook, scripted responses): steps a minute apart, every third after the
    previous one, every 25th on a condition."""
    out: list[dict[str, object]] = [{"id": "s0", "at": "0m", "inject": "post", "post": "p1"}]
    responses: list[dict[str, object]] = []
    for i in range(1, steps):
        step: dict[str, object] = {"id": f"s{i}"}
        if i % 25 == 0:
            step["when"] = f"heat > {1000 + i * 10}"
        elif i % 3 == 0:
            step.update({"after": f"s{i - 1}", "delay": "1m"})
        else:
            step["at"] = f"{i}m"
        team = TEAMS[i % len(TEAMS)]
        if i % 2:
            step.update({"inject": "message", "to": [team], "text": f"第{i}号情况通报"})
        else:
            step.update({"inject": "incident-report", "to": [team], "severity": "high",
                         "text": f"事件报告 {i}"})
        does = ACTIONS[i % len(ACTIONS)]
        step["expect"] = [{"team": team, "does": does, "within": "20m", "points": 10,
                           "penalty": 2, "late": {"within": "20m", "credit": 0.5}}]
        out.append(step)
        if i % 2 == 0:
            responses.append({"at": f"{i + 5 + i % 30}m", "team": team, "does": does,
                              "step": f"s{i}"})
    responses.append({"at": "30m", "team": "opinion", "does": "classify", "level": "serious"})
    responses.append({"at": "45m", "team": "opinion", "does": "statement"})
    doc: dict[str, object] = {
        "id": "bench-generated", "title": "Generated benchmark drill", "kind": "mixed",
        "scope": {"unit": "hz-jw"},
        "teams": [{"id": t, "role": t if t != "opinion" else "opinion"} for t in TEAMS],
        "duration": f"{steps + 60}m", "clock_sets": ["statutory"],
        "posts": [
            {"id": "p1", "platform": "weibo", "author": "@bench", "text": "帖文",
             "reach": {"start": 500, "growth_per_hour": 2.0},
             "on": {"statement": {"growth_per_hour": 0.7}},
             "spawns": [{"when": "reach > 800", "post": "p2"}]},
            {"id": "p2", "platform": "douyin", "author": "@bench2", "text": "变体",
             "reach": {"start": 300, "growth_per_hour": 1.5}}],
        "escalation": [{"id": "up", "when": "heat > 1500", "to": "province",
                        "notify": ["province"],
                        "expect": [{"team": "province", "does": "acknowledge",
                                    "within": "30m"}]}],
        "steps": out,
    }
    return doc, responses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--speed", type=float, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.timing import wall
    garrison = str(Path(sys.executable).with_name("garrison"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        doc, responses = playbook(args.steps)
        (tmp / "pb.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        (tmp / "r.yaml").write_text(yaml.safe_dump({"responses": responses},
                                                   allow_unicode=True), encoding="utf-8")
        env = {**os.environ, "GARRISON_DB": f"sqlite:///{tmp}/bench.db",
               "XDG_DATA_HOME": str(tmp / "xdg")}
        subprocess.run([garrison, "demo", "--org-only"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        run = [garrison, "drill", "run", str(tmp / "pb.yaml"), "--clock",
               f"fast:{args.speed:g}", "--responses", str(tmp / "r.yaml"), "--quiet"]
        drill = statistics.median(wall(run, env) for _ in range(args.rounds))
        floor = statistics.median(wall([garrison, "--version"], env) for _ in range(3))
        sim_time, span, events = _simulate(tmp / "pb.yaml", tmp / "r.yaml")
    print(f"{args.steps}-step generated playbook, {len(responses)} scripted responses, "
          f"{events} timeline events, drill span {span / 3600:.1f} h; "
          f"{os.cpu_count()} CPUs; median of {args.rounds}")
    print(f"{'what':58} {'seconds':>8}")
    print(f"{'garrison drill run --clock fast:' + format(args.speed, 'g') + ' (wall, all in)':58}"
          f" {drill:8.3f}")
    print(f"{'  of which the drill-time floor (span / speed)':58} {span / args.speed:8.3f}")
    print(f"{'garrison --version (CLI floor)':58} {floor:8.3f}")
    print(f"{'the simulation alone (replay of every input)':58} {sim_time:8.3f}")
    print(f"\n< 2 s: {'met' if drill < 2 else 'MISSED'} ({drill:.2f} s)")


def _simulate(playbook_path: Path, responses_path: Path) -> tuple[float, float, int]:
    from drills.loader import load_playbook
    from drills.script import load_script
    from drills.sim import Input, Sim

    loaded = load_playbook(playbook_path)
    script = load_script(responses_path, loaded)
    started = time.perf_counter()
    sim = Sim(loaded.playbook, loaded.clocks)
    for i, item in enumerate(sorted(script, key=lambda r: float(r["at"]))):
        sim.apply(Input(float(item["at"]), "response", f"r{i}", item["team"], item.get("step"),
                        item["does"], item.get("level")))
    span = float(loaded.playbook.duration or 0)
    sim.advance(span)
    return time.perf_counter() - started, span, len(sim.events)


if __name__ == "__main__":
    main()
