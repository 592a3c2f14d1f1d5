"""Every user action on findings, one function each: the CLI and the TUI call only these.

Each action takes an ``ActionContext`` (who acts, the clock, the deployment's deadline
policy and acceptance limit, the display-safe database URL) and does the whole thing in
one transaction with its audit event: the expiry sweep (risk acceptances past their
date reopen, with the deployment's deadlines), the change, its history and audit rows.
Results are plain data; errors carry data and neutral text (``TransitionRefused.missing``
names fields, not command-line flags), and each front-end phrases them for its users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from garrison.db import read_session, write_session
from garrison.findings import lifecycle
from garrison.findings.exporting import ExportResult, export_findings
from garrison.findings.listing import FindingFilter, FindingRow
from garrison.findings.manual import add_manual
from garrison.findings.queries import FindingDetail, count_findings, finding_detail, list_findings
from garrison.findings.summary import Summary, summarise
from garrison.vocab import FindingStatus, Severity

if TYPE_CHECKING:
    from sqlmodel import Session

    from garrison.actions import ActionContext
    from garrison.models import Finding


@dataclass(frozen=True)
class Recorded:
    """A finding as an action left it."""

    id: int
    status: FindingStatus
    owner: str
    due_at: datetime | None
    reopened: tuple[int, ...] = ()
    """Findings whose expired risk acceptance this action reopened first."""


@dataclass(frozen=True)
class Page:
    rows: list[FindingRow]
    total: int | None
    """Every match, counted only when the page is full (there may be more)."""
    reopened: tuple[int, ...] = ()


def _sweep(session: Session, ctx: ActionContext, ids: list[int] | None = None
           ) -> tuple[int, ...]:
    return tuple(lifecycle.reopen_expired(session, actor=ctx.actor, now=ctx.now(),
                                          finding_ids=ids, policy=ctx.policies.sla))


def sweep(ctx: ActionContext) -> tuple[int, ...]:
    """Reopen every risk acceptance whose expiry has passed; the ids reopened."""
    with write_session(ctx.settings) as session:
        return _sweep(session, ctx)


def _recorded(finding: Finding, reopened: tuple[int, ...]) -> Recorded:
    assert finding.id is not None
    return Recorded(finding.id, finding.status, finding.owner, finding.due_at, reopened)


def add(ctx: ActionContext, *, unit_code: str, title: str, severity: Severity,
        address: str | None, protocol: str | None, port: int | None,
        description: str | None, remediation: str | None, owner: str | None,
        cvss: str | None, cwe: str | None) -> Recorded:
    """Record a finding by hand, with the deployment's deadline."""
    with write_session(ctx.settings) as session:
        finding = add_manual(session, unit_code=unit_code, title=title, severity=severity,
                             actor=ctx.actor, address=address, protocol=protocol, port=port,
                             description=description, remediation=remediation, owner=owner,
                             cvss=cvss, cwe=cwe, now=ctx.now(), policy=ctx.policies.sla)
        return _recorded(finding, ())


def assign(ctx: ActionContext, *, finding_id: int, owner: str, note: str | None) -> Recorded:
    with write_session(ctx.settings) as session:
        reopened = _sweep(session, ctx, [finding_id])
        finding = lifecycle.assign(session, finding_id=finding_id, owner=owner,
                                   actor=ctx.actor, note=note, now=ctx.now(),
                                   policy=ctx.policies.sla)
        return _recorded(finding, reopened)


def add_note(ctx: ActionContext, *, finding_id: int, text: str) -> Recorded:
    with write_session(ctx.settings) as session:
        reopened = _sweep(session, ctx, [finding_id])
        finding = lifecycle.add_note(session, finding_id=finding_id, text=text,
                                     actor=ctx.actor, now=ctx.now(), policy=ctx.policies.sla)
        return _recorded(finding, reopened)


def set_status(ctx: ActionContext, *, finding_id: int, status: FindingStatus,
               reason: str | None, until: date | None, approver: str | None) -> Recorded:
    """Move a finding through its lifecycle; ``TransitionRefused`` says why not."""
    with write_session(ctx.settings) as session:
        reopened = _sweep(session, ctx, [finding_id])
        finding = lifecycle.set_status(
            session, finding_id=finding_id, status=status, actor=ctx.actor, reason=reason,
            until=until, approver=approver, now=ctx.now(), policy=ctx.policies.sla,
            max_acceptance_days=ctx.policies.max_acceptance_days)
        return _recorded(finding, reopened)


def export(ctx: ActionContext, *, fmt: str, path: Path, filters: FindingFilter
           ) -> tuple[ExportResult, tuple[int, ...]]:
    """Write the matching findings, their manifest (naming the database without its
    password) and the export's audit event."""
    with write_session(ctx.settings) as session:
        reopened = _sweep(session, ctx)
        result = export_findings(session, fmt=fmt, path=path, filters=filters,
                                 actor=ctx.actor, database=ctx.database, now=ctx.now())
        return result, reopened


def list_page(ctx: ActionContext, filters: FindingFilter, *, limit: int,
              after_id: int | None, offset: int = 0, order: str = "id",
              descending: bool = False) -> Page:
    """A page of the findings matching ``filters`` (after the expiry sweep)."""
    reopened = sweep(ctx)
    with read_session(ctx.settings) as session:
        now = ctx.now()
        rows = list_findings(session, filters, now=now, limit=limit, after_id=after_id,
                             offset=offset, order=order, descending=descending)
        total = count_findings(session, filters, now=now) if len(rows) == limit else None
    return Page(rows, total, reopened)


def detail(ctx: ActionContext, finding_id: int) -> tuple[FindingDetail, tuple[int, ...]]:
    reopened = sweep(ctx)
    with read_session(ctx.settings) as session:
        return finding_detail(session, finding_id, now=ctx.now()), reopened


def summary(ctx: ActionContext, unit: str | None) -> tuple[Summary, tuple[int, ...]]:
    reopened = sweep(ctx)
    with read_session(ctx.settings) as session:
        return summarise(session, FindingFilter(unit=unit), now=ctx.now()), reopened


# ------------------------------------------------------------------ reads for screens
# (no expiry sweep: a screen sweeps once per reload, with ``sweep``)


def rows(ctx: ActionContext, filters: FindingFilter, *, limit: int | None, offset: int,
         order: str, descending: bool) -> list[FindingRow]:
    """Findings matching ``filters``, sorted by ``order`` (``listing.SORTS``) from
    ``offset``; every one after ``offset`` when ``limit`` is None."""
    with read_session(ctx.settings) as session:
        return list_findings(session, filters, now=ctx.now(), limit=limit, offset=offset,
                             order=order, descending=descending)


def count(ctx: ActionContext, filters: FindingFilter) -> int:
    with read_session(ctx.settings) as session:
        return count_findings(session, filters, now=ctx.now())


def read_detail(ctx: ActionContext, finding_id: int) -> FindingDetail:
    with read_session(ctx.settings) as session:
        return finding_detail(session, finding_id, now=ctx.now())
