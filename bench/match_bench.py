"""Matching over a pool of 5,000 experts: the service call, and the command as typed.

Generates the pool in a fresh SQLite database (or ``--db``) over the demo
organisation: random skills and levels, cities, certifications (some expired), home
units (a tenth of the pool works for a bureau), 2,000 open assignments and 500 leave
periods covering now. Then times ``find_matches`` (three queries and the ranking;
median of ``--rounds``) and ``garrison experts match ... --json`` as a user runs it
(wall clock, start-up included). Target from the issue: < 0.3 s for the match.

    .venv/bin/python bench/match_bench.py [--experts 5000] [--rounds 5]
    .venv/bin/python bench/match_bench.py --db postgresql+psycopg://u:pw@127.0.0.1/scratch
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.timing import wall  # noqa: E402
from garrison.findings.sla import SlaPolicy  # noqa: E402

POLICY = SlaPolicy()

SKILLS = ["web", "network", "forensics", "malware", "cloud", "industrial-control",
          "data-protection", "cryptography", "opinion", "legal"]
CITIES = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"]
CERTS = ["CISP", "CISSP", "OSCP", "CISP-PTE", "CISA"]
REQUEST = (("forensics", 2), ("malware", 1))


def generate(db: str, count: int) -> None:
    from sqlmodel import select

    from garrison import db as gdb
    from garrison.demo import load_demo
    from garrison.findings.manual import add_manual
    from garrison.models import (
        Assignment,
        AssignmentRole,
        Expert,
        Severity,
        Unavailability,
        Unit,
    )
    from garrison.settings import Settings

    settings = Settings(db=db, actor="bench")
    gdb.upgrade(settings)
    now = settings.now()
    with gdb.write_session(settings) as session:
        load_demo(session, actor="bench", now=now)
    rng = random.Random(11)
    with gdb.write_session(settings) as session:
        units = [u.id for u in session.exec(select(Unit)) if u.id is not None]
        codes = [u.code for u in session.exec(select(Unit))]
        findings = [add_manual(session, unit_code=rng.choice(codes), title=f"finding {i}",
                               severity=Severity.high, actor="bench", now=now, policy=POLICY).id
                    for i in range(200)]
        experts = []
        for i in range(1, count + 1):
            skills = {s: rng.randint(1, 3) for s in rng.sample(SKILLS, rng.randint(1, 4))}
            certs = [{"name": c, "expires": rng.choice([None, "2020-06-30", "2029-12-31"])}
                     for c in rng.sample(CERTS, rng.randint(0, 2))]
            experts.append(Expert(
                key=f"expert{i}@example.org", name=f"专家{i:05d}",
                organisation=f"机构{i % 300}",
                home_unit_id=rng.choice(units) if rng.random() < 0.1 else None,
                city=rng.choice(CITIES), skills=skills, certifications=certs,
                languages=["中文"], phone=f"138{i:08d}", email=f"expert{i}@example.org",
                active=rng.random() > 0.03, created_at=now, updated_at=now))
        session.add_all(experts)
        session.flush()
        ids = [e.id for e in experts if e.id is not None]
        session.add_all(Assignment(expert_id=rng.choice(ids), finding_id=rng.choice(findings),
                                   role=AssignmentRole.responder, actor="bench",
                                   created_at=now)
                        for _ in range(2000))
        session.add_all(Unavailability(expert_id=rng.choice(ids),
                                       starts=now - timedelta(days=2),
                                       ends=now + timedelta(days=rng.randint(1, 10)),
                                       reason="年假") for _ in range(500))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", help="a scratch database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'match.db'}"
        started = time.perf_counter()
        generate(db, args.experts)
        print(f"generated {args.experts:,} experts in {time.perf_counter() - started:.1f} s")

        from expert_pool.assignments import find_matches
        from garrison.db import read_session
        from garrison.settings import Settings

        settings = Settings(db=db, actor="bench")
        service = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            with read_session(settings) as session:
                result = find_matches(session, skills=REQUEST, city="杭州", unit="hz-jw",
                                      count=10, at=settings.now())
            service.append(time.perf_counter() - t0)
        env = dict(os.environ, GARRISON_DB=db, GARRISON_ACTOR="bench")
        garrison = str(Path(sys.executable).with_name("garrison"))
        argv = [garrison, "experts", "match", "--skill", "forensics:2", "--skill", "malware",
                "--city", "杭州", "--for-unit", "hz-jw", "--count", "10", "--json"]
        wall(argv, env)  # warm the page cache
        command = [wall(argv, env) for _ in range(args.rounds)]
        startup = [wall([garrison, "--help"], env) for _ in range(args.rounds)]
        print(f"match over {result.considered:,} experts ({result.eligible:,} eligible, "
              f"{len(result.excluded):,} excluded): service "
              f"{statistics.median(service):.3f} s (median of {args.rounds}; target < 0.3 s)")
        print(f"`garrison experts match ...` as typed: {statistics.median(command):.3f} s "
              f"wall (median of {args.rounds}); `garrison --help` alone "
              f"{statistics.median(startup):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
