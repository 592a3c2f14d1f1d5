"""What the expert pool's actions (``expert_pool.service``) return and raise: plain data.

Standard library only (and the kernel's errors): a front-end imports these without
loading the ORM. Contact details in these records are already masked unless the action
was an authorised, audited view. Errors carry data and neutral text; the CLI phrases
them with its flags, the TUI for its screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from garrison.errors import GarrisonError, NotFoundError
from garrison.i18n import _
from garrison.vocab import AssignmentRole

# ------------------------------------------------------------------ experts


@dataclass(frozen=True)
class Period:
    """An unavailability period (leave, travel)."""

    id: int
    expert_id: int
    starts: datetime
    ends: datetime
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "starts": self.starts.isoformat(),
                "ends": self.ends.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class ExpertView:
    """One expert as every output shows them (contacts masked unless ``contacts_masked``
    is False: an authorised view, audited)."""

    id: int
    key: str | None
    """The identity key; ``None`` when it is an e-mail address and contacts are masked."""
    name: str
    organisation: str
    home_unit: str | None
    city: str | None
    skills: dict[str, int]
    certifications: list[dict[str, Any]]
    clearance: str | None
    languages: list[str]
    phone: str | None
    email: str | None
    contacts_masked: bool
    active: bool
    load: int
    """Open assignments."""
    away: Period | None
    """The unavailability covering the time asked (or now), if any."""
    notes: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "key": self.key, "name": self.name,
            "organisation": self.organisation, "home_unit": self.home_unit,
            "city": self.city, "skills": dict(self.skills),
            "certifications": [dict(c) for c in self.certifications],
            "clearance": self.clearance, "languages": list(self.languages),
            "phone": self.phone, "email": self.email,
            "contacts_masked": self.contacts_masked, "active": self.active,
            "load": self.load,
            "away": ({"starts": self.away.starts.isoformat(),
                      "ends": self.away.ends.isoformat(), "reason": self.away.reason}
                     if self.away else None),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class AssignmentView:
    id: int
    expert_id: int
    expert_name: str
    role: AssignmentRole
    finding_id: int | None
    drill_run_id: int | None
    open: bool
    created_at: datetime
    override_reason: str | None
    """Why a conflict or an absence was overridden (audited), if one was."""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "role": self.role.value, "finding": self.finding_id,
                "drill_run": self.drill_run_id, "open": self.open,
                "created_at": self.created_at.isoformat(),
                "override_reason": self.override_reason}


@dataclass(frozen=True)
class ExpertDetail:
    expert: ExpertView
    unavailability: list[Period]
    assignments: list[AssignmentView]
    """Newest first."""

    def as_json(self) -> dict[str, Any]:
        return {**self.expert.as_json(),
                "unavailability": [p.as_json() for p in self.unavailability],
                "assignments": [a.as_json() for a in self.assignments]}


@dataclass(frozen=True)
class ExpertRef:
    """An expert an action added, retired or changed."""

    id: int
    name: str


@dataclass(frozen=True)
class Edited:
    id: int
    name: str
    changed: tuple[str, ...]
    """The columns that changed (empty: nothing to change)."""


@dataclass(frozen=True)
class Suggestions:
    """What the TUI's inputs complete: unit codes and the experts' cities."""

    units: list[str]
    cities: list[str]


# ------------------------------------------------------------------ on call


@dataclass(frozen=True)
class PlanInfo:
    """A saved on-call plan."""

    id: int
    starts: datetime
    ends: datetime
    per_shift: int
    request: dict[str, Any]
    """What it was planned with: from, to, pattern, timezone, require, seed, rest_hours."""
    spread: dict[str, Any]
    """spread, min, max, unavailable, shifts (expert id -> shifts)."""
    actor: str
    created_at: datetime

    @property
    def required(self) -> list[str]:
        return [str(s) for s in self.request.get("require", [])]


@dataclass(frozen=True)
class PlanSaved:
    plan: PlanInfo
    shifts: int
    replaced: list[int]
    """Plans the new one replaced (their shifts are deleted)."""


@dataclass(frozen=True)
class OnCallPerson:
    id: int
    name: str
    organisation: str
    phone: str | None
    email: str | None
    mark: dict[str, Any] | None
    """Why they cannot take the shift after all: kind, text (and leave), else ``None``."""


@dataclass(frozen=True)
class OnCallView:
    """Who is on call at ``at``: the shift covering it and its people."""

    at: datetime
    plan_id: int
    starts: datetime
    ends: datetime
    people: list[OnCallPerson]

    @property
    def marked(self) -> int:
        """How many on the shift cannot take it any more."""
        return sum(p.mark is not None for p in self.people)


@dataclass(frozen=True)
class ConflictView:
    """One conflict of a saved plan with the roster as it is now."""

    kind: str
    """leave, retired, skill or rest."""
    starts: datetime
    ends: datetime
    span: str
    """The shift in local time: ``2026-12-03 20:00-08:00``."""
    expert_id: int | None
    expert_name: str | None
    text: str
    """What is wrong, in words."""
    json: dict[str, Any]


@dataclass(frozen=True)
class CheckReport:
    plan: PlanInfo
    since: datetime
    """Shifts ending after this were checked."""
    timezone: str
    conflicts: list[ConflictView]

    def as_json(self) -> dict[str, Any]:
        return {"plan": self.plan.id, "since": self.since.isoformat(),
                "conflicts": [c.json for c in self.conflicts]}


@dataclass(frozen=True)
class ReplacementView:
    starts: datetime
    ends: datetime
    span: str
    """The shift in local time: ``2026-12-03 20:00-08:00``."""
    out: ExpertRef
    into: ExpertRef
    reason: str
    """The conflict kind that freed the place."""
    why: str
    """The same, in words."""


@dataclass(frozen=True)
class RepairReport:
    plan_id: int
    timezone: str
    conflicts: int
    """Conflicts found before the repair (0: nothing to repair)."""
    replacements: list[ReplacementView]
    dry_run: bool


@dataclass(frozen=True)
class ShiftView:
    starts: datetime
    ends: datetime
    crew: list[ExpertRef] = field(default_factory=list)


@dataclass(frozen=True)
class PlanDetail:
    plan: PlanInfo
    shifts: list[ShiftView]


# ------------------------------------------------------------------ errors


class ConflictOfInterest(GarrisonError):
    """An assignment refused for a conflict of interest or an absence; it may be
    overridden with a reason (stored on the assignment and audited)."""

    def __init__(self, *, expert_id: int, expert: str, role: AssignmentRole, target: str,
                 unit: str, reasons: tuple[str, ...]) -> None:
        self.expert_id, self.expert, self.role = expert_id, expert, role
        self.target, self.unit, self.reasons = target, unit, reasons
        super().__init__(
            _("refused: {name} cannot be {role} on {t}: {why}").format(
                name=expert, role=role.value, t=target, why="; ".join(reasons)),
            hint=_("A match for unit {u} finds unconflicted experts; to assign anyway, give "
                   "the reason for the override (it is recorded and audited).").format(u=unit))


class ExpertRetired(GarrisonError):
    """The expert is retired: not assignable, or already retired."""

    def __init__(self, *, expert_id: int, expert: str, already: bool) -> None:
        self.expert_id, self.expert, self.already = expert_id, expert, already
        super().__init__(
            (_("expert #{id} {name} is already retired") if already
             else _("expert #{id} {name} is retired")).format(id=expert_id, name=expert),
            hint=_("Make the expert active again first.") if not already else None)


class PlanOverlaps(GarrisonError):
    """A new on-call plan would overlap a saved one, which was not to be replaced."""

    def __init__(self, *, plan_id: int, starts: str, ends: str) -> None:
        self.plan_id, self.starts, self.ends = plan_id, starts, ends
        super().__init__(
            _("on-call plan #{id} already covers {s} to {e}").format(id=plan_id, s=starts,
                                                                     e=ends),
            hint=_("Replace it (its shifts are deleted), or plan another period."))


class NoPlan(NotFoundError):
    """No on-call plan with that id (``plan_id``), or none at all (``plan_id`` None)."""

    def __init__(self, plan_id: int | None) -> None:
        self.plan_id = plan_id
        if plan_id is None:
            super().__init__(_("no on-call plan yet"), hint=_("Plan a rotation first."))
        else:
            super().__init__(_("no on-call plan #{id}").format(id=plan_id),
                             hint=_("The saved plans are listed with their ids."))


class ContactsRefused(GarrisonError):
    """The actor may not see experts' contact details unmasked."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        super().__init__(
            _("{a} may not see experts' contact details").format(a=actor),
            hint=_("Contacts stay masked. The deployment names who may see them in "
                   "GARRISON_CONTACT_VIEWERS (a JSON list of actors)."))


class CannotWrite(GarrisonError):
    """An export's file could not be written; nothing was recorded."""

    def __init__(self, path: str, reason: str | None) -> None:
        self.path, self.reason = path, reason
        super().__init__(_("cannot write {path}: {reason}").format(path=path, reason=reason),
                         hint=_("Choose a writable file in an existing directory."))
