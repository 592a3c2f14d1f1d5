"""100,000 findings across the 100 demo units: list, summary and export timings.

Generates the findings straight into a fresh SQLite database (or ``--db``), with
their status history (about half of them fixed at some point), then times each
command as a user runs it (wall clock, including start-up) and the service call
alone, median of ``--rounds``. Targets from the issue: ``findings list --unit U
--overdue`` < 0.5 s, CSV export < 3 s; XLSX export and ``summary`` are reported.

    .venv/bin/python bench/findings_bench.py [--findings 100000] [--rounds 3]
    .venv/bin/python bench/findings_bench.py --db postgresql+psycopg://u:pw@127.0.0.1/scratch
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEVERITIES = ["critical"] * 5 + ["high"] * 20 + ["medium"] * 40 + ["low"] * 30 + ["info"] * 5
DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180, "info": None}


def generate(db: str, count: int) -> None:
    from sqlmodel import select

    from garrison import db as gdb
    from garrison.bulk import Bulk
    from garrison.demo import load_demo
    from garrison.settings import Settings

    settings = Settings(db=db, actor="bench")
    gdb.upgrade(settings)
    now = settings.now()
    with gdb.write_session(settings) as session:
        load_demo(session, actor="bench", now=now)
    rng = random.Random(7)
    with gdb.write_session(settings) as session:
        from garrison.models import Finding, FindingEvent, Unit

        units = [(u.id, u.code, u.officer_name) for u in session.exec(select(Unit)).all()]
        bulk = Bulk(session)
        rows: list[tuple[object, ...]] = []
        events: list[tuple[object, ...]] = []
        for i in range(1, count + 1):
            uid, code, officer = rng.choice(units)
            severity = rng.choice(SEVERITIES)
            first = now - timedelta(days=rng.uniform(0, 365))
            days = DAYS[severity]
            due = first + timedelta(days=days) if days else None
            fixed_at = first + timedelta(days=rng.uniform(1, 120)) if rng.random() < 0.5 \
                else None
            status = "fixed" if fixed_at and fixed_at < now else rng.choice(
                ["open", "open", "open", "in_progress"])
            changed = fixed_at if status == "fixed" else first
            rows.append((i, f"bench|{code}|{i}", "bench-rule", f"基准发现 {i} 号: 弱口令",
                         severity, "manual", uid, None, f"127.0.{i % 250}.{i % 200}", "tcp",
                         22, officer, status, bulk.ts(due), bulk.ts(first), bulk.ts(first),
                         bulk.ts(changed), "{}", "[]"))
            events.append((i, "status", bulk.ts(first), "bench", None, "open", "generated"))
            if status == "fixed":
                events.append((i, "status", bulk.ts(changed), "bench", "open", "fixed", "fixed"))
        bulk.insert(Finding.__table__, ("id", "fingerprint", "rule_id", "title", "severity",  # type: ignore[attr-defined]
                                        "source", "unit_id", "asset_id", "address", "protocol",
                                        "port", "owner", "status", "due_at", "first_seen",
                                        "last_seen", "status_changed_at", "evidence",
                                        "references"), rows)
        bulk.insert(FindingEvent.__table__, ("finding_id", "kind", "at", "actor",  # type: ignore[attr-defined]
                                             "from_status", "to_status", "note"), events)
    gdb.dispose_engines()


def _inproc(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--unit", default="hz-jw")
    parser.add_argument("--db", help="a PostgreSQL URL of a database to wipe and use "
                        "(default: a fresh SQLite file)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.timing import wall
    garrison = str(Path(sys.executable).with_name("garrison"))
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        if args.db:
            _reset_pg(args.db)
        started = time.perf_counter()
        generate(db, args.findings)
        print(f"generated {args.findings} findings in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "GARRISON_DB": db}
        commands = {
            f"findings list --unit {args.unit} --overdue":
                [garrison, "findings", "list", "--unit", args.unit, "--overdue"],
            "findings summary": [garrison, "findings", "summary"],
            "findings export --format csv (all)":
                [garrison, "findings", "export", "-f", "csv", "-o", f"{tmp}/all.csv"],
            "findings export --format xlsx (all)":
                [garrison, "findings", "export", "-f", "xlsx", "-o", f"{tmp}/all.xlsx"],
            "python -c pass (start-up floor)": [sys.executable, "-c", "pass"],
            "garrison --version (CLI floor)": [garrison, "--version"],
        }
        results = {name: statistics.median(wall(argv, env) for _ in range(args.rounds))
                   for name, argv in commands.items()}
        service = _service_times(db, args.unit, args.rounds, Path(tmp))
    backend = "PostgreSQL" if args.db else "SQLite"
    print(f"{args.findings:,} findings on {backend}; {os.cpu_count()} CPUs")
    print(f"{'command (wall clock, median of ' + str(args.rounds) + ')':52} {'seconds':>8}")
    for name, seconds in results.items():
        print(f"{name:52} {seconds:8.3f}")
    print(f"\n{'service call alone (in one process)':52} {'seconds':>8}")
    for name, seconds in service.items():
        print(f"{name:52} {seconds:8.3f}")
    listing = results[f"findings list --unit {args.unit} --overdue"]
    csv_time = results["findings export --format csv (all)"]
    print(f"\nlist < 0.5 s: {'met' if listing < 0.5 else 'MISSED'} ({listing:.2f} s with "
          f"start-up, {service['list --unit --overdue']:.3f} s the query); CSV export "
          f"< 3 s: {'met' if csv_time < 3 else 'MISSED'} ({csv_time:.2f} s)")


def _reset_pg(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def _service_times(db: str, unit: str, rounds: int, tmp: Path) -> dict[str, float]:
    from garrison import db as gdb
    from garrison.findings.exporting import export_findings
    from garrison.findings.queries import FindingFilter, list_findings
    from garrison.findings.summary import summarise
    from garrison.settings import Settings

    settings = Settings(db=db, actor="bench")

    def listing() -> None:
        with gdb.read_session(settings) as session:
            list_findings(session, FindingFilter(unit=unit, overdue=True), now=settings.now())

    def summary() -> None:
        with gdb.read_session(settings) as session:
            summarise(session, now=settings.now())

    def csv() -> None:
        with gdb.write_session(settings) as session:
            export_findings(session, fmt="csv", path=tmp / "svc.csv", filters=FindingFilter(),
                            actor="bench", database=db, now=settings.now())

    listing()  # warm the engine
    return {name: statistics.median(_inproc(fn) for _ in range(rounds))
            for name, fn in (("list --unit --overdue", listing), ("summary", summary),
                             ("export csv", csv))}


if __name__ == "__main__":
    main()
