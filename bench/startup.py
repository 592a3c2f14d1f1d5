"""How fast does ``garrison`` start? Prints figures; asserts nothing.

Runs each command N times (default 15) and reports the median and best wall time,
next to ``python -c pass`` (the floor any Python CLI pays) so the figure means the
same on a fast and a slow machine. The issue's target: ``garrison --help`` under
0.3 s.

    .venv/bin/python bench/startup.py [--runs N]
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


def _time(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    garrison = str(Path(sys.executable).with_name("garrison"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GARRISON_DB": f"sqlite:///{tmp}/bench.db"}
        subprocess.run([garrison, "demo"], env=env, check=True, capture_output=True)
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("garrison --version", [garrison, "--version"]),
            ("garrison --help", [garrison, "--help"]),
            ("garrison scope check (100-unit org)",
             [garrison, "scope", "check", "127.0.1.9", "--unit", "hz-jw"]),
            ("garrison org list (100 units)", [garrison, "org", "list"]),
        ]
        results = [(name, *_time(argv, args.runs, env)) for name, argv in cases]
    floor = results[0][1]
    print(f"{'command':40} {'median s':>9} {'best s':>8} {'x python':>9}")
    for name, median, best in results:
        print(f"{name:40} {median:9.3f} {best:8.3f} {median / floor:9.1f}")
    help_median = results[2][1]
    verdict = "meets" if help_median < 0.3 else "MISSES"
    print(f"\ngarrison --help median {help_median:.3f} s: {verdict} the 0.3 s target "
          f"({args.runs} runs, {sys.platform}, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
