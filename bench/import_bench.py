"""Import a 65,536-host nmap XML file: Garrison vs python-nmap's parser, side by side.

What a user sees: ``garrison scan import FILE --unit U`` as a whole process (start-up,
reading and checking the whole file, storing assets, services, changes and findings
in short transactions) against python-nmap's ``analyse_nmap_xml_scan`` of the same
file in its own process (parsing only: what a script built on it would start from).

Both are measured for wall time and CPU time (user + system, the process and its
children), in ``--rounds`` rounds, the contenders in a random order each round, first
on the machine as it is, then again with two CPU burners running (each a busy loop on
its own process): a shared, busy machine. The load average is printed with each.

Then one more import runs while a second process writes to the same database every
20 ms (what the TUI or another officer's command does): the longest of those small
writes, from asking for the database to its commit, is printed (goal: under 1 s).

    .venv/bin/python bench/import_bench.py [--hosts 65536] [--rounds 5] [--db URL]

Goals (issue 11): CPU time <= 1.0x python-nmap's; wall time under the burners <=
1.0x python-nmap's; the longest wait of another writer < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PYTHON_NMAP = """
import sys
import nmap
scanner = nmap.PortScanner.__new__(nmap.PortScanner)
scanner._scan_result = {}
with open(sys.argv[1]) as handle:
    result = scanner.analyse_nmap_xml_scan(handle.read())
print(len(result["scan"]))
"""

BURN = "while True: pass"

WRITER = """
import json, sys, time
from garrison import audit, db
from garrison.settings import Settings
settings = Settings(db=sys.argv[1], actor="other-writer")
stop = time.monotonic() + float(sys.argv[2])
waits = []
while time.monotonic() < stop:
    started = time.monotonic()  # the whole small write: its BEGIN waits for the lock
    with db.write_session(settings) as session:
        audit.record(session, actor="other-writer", action="bench.write", subject="x",
                     at=settings.now())
    waits.append(time.monotonic() - started)
    time.sleep(0.02)
