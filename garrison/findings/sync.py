"""Bulk upsert of findings from automated sources (scans, imports).

The scanner says what it saw (``Observation``s, deduplicated by fingerprint) and
which existing findings it could judge gone (``resolved``: fingerprint -> reason).
This module applies the lifecycle for them in the caller's transaction:

- new fingerprint: a finding, open, owned by the unit's responsible officer, due by
  the SLA; a FindingEvent (none -> open);
- seen again: last seen refreshed, evidence updated; a ``fixed``/``verified``
  finding is reopened (event, due date restarted), never duplicated; an
  ``accepted_risk`` whose acceptance expired is reopened too;
- resolved: an ``open``/``in_progress`` finding moves to ``fixed`` with an event
  by the scanner.

It writes through ``garrison.bulk`` (set-based, driver-level executemany), so an
import of 65,536 hosts and 300,000 findings stays within seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from garrison import audit
from garrison.bulk import Bulk
from garrison.findings.sla import DEFAULT_POLICY, SlaPolicy, due_at
from garrison.models import (
    Asset,
    Finding,
    FindingEvent,
    FindingSource,
    FindingStatus,
    Severity,
    Unit,
)

SCANNER_ACTOR = "scanner"
_OPEN = (FindingStatus.open, FindingStatus.in_progress)
_CLOSED = (FindingStatus.fixed, FindingStatus.verified)
_CHUNK = 900  # parameters per IN list (SQLite's limit is 32766; PostgreSQL's 65535)

finding_t: sa.Table = Finding.__table__  # type: ignore[attr-defined]
event_t: sa.Table = FindingEvent.__table__  # type: ignore[attr-defined]
unit_t: sa.Table = Unit.__table__  # type: ignore[attr-defined]
asset_t: sa.Table = Asset.__table__  # type: ignore[attr-defined]

_FINDING_COLUMNS = (
    "fingerprint", "rule_id", "title", "severity", "source", "unit_id", "asset_id",
    "service_id", "address", "protocol", "port", "owner", "status", "due_at", "first_seen",
    "last_seen", "status_changed_at", "evidence", "references")
_EVENT_COLUMNS = ("finding_id", "kind", "at", "actor", "from_status", "to_status", "note")


class Observation(NamedTuple):
    """One exposure seen by a scan. Rule text (rationale, remedy, CWE, CVSS,
    references) lives once in the ``rule`` table, not in every finding."""

    fingerprint: str
    rule_id: str
    title: str
    severity: Severity
    unit_id: int
    asset_id: int | None
    service_id: int | None
    address: str | None
    protocol: str | None
    port: int | None
    evidence: str
    """Evidence as JSON text (the caller builds it once per distinct value)."""


class ExistingFinding(NamedTuple):
    id: int
    fingerprint: str
    rule_id: str
    asset_id: int | None
    protocol: str | None
    port: int | None
    status: FindingStatus


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def findings_on_assets(session: Session, asset_ids: Iterable[int], *,
                       source: FindingSource = FindingSource.scan) -> list[ExistingFinding]:
    ids = list(asset_ids)
    c = finding_t.c
    out: list[ExistingFinding] = []
    for chunk in _chunks(ids):
        rows = session.execute(
            sa.select(c.id, c.fingerprint, c.rule_id, c.asset_id, c.protocol, c.port, c.status)
            .where(c.asset_id.in_(sa.bindparam("ids", expanding=True)), c.source == source),
            {"ids": list(chunk)}).all()
        out.extend(ExistingFinding(*row) for row in rows)
    return out


def sync_findings(session: Session, *, observed: Sequence[Observation],
                  resolved: dict[str, str], now: datetime, context: str, actor: str,
                  source: FindingSource = FindingSource.scan,
                  policy: SlaPolicy = DEFAULT_POLICY) -> Counter[str]:
    """Apply observations and resolutions; return counts (new, seen, reopened, fixed).

    Transitions of existing findings (reopened, fixed) are audited in one event per
    call, listing the findings, in the caller's transaction."""
    bulk = Bulk(session)
    counts: Counter[str] = Counter()
    by_fp = {o.fingerprint: o for o in observed}
    existing = _existing(bulk, list(by_fp) + list(resolved))
    events: list[tuple[Any, ...]] = []
    _insert_new(bulk, [o for fp, o in by_fp.items() if fp not in existing], now,
                context, source, counts, policy)
    _refresh(bulk, [(existing[fp], o) for fp, o in by_fp.items() if fp in existing], now,
             context, events, counts, policy)
    _resolve(bulk, [(existing[fp], reason) for fp, reason in resolved.items()
                    if fp in existing and fp not in by_fp], now, events, counts)
    bulk.insert(event_t, _EVENT_COLUMNS, events)
    if events:
        moved: dict[str, list[int]] = {}
        for event in events:
            moved.setdefault(f"{event[4]}->{event[5]}", []).append(event[0])
        audit.record(session, actor=actor, action="finding.status.automatic",
                     subject=context, payload={"source": source.value, "moved": moved}, at=now)
    return +counts  # drop zero counts


