"""Reading findings: filtered lists (keyset-paged), one finding in full, export rows.

``overdue`` is derived, never stored: a finding is overdue when it is open or in
progress and its due date has passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from garrison.findings.export.base import ExportRow
from garrison.findings.lifecycle import get_finding
from garrison.findings.listing import (
    Dialect,
    FindingFilter,
    FindingRow,
    count_sql,
    decode_rows,
    is_overdue,
    list_sql,
    read_stamp,
    read_time,
    where_sql,
)
from garrison.models import (
    Asset,
    AssetState,
    Change,
    ChangeKind,
    Finding,
    FindingEvent,
    RuleRecord,
    Service,
    Unit,
)
from garrison.org.queries import get_unit, subtree_ids
from garrison.vocab import OPEN_STATES, SEVERITY_ORDER

__all__ = ["SEVERITY_ORDER", "FindingDetail", "FindingFilter", "FindingRow", "count_findings",
           "export_rows", "filter_clauses", "finding_detail", "gone_since", "is_overdue",
           "list_findings"]

def dialect(session: Session) -> Dialect:
    """Which SQL the session's database speaks (``listing`` binds timestamps by it)."""
    return "sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"


def unit_ids(session: Session, f: FindingFilter) -> list[int] | None:
    """The ids the unit filter covers (the unit and its sub-units); NotFoundError if
    the unit is unknown."""
    if f.unit is None:
        return None
    return subtree_ids(session, get_unit(session, f.unit))


def filter_clauses(session: Session, f: FindingFilter, now: datetime) -> list[sa.TextClause]:
    """The filter as a condition on the ``finding`` table, for SQLAlchemy queries.

    The SQL comes from ``listing.where_sql``: one definition of what each filter
    means, shared with the CLI's quick path. An unknown unit raises ``NotFoundError``.
    """
    where, params = where_sql(f, now, unit_ids=unit_ids(session, f),
                              dialect=dialect(session))
    return [sa.text(where).bindparams(**params)]


def list_findings(session: Session, f: FindingFilter, *, now: datetime,
                  limit: int | None = 200, after_id: int | None = None, order: str = "id",
                  descending: bool = False, offset: int | None = None) -> list[FindingRow]:
    """Findings matching ``f``, by id (pass the last id as ``after_id`` for the next page),
    or sorted by ``order`` (see ``listing.SORTS``) from ``offset``."""
    sql, params = list_sql(f, now, unit_ids=unit_ids(session, f), dialect=dialect(session),
                           limit=limit, after_id=after_id, order=order,
                           descending=descending, offset=offset)
    return decode_rows(session.execute(sa.text(sql), params).all(), now)


def count_findings(session: Session, f: FindingFilter, *, now: datetime) -> int:
    sql, params = count_sql(f, now, unit_ids=unit_ids(session, f), dialect=dialect(session))
    return int(session.execute(sa.text(sql), params).scalar_one())


@dataclass
class FindingDetail:
    finding: Finding
    unit_code: str
    unit_name: str
    rule: RuleRecord | None
    service: Service | None
    events: list[FindingEvent] = field(default_factory=list)
    now: datetime | None = None
    """When it was read: ``overdue`` is judged at this instant."""
    asset_gone_since: datetime | None = None
    """The finding's asset is gone (no scan sees it any more) since then."""

    @property
    def overdue(self) -> bool:
        return self.now is not None and is_overdue(self.finding.status, self.finding.due_at,
                                                   self.now)


def finding_detail(session: Session, finding_id: int, *, now: datetime) -> FindingDetail:
    finding = get_finding(session, finding_id)
    unit = session.get(Unit, finding.unit_id)
    assert unit is not None
    rule = session.get(RuleRecord, finding.rule_id)
    service = None
    if finding.asset_id is not None and finding.port is not None:
        service = session.exec(select(Service).where(
            Service.asset_id == finding.asset_id, Service.protocol == finding.protocol,
            Service.port == finding.port)).first()
    events = list(session.exec(select(FindingEvent).where(FindingEvent.finding_id == finding_id)
                               .order_by(col(FindingEvent.id))).all())
    asset = asset_of(session, finding)
    gone = gone_since(session, [asset] if asset is not None else [])
    return FindingDetail(finding, unit.code, unit.name, rule, service, events, now,
                         gone.get(finding.asset_id or 0))


EXPORT_COLUMNS = (
    "finding.id, unit.code, unit.name, finding.address, finding.protocol, finding.port, "
    "finding.evidence, finding.rule_id, finding.title, finding.severity, "
    "finding.cvss_vector, finding.cwe, finding.status, finding.owner, finding.source, "
    "finding.first_seen, finding.last_seen, finding.due_at, finding.status_changed_at, "
    "finding.description, finding.remediation")


def export_rows(session: Session, f: FindingFilter, *, now: datetime,
                batch: int = 5000) -> Iterator[ExportRow]:
    """Every matching finding as an ``ExportRow``, read in id-ordered batches.

    Plain rows, not ORM objects: an export of 100,000 findings spent two thirds of its
    time building and tracking ``Finding`` instances it only reads once."""
    rules = {r.id: (r.cvss_vector, r.cwe, r.rationale, r.remedy)
             for r in session.exec(select(RuleRecord)).all()}
    no_rule = (None, None, None, None)
    where, params = where_sql(f, now, unit_ids=unit_ids(session, f), dialect=dialect(session))
    query = sa.text(f"SELECT {EXPORT_COLUMNS} FROM finding JOIN unit ON finding.unit_id = "
                    f"unit.id WHERE {where} AND finding.id > :after ORDER BY finding.id "
                    "LIMIT :batch")
    after = 0
    while True:
        rows = session.execute(query, {**params, "after": after, "batch": batch}).all()
        if not rows:
            return
        for (fid, code, name, address, protocol, port, evidence, rule_id, title, severity,
             cvss, cwe, status, owner, source, first, last, due, changed, description,
             remediation) in rows:
            if isinstance(evidence, str):
                evidence = json.loads(evidence) if evidence != "{}" else {}
            rule_cvss, rule_cwe, rationale, remedy = rules.get(rule_id, no_rule)
            due_at = read_time(due)
            yield ExportRow(
                fid, code, name, address, protocol, port,
                evidence.get("service"), evidence.get("product"), evidence.get("version"),
                rule_id, title, severity, cvss or rule_cvss, cwe or rule_cwe, status, owner,
                source, read_stamp(first), read_stamp(last), due_at,
                status in OPEN_VALUES and due_at is not None and due_at < now,
                read_stamp(changed), description or rationale, remediation or remedy,
                evidence)
        after = rows[-1][0]


OPEN_VALUES = frozenset(s.value for s in OPEN_STATES)


def asset_of(session: Session, finding: Finding) -> Asset | None:
    return session.get(Asset, finding.asset_id) if finding.asset_id is not None else None


def gone_since(session: Session, assets: Sequence[Asset]) -> dict[int, datetime]:
    """For each gone asset among ``assets`` (by id): when a run found it gone (its latest
    ``asset_gone`` change that moved the inventory), else when it was last seen."""
    gone = {a.id: a for a in assets if a.state is AssetState.gone and a.id is not None}
    if not gone:
        return {}
    found: dict[int | None, datetime] = dict(session.execute(
        sa.select(col(Change.asset_id), sa.func.max(col(Change.at)))
        .where(col(Change.asset_id).in_(list(gone)), col(Change.kind) == ChangeKind.asset_gone,
               sa.not_(col(Change.historical)))
        .group_by(col(Change.asset_id))).all())
    return {aid: found.get(aid) or a.last_seen for aid, a in gone.items()}
