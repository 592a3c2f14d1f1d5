"""Import a 65,536-host nmap XML file: Garrison vs python-nmap's parser, side by side.

Each contender runs in its own process (so peak RSS is its own), alternating, for
``--rounds`` rounds; the median is reported. Garrison's figure is the whole import:
parse, scope-check, store assets/services, record changes, evaluate the risk rules
and write findings, in one transaction, into a fresh database. python-nmap's is its
``analyse_nmap_xml_scan`` parse of the same file, nothing else.

    .venv/bin/python bench/import_bench.py [--hosts 65536] [--rounds 3] [--db URL]

Targets from the issue: Garrison / python-nmap <= 1.0, Garrison peak RSS < 300 MB.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PYTHON_NMAP = """
import json, resource, sys, time
import nmap
t = time.perf_counter()
scanner = nmap.PortScanner.__new__(nmap.PortScanner)
scanner._scan_result = {}
with open(sys.argv[1]) as handle:
    result = scanner.analyse_nmap_xml_scan(handle.read())
elapsed = time.perf_counter() - t
services = sum(len(h.get("tcp", {})) for h in result["scan"].values())
print(json.dumps({"seconds": elapsed, "hosts": len(result["scan"]), "services": services,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

GARRISON = """
import json, resource, sys, time
from pathlib import Path
from garrison import db
from garrison.settings import Settings
from garrison.org.loader import load_org_file
from garrison.org.service import import_org
settings = Settings(db=sys.argv[2], actor="bench")
db.upgrade(settings)
if sys.argv[4] == "fresh":
    with db.write_session(settings) as session:
        import_org(session, load_org_file(Path(sys.argv[3])), actor="bench", now=settings.now())
from scanner.importer import import_xml
t = time.perf_counter()
report = import_xml(settings, path=Path(sys.argv[1]), unit_code="bench-unit")
elapsed = time.perf_counter() - t
rows = (report.hosts_stored + report.services + sum(report.counts.values())
        + report.counts.get("finding.new", 0))  # finding rows + their first events
print(json.dumps({"seconds": elapsed, "hosts": report.hosts_stored,
                  "services": report.services, "rows": rows, "counts": report.counts,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

ORG = """units:
  - code: bench-unit
    name: 基准测试单位
    level: unit
    officer: {name: 测试员}
    scopes: [{cidr: 10.20.0.0/16, authorized_by: BENCH}]
"""


def _run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT)  # (peak RSS: each contender's own process)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=65536)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", help="a PostgreSQL URL of an empty database (default: SQLite)")
    parser.add_argument("--file", type=Path, help="reuse this XML file instead of generating")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.gen_nmap_xml import generate

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        xml = args.file or tmp / "big.xml"
        if args.file is None:
            size = generate(xml, args.hosts)
        else:
            size = xml.stat().st_size
        org = tmp / "org.yaml"
        org.write_text(ORG, encoding="utf-8")
        pn, gi, re_ = [], [], []
        for round_ in range(args.rounds):
            pn.append(_run(PYTHON_NMAP, str(xml)))
            url = args.db or f"sqlite:///{tmp}/bench-{round_}.db"
            if args.db:
                _reset_pg(args.db)
            gi.append(_run(GARRISON, str(xml), url, str(org), "fresh"))
            re_.append(_run(GARRISON, str(xml), url, str(org), "again"))
        _report(size, pn, gi, re_, args)


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def _report(size: int, pn: list[dict[str, float]], gi: list[dict[str, float]],
            again: list[dict[str, float]], args: argparse.Namespace) -> None:
    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    backend = "PostgreSQL" if args.db else "SQLite"
    print(f"file: {size / 1e6:.1f} MB, {args.hosts} hosts, {int(gi[0]['services'])} open "
          f"services; {args.rounds} rounds, median; Garrison on {backend}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'contender':44} {'seconds':>8} {'peak RSS MB':>12} {'rows/s':>10}")
    print(f"{'python-nmap analyse_nmap_xml_scan (parse)':44} {med(pn, 'seconds'):8.2f} "
          f"{med(pn, 'rss_mb'):12.0f} {'':>10}")
    for label, runs in (("garrison scan import (first, fresh DB)", gi),
                        ("garrison scan import (same file again)", again)):
        rss = f"{med(runs, 'rss_mb'):.0f}+{med(runs, 'child_rss_mb'):.0f}"
        print(f"{label:44} {med(runs, 'seconds'):8.2f} {rss:>12} "
              f"{med(runs, 'rows') / med(runs, 'seconds'):10.0f}")
    print("(garrison RSS: the writer + its parser process)")
    ratio = med(gi, "seconds") / med(pn, "seconds")
    peak = max(r["rss_mb"] + r["child_rss_mb"] for r in gi + again)
    print(f"\nratio garrison/python-nmap: {ratio:.2f} (target <= 1.0: "
          f"{'met' if ratio <= 1.0 else 'MISSED'}); garrison peak RSS, writer and parser "
          f"together, at most {peak:.0f} MB (target < 300: {'met' if peak < 300 else 'MISSED'})")
    print(f"first import wrote: {json.dumps(gi[0]['counts'])}")


if __name__ == "__main__":
    main()
