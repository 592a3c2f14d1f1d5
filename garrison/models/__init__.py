"""The kernel's tables. Importing this package registers them on ``metadata``."""

from sqlmodel import SQLModel

from garrison.models.audit import AuditEvent
from garrison.models.drills import DrillEvent, DrillRun, DrillState
from garrison.models.experts import (
    Assignment,
    AssignmentRole,
    Expert,
    OnCallPlan,
    OnCallShift,
    Unavailability,
)
from garrison.models.findings import (
    EventKind,
    Finding,
    FindingEvent,
    FindingSource,
    FindingStatus,
    RuleRecord,
    Severity,
)
from garrison.models.inventory import (
    Asset,
    AssetState,
    Change,
    ChangeKind,
    RunKind,
    ScanRun,
    ScanStatus,
    Service,
)
from garrison.models.org import Scope, ScopeBase, Unit, UnitBase, UnitLevel

metadata = SQLModel.metadata

__all__ = [
    "Asset",
    "Assignment",
    "AssignmentRole",
    "AssetState",
    "AuditEvent",
    "Change",
    "ChangeKind",
    "DrillEvent",
    "DrillRun",
    "DrillState",
    "EventKind",
    "Expert",
    "Finding",
    "FindingEvent",
    "FindingSource",
    "FindingStatus",
    "OnCallPlan",
    "OnCallShift",
    "RuleRecord",
    "RunKind",
    "ScanRun",
    "ScanStatus",
    "Scope",
    "ScopeBase",
    "Service",
    "Severity",
    "Unavailability",
    "Unit",
    "UnitBase",
    "UnitLevel",
    "metadata",
]
