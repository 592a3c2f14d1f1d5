"""Read the inventory: the asset list (``assets list``, the TUI's assets screen) and one
asset in full (``assets show``). Runs and changes: ``scanner.run_queries``.

The list is ordered by unit code, then address in numeric order (``asset.address_key``:
IPv4 before IPv6), and paged by keyset (``scanner.paging``): a page starts after the
previous page's last ``UNIT/ADDRESS``. Only the page's rows are read, and their open
services and findings are counted for those rows alone: listing 65,534 assets used to
load every one of them as an ORM object (30 s, 560 MB).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from garrison.errors import GarrisonError, NotFoundError
from garrison.findings.queries import gone_since
from garrison.i18n import _
from garrison.models import Asset, AssetState, Change, Finding, Service, Unit
from garrison.org.queries import get_unit, subtree_ids
from garrison.vocab import OPEN_STATES
from garrison.words import escape_like
from scanner.listing import ASSET_STATES, AssetLine, AssetQuery
from scanner.listing_sql import parse_cursor, parse_service
from scanner.paging import Page, beyond, tally, up_to


def service_clauses(text: str) -> list[sa.ColumnElement[bool]]:
    """``443`` / ``tcp/22`` / ``22/tcp``: that port; anything else: a service name that
    starts with the text (``http`` finds http, https and http-proxy)."""
    port = parse_service(text)
    if port is None:
        return [col(Service.name).ilike(escape_like(text.strip()) + "%", escape="\\")]
    clauses = [col(Service.port) == port[0]]
    if port[1]:
        clauses.append(col(Service.protocol) == port[1])
    return clauses


def _open_service(*where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """The asset has an open service matching ``where`` (probes the asset's services by
    the unique (asset_id, protocol, port) index rather than scanning all of them)."""
    return sa.exists().where(col(Service.asset_id) == col(Asset.id),
                             col(Service.state) == "open", *where)


def _asset_where(session: Session, q: AssetQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if q.unit:
        where.append(col(Asset.unit_id).in_(subtree_ids(session, get_unit(session, q.unit))))
    if q.state is not None:
        where.append(col(Asset.state) == q.state)
    if q.text:
        like = "%" + escape_like(q.text.strip()) + "%"
        where.append(sa.or_(col(Asset.address).ilike(like, escape="\\"),
                            col(Asset.hostname).ilike(like, escape="\\"),
                            _open_service(sa.or_(col(Service.name).ilike(like, escape="\\"),
                                                 col(Service.product).ilike(like, escape="\\")))))
    if q.service:
        where.append(_open_service(*service_clauses(q.service)))
    return where


def asset_cursor(session: Session, text: str) -> tuple[str, bytes]:
    """``--after UNIT/ADDRESS`` as the list's key (unit code, address key)."""
    cursor = parse_cursor(text)
    if cursor is None:
        raise GarrisonError(_("--after {v!r} is not UNIT/ADDRESS (e.g. hz-jw/127.0.0.50)")
                            .format(v=text),
                            hint=_("Copy it from the \"next:\" of the page before."))
    return get_unit(session, cursor[0]).code, cursor[1]


def search_assets(session: Session, q: AssetQuery, *, limit: int | None,
                  after: str | None = None) -> Page[AssetLine]:
    """The page of assets matching ``q`` after ``after`` (``UNIT/ADDRESS``), by unit code
    then address, counted by state. ``NotFoundError`` if a unit is unknown."""
    froms = sa.join(Asset, Unit, col(Asset.unit_id) == col(Unit.id))
    where = _asset_where(session, q)
    keys = [col(Unit.code), col(Asset.address_key)]
    cursor = asset_cursor(session, after) if after is not None else None
    counts, total, before = tally(session, col(Asset.state), where, froms,
                                  up_to(keys, cursor) if cursor else None)
    query = (sa.select(col(Asset.id), col(Asset.address), col(Unit.code), col(Asset.hostname),
                       col(Asset.state), col(Asset.last_seen), col(Asset.first_seen),
                       col(Asset.mac), col(Asset.os_guess))
             .select_from(froms).where(*where).order_by(*keys).limit(limit))
    if cursor:
        query = query.where(beyond(keys, cursor))
    rows = session.execute(query).all()
    ids = [int(r[0]) for r in rows]
    services = _count_by(session, col(Service.asset_id), ids, col(Service.state) == "open")
    findings = _count_by(session, col(Finding.asset_id), ids,
                         col(Finding.status).in_(OPEN_STATES))
    return Page([AssetLine(aid, address, code, hostname, AssetState(state).value,
                           services.get(aid, 0), findings.get(aid, 0), *rest)
                 for aid, address, code, hostname, state, *rest in rows],
                total, before, {s: counts[s] for s in ASSET_STATES if counts.get(s)})


def _count_by(session: Session, key: Any, ids: list[int], *where: sa.ColumnElement[bool]
              ) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(sa.select(key, sa.func.count()).where(key.in_(ids), *where)
                           .group_by(key)).all()
    return {int(k): int(n) for k, n in rows if k is not None}


@dataclass
class AssetDetail:
    asset: Asset
    unit: str
    services: list[Service] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    gone_since: datetime | None = None
    """For a gone asset: when a run found it gone (else when it was last seen)."""


def asset_details(session: Session, address: str, *, unit_code: str | None = None
                  ) -> list[AssetDetail]:
    try:
        normal = ipaddress.ip_address(address).compressed
    except ValueError as exc:
        raise GarrisonError(_("{a!r} is not an IP address").format(a=address)) from exc
    query = select(Asset, Unit.code).join(Unit, col(Asset.unit_id) == col(Unit.id)).where(
        col(Asset.address) == normal)
    if unit_code is not None:
        query = query.where(col(Unit.code) == unit_code)
    out = []
    for asset, code in session.exec(query.order_by(col(Unit.code))).all():
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
    since = gone_since(session, [d.asset for d in out])
    for d in out:
        d.gone_since = since.get(d.asset.id or 0)
    return out
