"""Import the org tree: a plan (what would change) and its application (audited)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from garrison import audit
from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.models import Scope, Unit
from garrison.org.loader import OrgDocument, PlacedUnit
from garrison.org.queries import UnitNode, suggest
from garrison.org.schema import ScopeSpec, UnitSpec
from garrison.yamldoc import sort_problems

if TYPE_CHECKING:
    from garrison.actions import ActionContext

_UNIT_FIELDS = ("name", "level", "officer_name", "officer_phone", "officer_email", "parent")
_SCOPE_FIELDS = ("authorized_by", "valid_from", "valid_until", "max_rate", "note")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class ImportPlan:
    """What an import changes. Empty lists everywhere mean a no-op re-import."""

    file: str
    sha256: str
    created: list[str] = field(default_factory=list)
    updated: dict[str, list[FieldChange]] = field(default_factory=dict)
    scopes_added: list[tuple[str, str]] = field(default_factory=list)
    scopes_removed: list[tuple[str, str]] = field(default_factory=list)
    scopes_changed: dict[tuple[str, str], list[FieldChange]] = field(default_factory=dict)
    unchanged: int = 0
    not_in_file: int = 0
    _units: list[PlacedUnit] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> bool:
        return bool(
            self.created or self.updated or self.scopes_added or self.scopes_removed
            or self.scopes_changed
        )

    def as_json(self) -> dict[str, Any]:
        def changes(items: list[FieldChange]) -> dict[str, list[Any]]:
            return {c.field: [_plain(c.old), _plain(c.new)] for c in items}

        return {
            "file": self.file,
            "sha256": self.sha256,
            "created": self.created,
            "updated": {code: changes(ch) for code, ch in self.updated.items()},
            "scopes_added": [list(k) for k in self.scopes_added],
            "scopes_removed": [list(k) for k in self.scopes_removed],
            "scopes_changed": [
                {"unit": k[0], "cidr": k[1], "changes": changes(ch)}
                for k, ch in self.scopes_changed.items()
            ],
            "unchanged": self.unchanged,
            "not_in_file": self.not_in_file,
        }


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def _unit_values(spec: UnitSpec, parent: str | None) -> dict[str, Any]:
    return {
        "name": spec.name,
        "level": spec.level,
        "officer_name": spec.officer.name,
        "officer_phone": spec.officer.phone,
        "officer_email": spec.officer.email,
        "parent": parent,
    }


def _scope_values(spec: ScopeSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in _SCOPE_FIELDS}


def _diff(old: dict[str, Any], new: dict[str, Any], names: tuple[str, ...]) -> list[FieldChange]:
    return [FieldChange(n, old[n], new[n]) for n in names if old[n] != new[n]]


def plan_import(session: Session, doc: OrgDocument) -> ImportPlan:
    """Compare the file with the database; raise ``DocumentError`` if it cannot apply."""
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    by_id = {u.id: u.code for u in units.values()}
    scopes: dict[int, dict[str, Scope]] = {}
    for scope in session.exec(select(Scope)).all():
        scopes.setdefault(scope.unit_id, {})[scope.cidr] = scope
    _check_parents(doc, units, by_id)

    plan = ImportPlan(file=str(doc.path), sha256=doc.sha256, _units=list(doc.units))
    in_file = {p.spec.code for p in doc.units}
    plan.not_in_file = len(set(units) - in_file)
    for placed in doc.units:
        spec, existing = placed.spec, units.get(placed.spec.code)
        new = _unit_values(spec, placed.parent)
        if existing is None:
            plan.created.append(spec.code)
            plan.scopes_added.extend((spec.code, s.cidr) for s in spec.scopes)
            continue
        old = _unit_values_of(existing, by_id)
        unit_changes = _diff(old, new, _UNIT_FIELDS)
        if unit_changes:
            plan.updated[spec.code] = unit_changes
        scope_changed = _plan_scopes(plan, spec, scopes.get(existing.id or -1, {}))
        if not unit_changes and not scope_changed:
            plan.unchanged += 1
    return plan


def _unit_values_of(unit: Unit, by_id: dict[int | None, str]) -> dict[str, Any]:
    return {
        "name": unit.name,
        "level": unit.level,
        "officer_name": unit.officer_name,
        "officer_phone": unit.officer_phone,
        "officer_email": unit.officer_email,
        "parent": by_id.get(unit.parent_id) if unit.parent_id is not None else None,
    }


def _plan_scopes(plan: ImportPlan, spec: UnitSpec, current: dict[str, Scope]) -> bool:
    changed = False
    wanted = {s.cidr: s for s in spec.scopes}
    for cidr, scope_spec in wanted.items():
        have = current.get(cidr)
        if have is None:
            plan.scopes_added.append((spec.code, cidr))
            changed = True
            continue
        old = {n: getattr(have, n) for n in _SCOPE_FIELDS}
        diffs = _diff(old, _scope_values(scope_spec), _SCOPE_FIELDS)
        if diffs:
            plan.scopes_changed[(spec.code, cidr)] = diffs
            changed = True
    for cidr in sorted(set(current) - set(wanted)):
        plan.scopes_removed.append((spec.code, cidr))
        changed = True
    return changed


def _check_parents(doc: OrgDocument, units: dict[str, Unit], by_id: dict[int | None, str]) -> None:
    problems: list[Problem] = []
    parent_of: dict[str, str | None] = {
        code: (by_id.get(u.parent_id) if u.parent_id is not None else None)
        for code, u in units.items()
    }
    in_file = {p.spec.code for p in doc.units}
    for placed in doc.units:
        if placed.parent is not None and placed.parent not in in_file | set(units):
            problems.append(doc.yaml.problem((*placed.loc, "parent"), _(
                "parent {p!r} is neither in this file nor in the database{hint}").format(
                    p=placed.parent, hint=suggest(placed.parent, in_file | set(units)))))
        parent_of[placed.spec.code] = placed.parent
    for placed in doc.units:
        seen, code = {placed.spec.code}, parent_of.get(placed.spec.code)
        while code is not None:
            if code in seen:
                problems.append(doc.yaml.problem((*placed.loc, "parent"), _(
                    "placing {u!r} under {p!r} makes a cycle in the tree").format(
                        u=placed.spec.code, p=placed.parent)))
                break
            seen.add(code)
            code = parent_of.get(code)
    if problems:
        raise DocumentError(sort_problems(problems))


def apply_import(session: Session, plan: ImportPlan, *, actor: str, now: datetime) -> None:
    """Write the plan in the caller's transaction, with an audit event per change."""
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    for placed in _parents_first(plan._units):
        code = placed.spec.code
        parent_id = units[placed.parent].id if placed.parent else None
        if code not in units:
            units[code] = _create_unit(session, placed, parent_id, actor, now)
        elif code in plan.updated:
            _update_unit(session, units[code], placed, parent_id, plan.updated[code], actor,
                         now)
        _apply_scopes(session, plan, units[code], placed.spec, actor, now)
    audit.record(session, actor=actor, action="org.imported", subject=f"file:{plan.file}",
                 payload={"sha256": plan.sha256, "created": len(plan.created),
                          "updated": len(plan.updated), "scopes_added": len(plan.scopes_added),
                          "scopes_removed": len(plan.scopes_removed),
                          "scopes_changed": len(plan.scopes_changed)}, at=now)


