"""Walking the unit tree (standard library only: the CLI's quick path uses it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def subtree(units: Iterable[tuple[int, int | None]], root: int) -> list[int]:
    """``root`` and every unit below it, from ``(id, parent_id)`` pairs."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for uid, parent in units:
        children[parent].append(uid)
    out, stack = [], [root]
    while stack:
        uid = stack.pop()
        out.append(uid)
        stack.extend(children.get(uid, []))
    return out
