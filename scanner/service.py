"""The scanner's user actions and the reads its front-ends need, each taking an
``ActionContext``: the asset search (``garrison assets list`` and the TUI's assets screen),
the unit tree with asset counts, one asset in detail. Each read is one session; the
front-ends run no SQL of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from garrison.dashboard import change_text
from garrison.db import read_session
from garrison.org.queries import UnitNode
from garrison.vocab import OPEN_STATES, FindingStatus
from scanner.listing import AssetLine, AssetQuery
from scanner.paging import Page

if TYPE_CHECKING:
    from sqlmodel import Session

    from garrison.actions import ActionContext

RECENT_CHANGES = 10


def search(ctx: ActionContext, q: AssetQuery, *, limit: int) -> Page[AssetLine]:
    """The first ``limit`` assets matching ``q``, with the count of all."""
    from scanner.queries import search_assets

    with read_session(ctx.settings) as session:
        return search_assets(session, q, limit=limit)


def unit_tree(ctx: ActionContext) -> UnitTree:
    """The org tree with each unit's assets (its own and its sub-units')."""
    with read_session(ctx.settings) as session:
        return _unit_tree(session)


def asset_view(ctx: ActionContext, asset_id: int, address: str, unit: str
               ) -> AssetView | None:
    """The asset for the detail pane (None when it is gone since the list was read)."""
    with read_session(ctx.settings) as session:
        return _asset_view(session, asset_id, address, unit)


@dataclass
class UnitTree:
    roots: list[UnitNode]
    assets: dict[str, int]
    """Assets in the unit and every unit below it, by unit code."""

    @property
    def total(self) -> int:
        return sum(self.assets.get(r.unit.code, 0) for r in self.roots)


def _unit_tree(session: Session) -> UnitTree:
    import sqlalchemy as sa
    from sqlmodel import col

    from garrison.models import Asset
    from garrison.org.queries import org_tree

    roots = org_tree(session)
    own: dict[int, int] = {int(uid): int(n) for uid, n in session.execute(
        sa.select(col(Asset.unit_id), sa.func.count()).group_by(col(Asset.unit_id))).all()}
    totals: dict[str, int] = {}

    def total(node: UnitNode) -> int:
        n = own.get(node.unit.id or 0, 0) + sum(total(child) for child in node.children)
        totals[node.unit.code] = n
        return n

    for root in roots:
        total(root)
    return UnitTree(roots, totals)


@dataclass
class AssetView:
    """The highlighted asset, read for the detail pane."""

    id: int
    address: str
    unit: str
    hostname: str | None
    state: str
    os_guess: str | None
    first_seen: datetime
    last_seen: datetime
    services: list[tuple[str, str, str]] = field(default_factory=list)
    """(port/protocol, name, product and version) of each open service."""
    findings: list[tuple[int, str, str, str]] = field(default_factory=list)
    """(id, severity, status, title), open ones first."""
    changes: list[tuple[datetime, str]] = field(default_factory=list)
    """(when, what), latest first."""


def _asset_view(session: Session, asset_id: int, address: str, unit: str
                ) -> AssetView | None:
    from scanner.queries import asset_details

    for d in asset_details(session, address, unit_code=unit):
        if d.asset.id != asset_id:
            continue
        a = d.asset
        closed = {s.value for s in FindingStatus if s not in OPEN_STATES}
        return AssetView(
            asset_id, a.address, d.unit, a.hostname, a.state.value, a.os_guess,
            a.first_seen, a.last_seen,
            [(f"{s.port}/{s.protocol}", s.name or "?",
              " ".join(x for x in (s.product, s.version) if x))
             for s in d.services if s.state == "open"],
            [(f.id or 0, f.severity.value, f.status.value, f.title)
             for f in sorted(d.findings, key=lambda f: (f.status.value in closed, f.id))],
            [(c.at, change_text(c.kind.value, c.protocol, c.port, c.before, c.after))
             for c in d.changes[:RECENT_CHANGES]])
    return None