def _create_unit(session: Session, placed: PlacedUnit, parent_id: int | None,
                 actor: str, now: datetime) -> Unit:
    spec = placed.spec
    unit = Unit(code=spec.code, name=spec.name, level=spec.level,
                officer_name=spec.officer.name, officer_phone=spec.officer.phone,
                officer_email=spec.officer.email, parent_id=parent_id, created_at=now,
                updated_at=now)
    session.add(unit)
    session.flush()
    values = _unit_values(spec, placed.parent)
    audit.record(session, actor=actor, action="org.unit.created", subject=f"unit:{spec.code}",
                 payload={k: _plain(v) for k, v in values.items()}, at=now)
    return unit


def _update_unit(session: Session, unit: Unit, placed: PlacedUnit, parent_id: int | None,
                 changes: list[FieldChange], actor: str, now: datetime) -> None:
    for name, value in _unit_values(placed.spec, placed.parent).items():
        if name != "parent":
            setattr(unit, name, value)
    unit.parent_id, unit.updated_at = parent_id, now
    session.add(unit)
    audit.record(session, actor=actor, action="org.unit.updated",
                 subject=f"unit:{placed.spec.code}",
                 payload={c.field: [_plain(c.old), _plain(c.new)] for c in changes}, at=now)


def _parents_first(placed: list[PlacedUnit]) -> list[PlacedUnit]:
    """File units ordered so each comes after its parent (cycles were refused earlier)."""
    pending = {p.spec.code: p for p in placed}
    out: list[PlacedUnit] = []
    while pending:
        ready = [p for p in pending.values() if p.parent is None or p.parent not in pending]
        for p in ready:
            out.append(p)
            del pending[p.spec.code]
    return out


