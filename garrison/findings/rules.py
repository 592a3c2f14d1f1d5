"""Keep the ``rule`` table in step with the rule packs a scan or import used."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session, select

from garrison.models import RuleRecord, Severity


class RuleText(NamedTuple):
    id: str
    title: str
    severity: Severity
    rationale: str
    remedy: str
    cwe: str | None
    cvss_vector: str | None
    references: list[str]
    source: str


def sync_rules(session: Session, rules: Iterable[RuleText], *, now: datetime) -> int:
    """Insert new rules and update changed ones; return how many rows changed."""
    existing = {r.id: r for r in session.exec(select(RuleRecord)).all()}
    changed = 0
    for rule in rules:
        row = existing.get(rule.id)
        values = rule._asdict()
        if row is None:
            session.add(RuleRecord(**values, updated_at=now))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            session.add(row)
            changed += 1
    session.flush()
    return changed
