"""The finding lifecycle: who may move a finding where, and what each move records.

    open -> in_progress -> fixed -> verified          (closed)
    open | in_progress -> accepted_risk               (reason, approver, expiry)
    open | in_progress -> false_positive              (reason)
    fixed | verified | accepted_risk | false_positive -> open   (reopen)
    in_progress -> open                               (work stopped)

Every change writes a FindingEvent and an audit event in the caller's transaction.
Reopening restarts the deadline clock. A risk acceptance whose expiry has passed
reopens by itself the next time a command or a scan touches the finding
(``reopen_expired``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from garrison import audit
from garrison.errors import GarrisonError
from garrison.findings.sla import SlaPolicy, due_at
from garrison.i18n import _
from garrison.lookup import get_or_not_found
from garrison.models import (
    Asset,
    EventKind,
    Finding,
    FindingEvent,
    FindingStatus,
)
from garrison.vocab import OPEN_STATES, STATUS_MOVES

S = FindingStatus
ALLOWED = STATUS_MOVES

#: What a move may require, by field (front-ends phrase them: a CLI flag, a TUI field).
REASON, UNTIL, APPROVER = "reason", "until", "approver"


class TransitionRefused(GarrisonError):
    """A status change the lifecycle does not allow, or one missing what it requires.

    Carries data for the front-ends: ``allowed`` (the moves open from the current
    status, when the move itself is refused), ``missing`` and ``extra`` (fields, among
    ``reason``, ``until``, ``approver``, that the move needs or does not take). The text
    names no command-line flag."""

    def __init__(self, message: str, *, hint: str | None = None,
                 allowed: tuple[FindingStatus, ...] = (), missing: tuple[str, ...] = (),
                 extra: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint=hint)
        self.allowed, self.missing, self.extra = allowed, missing, extra


def field_names() -> dict[str, str]:
    """The fields a move may need, as the text of a message says them."""
    return {REASON: _("a reason"), UNTIL: _("an expiry date"), APPROVER: _("an approver")}


def get_finding(session: Session, finding_id: int) -> Finding:
    return get_or_not_found(session, Finding, finding_id, what=_("finding"), kind="finding")


def _event(session: Session, finding: Finding, kind: EventKind, actor: str, now: datetime,
           note: str | None, old: FindingStatus | None = None) -> None:
    assert finding.id is not None
    session.add(FindingEvent(finding_id=finding.id, kind=kind, at=now, actor=actor,
                             from_status=old if old is not None else finding.status,
                             to_status=finding.status, note=note))


def _audit(session: Session, finding: Finding, action: str, actor: str, now: datetime,
           payload: dict[str, Any]) -> None:
    audit.record(session, actor=actor, action=action, subject=f"finding:{finding.id}",
                 payload={"fingerprint": finding.fingerprint, **payload}, at=now)


def _protection_level(session: Session, finding: Finding) -> int | None:
    if finding.asset_id is None:
        return None
    asset = session.get(Asset, finding.asset_id)
    return asset.protection_level if asset is not None else None


def set_status(session: Session, *, finding_id: int, status: FindingStatus, actor: str,
               reason: str | None = None, until: date | None = None,
               approver: str | None = None, now: datetime,
               policy: SlaPolicy, max_acceptance_days: int) -> Finding:
    """Move a finding to ``status``; refuse what the lifecycle does not allow."""
    reopen_expired(session, actor=actor, now=now, finding_ids=[finding_id], policy=policy)
    finding = get_finding(session, finding_id)
    old = finding.status
    if status not in ALLOWED[old]:
        allowed = ", ".join(s.value for s in ALLOWED[old])
        raise TransitionRefused(
            _("finding {id} is {old}; it cannot move to {new}").format(
                id=finding_id, old=old.value, new=status.value),
            hint=_("From {old} it can move to: {allowed}.").format(old=old.value,
                                                                  allowed=allowed),
            allowed=ALLOWED[old])
    note = _check_requirements(status, reason, until, approver, now, max_acceptance_days)
    finding.status, finding.status_changed_at = status, now
    if status is S.accepted_risk:
        finding.accepted_until, finding.accepted_by = until, approver
    elif old is S.accepted_risk:
        finding.accepted_until = finding.accepted_by = None
    if status is S.open and old not in OPEN_STATES:  # reopened: the clock restarts
        finding.due_at = due_at(finding.severity, now, _protection_level(session, finding),
                                policy)
    session.add(finding)
    _event(session, finding, EventKind.status, actor, now, note, old)
    _audit(session, finding, "finding.status", actor, now,
           {"from": old.value, "to": status.value, "reason": reason,
            "until": until.isoformat() if until else None, "approver": approver})
    session.flush()
    return finding


def _check_requirements(status: FindingStatus, reason: str | None, until: date | None,
                        approver: str | None, now: datetime, max_days: int) -> str | None:
    reason = (reason or "").strip() or None
    names = field_names()
    if status is S.accepted_risk:
        missing = tuple(name for name, value in ((REASON, reason), (UNTIL, until),
                                                 (APPROVER, (approver or "").strip()))
                        if not value)
        if missing:
            raise TransitionRefused(
                _("accepting a risk needs a reason, an approver and an expiry date; "
                  "missing: {m}").format(m=", ".join(names[m] for m in missing)),
                missing=missing)
        assert until is not None
        today = now.date()
        if until <= today:
            raise TransitionRefused(_("the acceptance must end after today ({d})").format(
                d=today))
        if until > today + timedelta(days=max_days):
            raise TransitionRefused(
                _("an acceptance may run at most {n} days (until {d}); renew it later "
                  "instead").format(n=max_days, d=today + timedelta(days=max_days)))
        return _("accepted until {until}, approved by {who}: {why}").format(
            until=until, who=approver, why=reason)
    if status is S.false_positive and not reason:
        raise TransitionRefused(_("marking a false positive needs a reason"),
                                missing=(REASON,))
    extra = tuple(name for name, value in ((UNTIL, until), (APPROVER, approver))
                  if value is not None)
    if extra:
        raise TransitionRefused(_("an expiry date and an approver apply only to "
                                  "accepted_risk"), extra=extra)
    return reason


def reopen_expired(session: Session, *, actor: str, now: datetime,
                   finding_ids: list[int] | None = None,
                   policy: SlaPolicy) -> list[int]:
    """Reopen risk acceptances whose expiry has passed (all, or those given)."""
    query = select(Finding).where(col(Finding.status) == S.accepted_risk,
                                  col(Finding.accepted_until) < now.date())
    if finding_ids is not None:
        query = query.where(col(Finding.id).in_(finding_ids))
    reopened = []
    for finding in session.exec(query).all():
        until = finding.accepted_until
        finding.status, finding.status_changed_at = S.open, now
        finding.accepted_until = finding.accepted_by = None
        finding.due_at = due_at(finding.severity, now, _protection_level(session, finding),
                                policy)
        session.add(finding)
        note = _("risk acceptance expired on {d}").format(d=until)
        _event(session, finding, EventKind.status, "garrison", now, note, S.accepted_risk)
        _audit(session, finding, "finding.acceptance_expired", actor, now,
               {"until": until.isoformat() if until else None})
        assert finding.id is not None
        reopened.append(finding.id)
    session.flush()
    return reopened


def assign(session: Session, *, finding_id: int, owner: str, actor: str,
           note: str | None = None, now: datetime,
           policy: SlaPolicy) -> Finding:
    owner = owner.strip()
    if not owner:
        raise GarrisonError(_("the new owner's name must not be empty"))
    reopen_expired(session, actor=actor, now=now, finding_ids=[finding_id], policy=policy)
    finding = get_finding(session, finding_id)
    old = finding.owner
    if old == owner:
        raise GarrisonError(_("finding {id} is already owned by {o}").format(
            id=finding_id, o=owner))
    finding.owner = owner
    session.add(finding)
    text = _("owner {old} -> {new}").format(old=old, new=owner) + (f": {note}" if note else "")
    _event(session, finding, EventKind.assign, actor, now, text)
    _audit(session, finding, "finding.assigned", actor, now,
           {"from": old, "to": owner, "note": note})
    session.flush()
    return finding


def add_note(session: Session, *, finding_id: int, text: str, actor: str,
             now: datetime, policy: SlaPolicy) -> Finding:
    text = text.strip()
    if not text:
        raise GarrisonError(_("the note is empty"))
    reopen_expired(session, actor=actor, now=now, finding_ids=[finding_id], policy=policy)
    finding = get_finding(session, finding_id)
    _event(session, finding, EventKind.note, actor, now, text)
    _audit(session, finding, "finding.note", actor, now, {"note": text})
    session.flush()
    return finding