class _Row(NamedTuple):
    id: int
    status: FindingStatus
    severity: Severity
    accepted_until: date | None
    level: int | None
    """The asset's MLPS protection level, for a restarted deadline."""


def _existing(bulk: Bulk, fingerprints: list[str]) -> dict[str, _Row]:
    rows = bulk.lookup(finding_t, "fingerprint", fingerprints,
                       ("id", "status", "severity", "accepted_until", "asset_id"))
    levels = dict(bulk.lookup(asset_t, "id", sorted({r[5] for r in rows if r[5] is not None}),
                              ("protection_level",)))
    return {fp: _Row(fid, FindingStatus(status), Severity(severity), _date(until),
                     levels.get(asset_id))
            for fp, fid, status, severity, until, asset_id in rows}


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _insert_new(bulk: Bulk, new: list[Observation], now: datetime, context: str,
                source: FindingSource, counts: Counter[str], policy: SlaPolicy) -> None:
    if not new:
        return
    owners = dict(bulk.lookup(unit_t, "id", sorted({o.unit_id for o in new}),
                              ("officer_name",)))
    levels = {aid: level for aid, level in bulk.lookup(
        asset_t, "id", sorted({o.asset_id for o in new if o.asset_id is not None}),
        ("protection_level",)) if level is not None}
    stamp = bulk.ts(now)
    open_, src = FindingStatus.open.value, source.value
    due_cache: dict[tuple[Severity, int | None], Any] = {}
    rows = []
    for o in new:
        level = levels.get(o.asset_id or -1)
        due = due_cache.get((o.severity, level))
        if due is None:
            due = due_cache.setdefault((o.severity, level),
                                       bulk.ts(due_at(o.severity, now, level, policy)))
        rows.append((
            o.fingerprint, o.rule_id, o.title, o.severity.value, src, o.unit_id, o.asset_id,
            o.service_id, o.address, o.protocol, o.port, owners.get(o.unit_id, "?"), open_,
            due, stamp, stamp, stamp, o.evidence, "[]"))
    counts["new"] += _write_new(bulk, rows, stamp, context)


def _write_new(bulk: Bulk, rows: list[tuple[Any, ...]], stamp: Any, context: str) -> int:
    """Insert finding rows and, in the database, their first status events."""
    if not rows:
        return 0
    # (a fingerprint that exists after all, say of a deleted asset, is left alone)
    return _with_events(bulk, stamp, context, len(rows), lambda: bulk.insert(
        finding_t, _FINDING_COLUMNS, rows, on_conflict_skip="fingerprint"))


def _with_events(bulk: Bulk, stamp: Any, context: str, count: int,
                 insert: Callable[[], None]) -> int:
    """Run ``insert`` (new finding rows stamped ``stamp``), then write each new row's
    first status event in the database; returns ``count``."""
    q, m = bulk.name, bulk.mark
    before = bulk.scalar(f"SELECT COALESCE(MAX({q('id')}), 0) FROM {q('finding')}")
    insert()
    # Rows of this statement: ids above the previous maximum, stamped with this run's
    # time (a concurrent writer on PostgreSQL could take ids in between, never the stamp).
    bulk.execute(
        f"INSERT INTO {q('findingevent')} ({', '.join(q(c) for c in _EVENT_COLUMNS)}) "
        f"SELECT {q('id')}, {m}, {m}, {m}, NULL, {m}, {m} FROM {q('finding')} "
        f"WHERE {q('id')} > {m} AND {q('first_seen')} = {m} AND {q('status_changed_at')} = {m}",
        ("status", stamp, SCANNER_ACTOR, FindingStatus.open.value, context, before, stamp,
         stamp))
    return count


