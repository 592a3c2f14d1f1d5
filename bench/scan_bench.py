"""``garrison scan run --profile quick`` over 127.0.0.0/20 against raw nmap, side by side.

Both run the same nmap arguments (taken from ``--dry-run --json``) over the same
4,096 loopback addresses; Garrison runs them in batches of 1,024, two nmap runs at a
time by default (also measured: one at a time), and stores every batch (assets,
services, changes, findings) as it finishes, plus its start-up and the scope guard.
Rounds alternate; medians are reported. The issue's target:
Garrison / nmap <= 1.10.

    .venv/bin/python bench/scan_bench.py [--rounds 3] [--cidr 127.0.0.0/20]

Sends packets only to loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ORG = """units:
  - code: bench-lab
    name: 基准扫描
    level: unit
    officer: {{name: 测试员}}
    scopes: [{{cidr: {cidr}, authorized_by: BENCH}}]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cidr", default="127.0.0.0/20")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.timing import wall

    if not args.cidr.startswith("127."):
        sys.exit("bench: loopback targets only")
    garrison = str(Path(sys.executable).with_name("garrison"))
    with tempfile.TemporaryDirectory() as tmp:
        org = Path(tmp) / "org.yaml"
        org.write_text(ORG.format(cidr=args.cidr), encoding="utf-8")
        plan_env = {**os.environ, "GARRISON_DB": f"sqlite:///{tmp}/plan.db"}
        subprocess.run([garrison, "org", "import", str(org)], env=plan_env, check=True,
                       capture_output=True)
        plan = json.loads(subprocess.run(
            [garrison, "scan", "run", "--unit", "bench-lab", "--profile", "quick", "--dry-run",
             "--json"], env=plan_env, check=True, capture_output=True, text=True).stdout)
        nmap_args = plan["commands"][0][1:-(len(plan["commands"][0]) - plan["commands"][0]
                                            .index("--"))]
        raw = ["nmap", *nmap_args, "-oX", "-", args.cidr]
        first, again, serial, baseline = [], [], [], []
        for round_ in range(args.rounds):
            env = {**os.environ, "GARRISON_DB": f"sqlite:///{tmp}/round-{round_}.db"}
            subprocess.run([garrison, "org", "import", str(org)], env=env, check=True,
                           capture_output=True)
            baseline.append(wall(raw, env))
            scan = [garrison, "scan", "run", "--unit", "bench-lab", "--profile", "quick"]
            first.append(wall(scan, env))
            again.append(wall(scan, env))
            serial.append(wall([*scan, "--parallel", "1"], env))
    med = statistics.median
    print(f"{plan['addresses']} addresses ({args.cidr}), profile quick, {plan['technique']} "
          f"scan, {len(plan['commands'])} batches; {args.rounds} rounds, median")
    print(f"{'contender':46} {'seconds':>8}")
    print(f"{'raw nmap, one run, same arguments':46} {med(baseline):8.2f}")
    print(f"{'garrison scan run (first scan, stores 4096 hosts)':46} {med(first):8.2f}")
    print(f"{'garrison scan run (rescan, diffs)':46} {med(again):8.2f}")
    print(f"{'garrison scan run --parallel 1 (rescan)':46} {med(serial):8.2f}")
    ratio = med(first) / med(baseline)
    print(f"\nratio garrison/nmap: {ratio:.2f} first, {med(again) / med(baseline):.2f} rescan, "
          f"{med(serial) / med(baseline):.2f} with one nmap run at a time "
          f"(target <= 1.10: {'met' if ratio <= 1.10 else 'MISSED'})")
    print("nmap arguments: " + " ".join(nmap_args))


if __name__ == "__main__":
    main()
