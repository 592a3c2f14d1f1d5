"""Rich renderings shared by commands (trees and tables)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from garrison.i18n import _
from garrison.org.queries import UnitNode


def _unit_label(node: UnitNode) -> str:
    unit = node.unit
    scopes = ", ".join(s.cidr for s in node.scopes) or _("no scope")
    return (f"[bold]{escape(unit.code)}[/bold] {escape(unit.name)} "
            f"[dim]{unit.level.value} · {escape(unit.officer_name)} · {escape(scopes)}[/dim]")


def render_tree(out: Console, roots: list[UnitNode]) -> None:
    if not roots:
        out.print(_("No units yet: load them with `garrison org import FILE.yaml` "
                    "(or `garrison demo`)."))
        return
    for root in roots:
        tree = Tree(_unit_label(root))
        _add_children(tree, root)
        out.print(tree)


def _add_children(tree: Tree, node: UnitNode) -> None:
    for child in node.children:
        _add_children(tree.add(_unit_label(child)), child)


def tree_json(node: UnitNode) -> dict[str, Any]:
    unit = node.unit
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level.value,
        "officer": {"name": unit.officer_name, "phone": unit.officer_phone,
                    "email": unit.officer_email},
        "scopes": [
            {"cidr": s.cidr, "authorized_by": s.authorized_by,
             "valid_from": s.valid_from.isoformat() if s.valid_from else None,
             "valid_until": s.valid_until.isoformat() if s.valid_until else None,
             "max_rate": s.max_rate}
            for s in node.scopes
        ],
        "units": [tree_json(child) for child in node.children],
    }
