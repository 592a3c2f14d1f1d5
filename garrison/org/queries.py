"""Reading the org tree: look up units (with did-you-mean), sub-trees, the whole tree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from garrison.errors import NotFoundError
from garrison.i18n import _
from garrison.models import Scope, Unit
from garrison.org.tree import subtree
from garrison.words import did_you_mean


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    return did_you_mean(word, choices)


def get_unit(session: Session, code: str) -> Unit:
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        codes = session.exec(select(Unit.code)).all()
        raise NotFoundError(
            _("unknown unit {code!r}{hint}").format(code=code, hint=suggest(code, codes)),
            hint=_("`garrison org list` shows every unit code."),
        )
    return unit


def subtree_ids(session: Session, unit: Unit) -> list[int]:
    """The unit's id and the ids of every unit below it."""
    assert unit.id is not None
    pairs = session.exec(select(Unit.id, Unit.parent_id)).all()
    return subtree(((uid, parent) for uid, parent in pairs if uid is not None), unit.id)


@dataclass
class UnitNode:
    unit: Unit
    scopes: list[Scope] = field(default_factory=list)
    children: list[UnitNode] = field(default_factory=list)

    def walk(self, depth: int = 0) -> Iterable[tuple[int, UnitNode]]:
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


def org_tree(session: Session, *, root: str | None = None) -> list[UnitNode]:
    """The forest of units (or the sub-tree under ``root``), children sorted by code."""
    units = session.exec(select(Unit).order_by(col(Unit.code))).all()
    nodes = {u.id: UnitNode(u) for u in units}
    for scope in session.exec(select(Scope).order_by(col(Scope.cidr))).all():
        nodes[scope.unit_id].scopes.append(scope)
    roots: list[UnitNode] = []
    for node in nodes.values():
        parent = nodes.get(node.unit.parent_id) if node.unit.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    for node in nodes.values():
        node.children.sort(key=_sort_key)
    roots.sort(key=_sort_key)
    if root is not None:
        return [nodes[get_unit(session, root).id]]
    return roots


_LEVEL_ORDER = {"province": 0, "city": 1, "bureau": 2, "county": 3, "unit": 4}


def _sort_key(node: UnitNode) -> tuple[int, str]:
    return _LEVEL_ORDER.get(node.unit.level.value, 9), node.unit.code