print(json.dumps({"writes": len(waits), "max_wait": max(waits),
                  "median_wait": sorted(waits)[len(waits) // 2]}))
"""

ORG = """units:
  - code: bench-unit
    name: 基准测试单位
    level: unit
    officer: {name: 测试员}
    scopes: [{cidr: 10.20.0.0/16, authorized_by: BENCH}]
"""


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float


def measure(argv: list[str], env: dict[str, str]) -> Sample:
    """One whole process: wall time, CPU (user+sys, with its children), peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"bench: {argv[:3]} failed: {err}")
    if proc.stderr:
        proc.stderr.close()
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


class Contenders:
    def __init__(self, tmp: Path, xml: Path, db: str | None) -> None:
        self.tmp, self.xml, self.db = tmp, xml, db
        self.garrison = str(Path(sys.executable).with_name("garrison"))
        self.org = tmp / "org.yaml"
        self.org.write_text(ORG, encoding="utf-8")
        self.count = 0

    def fresh_db(self) -> dict[str, str]:
        self.count += 1
        url = self.db or f"sqlite:///{self.tmp}/bench-{self.count}.db"
        if self.db:
            _reset_pg(self.db)
        env = {**os.environ, "GARRISON_DB": url}
        subprocess.run([self.garrison, "org", "import", str(self.org)], env=env, check=True,
                       capture_output=True)
        return env

    def python_nmap(self) -> Sample:
        return measure([sys.executable, "-c", PYTHON_NMAP, str(self.xml)], dict(os.environ))

    def import_(self) -> Sample:
        env = self.fresh_db()
        return measure([self.garrison, "scan", "import", str(self.xml), "--unit",
                        "bench-unit", "--json"], env)


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def rounds(c: Contenders, n: int, label: str) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {"python-nmap": [], "garrison": []}
    for i in range(n):
        order = ["python-nmap", "garrison"]
        random.shuffle(order)
        for name in order:
            out[name].append(c.python_nmap() if name == "python-nmap" else c.import_())
        print(f"  {label} round {i + 1}: " + ", ".join(
            f"{k} {v[-1].wall:.2f} s wall / {v[-1].cpu:.2f} s CPU" for k, v in out.items()),
            flush=True)
    return out


def report(label: str, runs: dict[str, list[Sample]], load: tuple[float, float]) -> None:
    def med(name: str, key: str) -> float:
        return float(statistics.median(getattr(s, key) for s in runs[name]))

    print(f"\n{label} (load average {load[0]:.2f} before, {load[1]:.2f} after; median of "
          f"{len(runs['garrison'])})")
    print(f"  {'contender':48} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}")
    for name, title in (("python-nmap", "python-nmap analyse_nmap_xml_scan (parse only)"),
                        ("garrison", "garrison scan import (whole command, fresh DB)")):
        print(f"  {title:48} {med(name, 'wall'):8.2f} {med(name, 'cpu'):8.2f} "
              f"{med(name, 'rss_mb'):12.0f}")
    wall = med("garrison", "wall") / med("python-nmap", "wall")
    cpu = med("garrison", "cpu") / med("python-nmap", "cpu")
    print(f"  ratio garrison/python-nmap: wall {wall:.2f}, CPU {cpu:.2f} "
          f"(goal <= 1.0: wall {'met' if wall <= 1.0 else 'MISSED'}, "
          f"CPU {'met' if cpu <= 1.0 else 'MISSED'})")


def writer_waits(c: Contenders, import_wall: float) -> dict[str, float]:
    """Another process writes every 20 ms during an import: its longest wait."""
    seconds = 2 * import_wall + 2  # the writer outlasts the import
    env = c.fresh_db()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, env["GARRISON_DB"], str(seconds)],
                              stdout=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)  # the writer is writing before the import starts
    sample = measure([c.garrison, "scan", "import", str(c.xml), "--unit", "bench-unit",
                      "--json"], env)
    out, _err = writer.communicate(timeout=seconds + 60)
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["import_wall"] = sample.wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=65536)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", help="a PostgreSQL URL of an empty database (default: SQLite)")
    parser.add_argument("--file", type=Path, help="reuse this XML file instead of generating")
    parser.add_argument("--no-burn", action="store_true", help="skip the burner rounds")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.gen_nmap_xml import generate

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        xml = args.file or tmp / "big.xml"
        size = generate(xml, args.hosts) if args.file is None else xml.stat().st_size
        print(f"file: {size / 1e6:.1f} MB, {args.hosts} hosts, six open services each; "
              f"Garrison on {'PostgreSQL' if args.db else 'SQLite'}; {os.cpu_count()} CPUs; "
              f"{args.rounds} rounds, contenders in random order")
        c = Contenders(tmp, xml, args.db)
        before = os.getloadavg()[0]
        idle = rounds(c, args.rounds, "as is")
        report("On the machine as it is", idle, (before, os.getloadavg()[0]))
        if not args.no_burn:
            burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2)]
            try:
                time.sleep(2)
                before = os.getloadavg()[0]
                busy = rounds(c, args.rounds, "burners")
                report("With two CPU burners running", busy, (before, os.getloadavg()[0]))
            finally:
                for b in burners:
                    b.kill()
                    b.wait()
        waits = writer_waits(c, statistics.median(s.wall for s in idle["garrison"]))
        print(f"\nAnother writer during an import ({waits['import_wall']:.1f} s): "
              f"{int(waits['writes'])} writes, longest wait {waits['max_wait']:.3f} s, median "
              f"{waits['median_wait']:.3f} s (goal < 1 s: "
              f"{'met' if waits['max_wait'] < 1.0 else 'MISSED'})")
        print(f"bench's own peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}"
              " MB")


if __name__ == "__main__":
    main()
