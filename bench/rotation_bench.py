"""A generated expert pool: how long does planning an on-call rotation take?

Builds a synthetic pool (seeded: skills among web, network, forensics, malware and
cloud at levels 1-3; about one expert in six on leave for a few days to two weeks),
lays the pattern ``08:00-16:00,16:00-24:00,00:00-08:00`` over the period in
Asia/Shanghai, requires ``forensics:1`` and ``network:2`` on every shift, and times
``plan_rotation`` in process (it is pure: no database, no start-up to include, so
``bench.timing.wall`` -- which times a whole command -- does not apply). The target:
under 1 s for 90 days x 3 shifts x 200 experts, 2 per shift.

    .venv/bin/python bench/rotation_bench.py [--days 90] [--people 200] [--per-shift 2]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from expert_pool.rotation import Person, Rotation

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ["web", "network", "forensics", "malware", "cloud"]
PATTERN = "08:00-16:00,16:00-24:00,00:00-08:00"
TZ = "Asia/Shanghai"
FIRST_DAY = date(2026, 12, 1)
REQUIRED = (("forensics", 1), ("network", 2))


def pool(size: int, days: int, seed: int = 7) -> list[Person]:
    """``size`` experts with 2-4 skills each; some on leave within the period."""
    from expert_pool.rotation import Person

    rng = random.Random(seed)
    zone = ZoneInfo(TZ)
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=zone)
    out: list[Person] = []
    for i in range(size):
        skills = {name: rng.choice((1, 2, 2, 3)) for name in rng.sample(SKILLS, rng.randint(2, 4))}
        busy: tuple[tuple[datetime, datetime], ...] = ()
        if rng.random() < 0.17:
            begins = start + timedelta(days=rng.randrange(days), hours=rng.randrange(24))
            busy = ((begins, begins + timedelta(days=rng.randint(3, 14))),)
        out.append(Person(id=i + 1, name=f"expert-{i + 1:03d}", skills=skills, busy=busy))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--per-shift", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from expert_pool.rotation import Requirement, make_shifts, parse_pattern, plan_rotation

    people = pool(args.people, args.days)
    shifts = make_shifts(FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1),
                         parse_pattern(PATTERN), TZ)
    req = Requirement(per_shift=args.per_shift, skills=REQUIRED)
    times: list[float] = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        rotation = plan_rotation(people, shifts, req, seed=1)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    counts = [rotation.load[i] for i in sorted(rotation.eligible or rotation.load)]
    on_leave = sum(1 for p in people if p.busy)
    print(f"{len(people)} experts ({on_leave} with leave), {len(shifts)} shifts, "
          f"{args.per_shift} per shift, required {', '.join(f'{s}:{v}' for s, v in REQUIRED)}")
    print(f"load per eligible expert: min {min(counts)}, max {max(counts)}; "
          f"{len(rotation.unavailable)} unavailable; no plan can have a spread below "
          f"{lower_bound(people, rotation, args.per_shift)}")
    print(f"rotation {args.days} days x 3 shifts x {len(people)} experts: {median:.2f} s "
          f"(median of {args.rounds}), spread {rotation.spread}")
    print(f"< 1 s: {'met' if median < 1 else 'MISSED'}")


def lower_bound(people: list[Person], rotation: Rotation, per_shift: int) -> int:
    """A spread no plan can beat. Someone works at least the average, and at most
    the average; the holders of a required skill cover every shift between them (so
    one of them works at least shifts / holders) and leave the others at most the
    remaining slots."""
    shifts = len(rotation.shifts)
    eligible = len(rotation.eligible or rotation.load)
    slots = shifts * per_shift
    most, least = math.ceil(slots / eligible), slots // eligible
    for skill, level in REQUIRED:
        holders = sum(1 for p in people if p.skills.get(skill, 0) >= level)
        most = max(most, math.ceil(shifts / holders))
        if eligible > holders:
            least = min(least, (slots - shifts) // (eligible - holders))
    return most - least


if __name__ == "__main__":
    main()