class NewFindings:
    """Findings on assets created in this transaction, written in one go.

    The fast path of an import: such assets can have no finding and no protection
    level yet, so rows are built directly, owner and due date computed once per unit
    and severity; the caller stages the parts every host with a service shares
    (``template``) and has the database make the rows (``write``).
    """

    COLUMNS = _FINDING_COLUMNS

    def __init__(self, session: Session, *, unit_id: int, now: datetime, context: str,
                 source: FindingSource = FindingSource.scan,
                 policy: SlaPolicy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self.bulk = Bulk(session)
        self.unit_id, self.now, self.context = unit_id, now, context
        self.stamp = self.bulk.ts(now)
        self.owner = dict(self.bulk.lookup(unit_t, "id", [unit_id], ("officer_name",))).get(
            unit_id, "?")
        self.source = source.value
        self._due: dict[Severity, Any] = {}

    def template(self, rule_id: str, title: str, severity: Severity, protocol: str,
                 port: int, evidence: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The parts of a row every host with this service shares (before and after the
        asset's id, service id and address): an import of 65,536 identical hosts builds
        them six times, not 327,680."""
        due = self._due.get(severity)
        if due is None:
            due = self._due[severity] = self.bulk.ts(due_at(severity, self.now, None,
                                                            self.policy))
        stamp = self.stamp
        return ((rule_id, title, severity.value, self.source, self.unit_id),
                (protocol, port, self.owner, "open", due, stamp, stamp, stamp, evidence, "[]"))

    def write(self, select: str, params: Sequence[Any], count: int) -> int:
        """Insert the rows ``select`` makes (``COLUMNS`` in order; a fingerprint that
        exists already is skipped) and their first events; returns ``count``."""
        if not count:
            return 0
        return _with_events(self.bulk, self.stamp, self.context, count,
                            lambda: self.bulk.insert_select(
                                finding_t, _FINDING_COLUMNS, select, params, count=count,
                                on_conflict_skip="fingerprint"))


def _refresh(bulk: Bulk, pairs: list[tuple[_Row, Observation]], now: datetime, context: str,
             events: list[tuple[Any, ...]], counts: Counter[str], policy: SlaPolicy) -> None:
    stamp = bulk.ts(now)
    seen, reopen = [], []
    for row, obs in pairs:
        evidence = obs.evidence
        expired = (row.status is FindingStatus.accepted_risk and row.accepted_until is not None
                   and row.accepted_until < now.date())
        if row.status in _CLOSED or expired:
            reopen.append((evidence, stamp, FindingStatus.open.value, stamp,
                           bulk.ts(due_at(row.severity, now, row.level, policy)), None, None,
                           row.id))
            note = (f"risk acceptance expired on {row.accepted_until}; {context}" if expired
                    else f"seen again: {context}")
            events.append((row.id, "status", stamp, SCANNER_ACTOR, row.status.value,
                           FindingStatus.open.value, note))
        else:
            seen.append((evidence, stamp, row.id))
    bulk.update(finding_t, ("evidence", "last_seen"), "id", seen)
    bulk.update(finding_t, ("evidence", "last_seen", "status", "status_changed_at", "due_at",
                            "accepted_until", "accepted_by"), "id", reopen)
    counts.update({"seen": len(seen), "reopened": len(reopen)})


def _resolve(bulk: Bulk, pairs: list[tuple[_Row, str]], now: datetime,
             events: list[tuple[Any, ...]], counts: Counter[str]) -> None:
    fixes = [(row, reason) for row, reason in pairs if row.status in _OPEN]
    stamp = bulk.ts(now)
    bulk.update(finding_t, ("status", "status_changed_at"), "id",
                [(FindingStatus.fixed.value, stamp, row.id) for row, _reason in fixes])
    events.extend((row.id, "status", stamp, SCANNER_ACTOR, row.status.value,
                   FindingStatus.fixed.value,
                   reason) for row, reason in fixes)
    counts["fixed"] += len(fixes)
