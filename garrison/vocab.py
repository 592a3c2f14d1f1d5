"""The findings vocabulary: severities, statuses, sources.

Plain ``StrEnum``s with no database imports, so the quick read path of the CLI
(``garrison findings list``) can use them without loading the ORM.
"""

from __future__ import annotations

import enum


class Severity(enum.StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


class FindingStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    fixed = "fixed"
    verified = "verified"
    accepted_risk = "accepted_risk"
    false_positive = "false_positive"


class FindingSource(enum.StrEnum):
    scan = "scan"
    drill = "drill"
    import_ = "import"
    manual = "manual"


SEVERITY_ORDER = (Severity.critical, Severity.high, Severity.medium, Severity.low,
                  Severity.info)
OPEN_STATES = (FindingStatus.open, FindingStatus.in_progress)
"""Statuses in which a finding is still being worked on (and can be overdue)."""
CLOSED_STATES = (FindingStatus.fixed, FindingStatus.verified)
"""Statuses of a finding that was fixed."""

_S = FindingStatus
STATUS_MOVES: dict[FindingStatus, tuple[FindingStatus, ...]] = {
    _S.open: (_S.in_progress, _S.fixed, _S.accepted_risk, _S.false_positive),
    _S.in_progress: (_S.open, _S.fixed, _S.accepted_risk, _S.false_positive),
    _S.fixed: (_S.verified, _S.open),
    _S.verified: (_S.open,),
    _S.accepted_risk: (_S.open,),
    _S.false_positive: (_S.open,),
}
"""The finding lifecycle: the statuses each status may move to (``findings.lifecycle``)."""


class AssignmentRole(enum.StrEnum):
    """What an expert is called in as (``garrison experts assign --role``)."""

    referee = "referee"
    evaluator = "evaluator"
    responder = "responder"