def _apply_scopes(session: Session, plan: ImportPlan, unit: Unit, spec: UnitSpec,
                  actor: str, now: datetime) -> None:
    assert unit.id is not None
    current = {s.cidr: s for s in session.exec(select(Scope).where(Scope.unit_id == unit.id))}
    for scope_spec in spec.scopes:
        key = (spec.code, scope_spec.cidr)
        values = _scope_values(scope_spec)
        if key in plan.scopes_added:
            session.add(Scope(unit_id=unit.id, cidr=scope_spec.cidr, created_at=now, **values))
            audit.record(session, actor=actor, action="scope.added",
                         subject=f"scope:{spec.code}:{scope_spec.cidr}",
                         payload={k: _plain(v) for k, v in values.items()}, at=now)
        elif key in plan.scopes_changed:
            scope = current[scope_spec.cidr]
            for name, value in values.items():
                setattr(scope, name, value)
            session.add(scope)
            audit.record(session, actor=actor, action="scope.changed",
                         subject=f"scope:{spec.code}:{scope_spec.cidr}",
                         payload={c.field: [_plain(c.old), _plain(c.new)]
                                  for c in plan.scopes_changed[key]}, at=now)
    for code, cidr in plan.scopes_removed:
        if code == spec.code:
            scope = current[cidr]
            audit.record(session, actor=actor, action="scope.removed",
                         subject=f"scope:{code}:{cidr}",
                         payload={n: _plain(getattr(scope, n)) for n in _SCOPE_FIELDS}, at=now)
            session.delete(scope)
    session.flush()


def import_org(session: Session, doc: OrgDocument, *, actor: str, now: datetime,
               dry_run: bool = False) -> ImportPlan:
    """Plan and (unless ``dry_run``) apply an org file, in the caller's transaction."""
    plan = plan_import(session, doc)
    if not dry_run and plan.changed:
        apply_import(session, plan, actor=actor, now=now)
    return plan


# ------------------------------------------------------------------ user actions


def import_file(ctx: ActionContext, doc: OrgDocument, *, dry_run: bool) -> ImportPlan:
    """``org import``: plan the file against the database and, unless ``dry_run``, apply
    it, with its audit events, in one transaction (a dry run writes nothing)."""
    from garrison.db import write_session

    with write_session(ctx.settings) as session:
        plan = import_org(session, doc, actor=ctx.actor, now=ctx.now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    return plan


def tree(ctx: ActionContext, *, root: str | None) -> list[UnitNode]:
    """``org list``: the unit forest, or the sub-tree under ``root``."""
    from garrison.db import read_session
    from garrison.org.queries import org_tree

    with read_session(ctx.settings) as session:
        return org_tree(session, root=root)


def unit_codes(ctx: ActionContext) -> list[str]:
    """Every unit's code, sorted (for filters that suggest codes as one types)."""
    from garrison.db import read_session

    with read_session(ctx.settings) as session:
        return list(session.exec(select(Unit.code).order_by(Unit.code)))
