"""``experts match`` straight through the DB-API driver, without loading the ORM.

The match itself takes tens of milliseconds over 5,000 experts; importing SQLAlchemy,
SQLModel and pydantic takes most of a second. As ``findings list`` does
(``garrison.quickread``), the CLI first tries this road: ``sqlite3`` (or
``psycopg``), four plain queries, the same pure ranking (``expert_pool.matching``).

It answers only when it can answer exactly as the full path would, and returns
``None`` otherwise: no database file yet, a schema not at this version's head, an
unknown unit (the full path suggests the nearest code), contacts asked unmasked (an
audited view is a write), or any error at all while reading.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from expert_pool.matching import Candidate, MatchResult, Need, rank, valid_certs
from garrison.findings.listing import Dialect, bind_time, read_time
from garrison.org.tree import subtree
from garrison.quickread import Fallback, json_value, mark, read, rows


def quick_match(url: str, *, skills: tuple[tuple[str, int], ...], city: str | None,
                unit: str | None, count: int, at: datetime, tz: str) -> MatchResult | None:
    def answer(conn: Any, dialect: Dialect) -> MatchResult:
        units = rows(conn, "SELECT id, code, parent_id FROM unit")
        codes = {uid: code for uid, code, _parent in units}
        conflicted: frozenset[int] = frozenset()
        if unit is not None:
            root = next((uid for uid, code, _p in units if code == unit), None)
            if root is None:
                raise Fallback  # the full path suggests the nearest code
            conflicted = frozenset(subtree(((u, p) for u, _c, p in units), root))
        loads = Counter(row[0] for row in rows(
            conn, 'SELECT expert_id FROM assignment WHERE "open"'))
        moment, m = bind_time(at, dialect), mark(dialect)
        away: dict[int, tuple[datetime, datetime, str | None]] = {}
        for eid, starts, ends, reason in rows(
                conn, "SELECT expert_id, starts, ends, reason FROM unavailability "
                f"WHERE starts <= {m} AND ends > {m} ORDER BY id", (moment, moment)):
            start, end = read_time(starts), read_time(ends)
            assert start is not None and end is not None
            away[eid] = (start, end, reason)
        day = at.date()
        # a roster row names its skills in its JSON text: rows that cannot hold a
        # requested skill are counted without decoding them (most of the pool)
        needles = [f'"{name}"' for name, _level in skills]
        candidates, skipped = [], 0
        cursor = conn.execute("SELECT id, name, organisation, city, skills, certifications, "
                              "active, home_unit_id, phone, email FROM expert")
        try:
            for eid, name, org, city_, sk, certs, active, home, phone, email in cursor:
                if needles and isinstance(sk, str) and not any(n in sk for n in needles):
                    skipped += 1
                    continue
                candidates.append(Candidate(
                    id=eid, name=name, organisation=org, city=city_, skills=json_value(sk) or {},
                    certs=tuple(valid_certs(json_value(certs), day)), load=loads.get(eid, 0),
                    active=bool(active), home_unit_id=home,
                    home_unit=codes.get(home) if home else None, away=away.get(eid),
                    phone=phone, email=email))
        finally:
            cursor.close()
        return rank(candidates, Need(skills=skills, city=city, unit=unit,
                                     conflicted=conflicted, count=count, tz=tz),
                    skipped=skipped)

    return read(url, answer)
