"""Read the inventory and the run history (for ``assets`` and ``scan list/show/diff``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from garrison.errors import GarrisonError, NotFoundError
from garrison.i18n import _
from garrison.models import (
    Asset,
    Change,
    Finding,
    FindingStatus,
    ScanRun,
    Service,
    Unit,
)
from garrison.org.queries import get_unit, subtree_ids

_OPEN_FINDING = (FindingStatus.open, FindingStatus.in_progress)


@dataclass
class AssetRow:
    asset: Asset
    unit: str
    open_services: int
    open_findings: int


def list_assets(session: Session, *, unit_code: str | None = None, state: str | None = None,
                limit: int | None = None) -> list[AssetRow]:
    query = select(Asset, Unit.code).join(Unit, col(Asset.unit_id) == col(Unit.id))
    if unit_code is not None:
        query = query.where(col(Asset.unit_id).in_(subtree_ids(session, get_unit(session,
                                                                                  unit_code))))
    if state is not None:
        query = query.where(col(Asset.state) == state)
    rows = session.exec(query.order_by(col(Unit.code), col(Asset.address)).limit(limit)).all()
    ids = [a.id for a, _c in rows]
    services = _count_by(session, col(Service.asset_id), ids,
                         col(Service.state) == "open")
    findings = _count_by(session, col(Finding.asset_id), ids,
                         col(Finding.status).in_(_OPEN_FINDING))
    return [AssetRow(a, code, services.get(a.id or 0, 0), findings.get(a.id or 0, 0))
            for a, code in rows]


def _count_by(session: Session, key: Any, ids: list[int | None],
              *where: sa.ColumnElement[bool]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(sa.select(key, sa.func.count()).where(key.in_(ids), *where)
                           .group_by(key)).all()
    return {k: n for k, n in rows if k is not None}


@dataclass
class AssetDetail:
    asset: Asset
    unit: str
    services: list[Service] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def asset_details(session: Session, address: str, *, unit_code: str | None = None
                  ) -> list[AssetDetail]:
    import ipaddress

    try:
        normal = ipaddress.ip_address(address).compressed
    except ValueError as exc:
        raise GarrisonError(_("{a!r} is not an IP address").format(a=address)) from exc
    query = select(Asset, Unit.code).join(Unit, col(Asset.unit_id) == col(Unit.id)).where(
        col(Asset.address) == normal)
    if unit_code is not None:
        query = query.where(col(Unit.code) == unit_code)
    out = []
    for asset, code in session.exec(query).all():
        out.append(AssetDetail(
            asset, code,
            list(session.exec(select(Service).where(Service.asset_id == asset.id)
                              .order_by(col(Service.protocol), col(Service.port))).all()),
            list(session.exec(select(Change).where(Change.asset_id == asset.id)
                              .order_by(col(Change.id).desc()).limit(50)).all()),
            list(session.exec(select(Finding).where(Finding.asset_id == asset.id)
                              .order_by(col(Finding.id))).all())))
    if not out:
        raise NotFoundError(_("no asset with address {a} in the inventory").format(a=normal),
                            hint=_("`garrison assets list` shows what scans have found."))
    return out


def list_runs(session: Session, *, unit_code: str | None = None, limit: int = 50
              ) -> list[tuple[ScanRun, str]]:
    query = select(ScanRun, Unit.code).join(Unit, col(ScanRun.unit_id) == col(Unit.id))
    if unit_code is not None:
        query = query.where(col(ScanRun.unit_id).in_(
            subtree_ids(session, get_unit(session, unit_code))))
    return [(r, c) for r, c in session.exec(query.order_by(col(ScanRun.id).desc())
                                             .limit(limit)).all()]


def get_run(session: Session, run_id: int) -> tuple[ScanRun, str]:
    row = session.exec(select(ScanRun, Unit.code).join(Unit, col(ScanRun.unit_id) == col(Unit.id))
                       .where(col(ScanRun.id) == run_id)).first()
    if row is None:
        raise NotFoundError(_("no scan run {id}").format(id=run_id),
                            hint=_("`garrison scan list` shows the runs."))
    return row[0], row[1]


def run_changes(session: Session, run_id: int, *, limit: int | None = None) -> list[Change]:
    return list(session.exec(select(Change).where(Change.run_id == run_id)
                             .order_by(col(Change.id)).limit(limit)).all())


def diff_runs(session: Session, run_a: int, run_b: int) -> list[Change]:
    """Every change recorded after run A up to and including run B (same unit)."""
    a, unit_a = get_run(session, run_a)
    b, unit_b = get_run(session, run_b)
    if a.unit_id != b.unit_id:
        raise GarrisonError(
            _("runs {a} ({ua}) and {b} ({ub}) are of different units").format(
                a=run_a, ua=unit_a, b=run_b, ub=unit_b),
            hint=_("Compare two runs of the same unit."))
    low, high = sorted((run_a, run_b))
    return list(session.exec(
        select(Change).where(Change.unit_id == a.unit_id, col(Change.run_id) > low,
                             col(Change.run_id) <= high)
        .order_by(col(Change.run_id), col(Change.id))).all())
