"""Read the run history: ``scan list``, ``scan show RUN`` and ``scan diff A B``.

Runs are ordered by when they looked at the network (``ScanRun.observed_at``, then
id), not by when Garrison stored them: an import of last month's file is last
month's observation. A run's changes, and a diff's, are ordered by address in
numeric order (the asset's ``address_key``), then by observation and id; every list
is a keyset page (``scanner.paging``) whose cursor is the id of the last row shown
(a run id, a change id), as in ``findings list``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from garrison.errors import GarrisonError, NotFoundError
from garrison.i18n import _
from garrison.models import Asset, Change, ScanRun, Unit
from garrison.org.queries import get_unit, subtree_ids
from scanner.listing import ChangeLine, Page, RunChanges, RunDiff, RunLine
from scanner.listing_sql import NO_ADDRESS
from scanner.paging import Key, beyond, tally, up_to

ADDRESS_ORDER: sa.ColumnElement[bytes] = sa.func.coalesce(
    col(Asset.address_key), sa.literal(NO_ADDRESS, sa.LargeBinary()))
"""A change's place by address; a change whose asset was deleted sorts last."""
_RUN_ORDER = (col(ScanRun.observed_at), col(ScanRun.id))


def run_line(run: ScanRun, code: str) -> RunLine:
    """A run as the lists print it (``scanner.listing``)."""
    assert run.id is not None
    return RunLine(run.id, code, run.unit_id, run.kind.value, run.profile, run.technique,
                   run.status.value, run.started_at, run.finished_at, run.observed_at,
                   run.observed_until, run.targets, run.command, run.actor, run.hosts_total,
                   run.hosts_done, run.hosts_up, run.hosts_skipped, run.services_seen,
                   run.batches_done, run.batches_total, run.counts, run.nmap_version,
                   run.source_file, run.source_sha256, run.error)


def change_line(c: Change) -> ChangeLine:
    assert c.id is not None
    return ChangeLine(c.id, c.run_id, c.kind.value, c.address, c.protocol, c.port, c.before,
                      c.after, c.at)


def get_run(session: Session, run_id: int) -> RunLine:
    row = session.exec(select(ScanRun, Unit.code).join(Unit, col(ScanRun.unit_id) == col(Unit.id))
                       .where(col(ScanRun.id) == run_id)).first()
    if row is None:
        raise NotFoundError(_("no scan run {id}").format(id=run_id),
                            hint=_("`garrison scan list` shows the runs."))
    return run_line(*row)


def list_runs(session: Session, *, unit_code: str | None, limit: int | None,
              after: int | None = None) -> Page[RunLine]:
    """Runs, the latest observation first, after run ``after``; counted by status."""
    froms = sa.join(ScanRun, Unit, col(ScanRun.unit_id) == col(Unit.id))
    where: list[sa.ColumnElement[bool]] = []
    if unit_code is not None:
        where.append(col(ScanRun.unit_id).in_(subtree_ids(session,
                                                          get_unit(session, unit_code))))
    cursor = None
    if after is not None:
        run = get_run(session, after)
        cursor = (run.observed_at, run.id)
    counts, total, before = tally(session, col(ScanRun.status), where, froms,
                                  up_to(_RUN_ORDER, cursor, descending=True) if cursor else None)
    query = (select(ScanRun, Unit.code).join(Unit, col(ScanRun.unit_id) == col(Unit.id))
             .where(*where).order_by(*(k.desc() for k in _RUN_ORDER)).limit(limit))
    if cursor:
        query = query.where(beyond(_RUN_ORDER, cursor, descending=True))
    return Page([run_line(r, c) for r, c in session.exec(query).all()], total, before, counts)


def _changes_page(session: Session, froms: sa.FromClause, where: list[sa.ColumnElement[bool]],
                  keys: list[Key], *, limit: int | None, after: int | None
                  ) -> Page[ChangeLine]:
    """The page of ``Change`` rows in ``froms`` matching ``where``, ordered by ``keys``
    (the last is the change id), after the change ``after``."""
    cursor = None
    if after is not None:
        cursor = session.execute(sa.select(*keys).select_from(froms)
                                 .where(*where, col(Change.id) == after)).first()
        if cursor is None:
            raise GarrisonError(_("--after {c}: change {c} is not in this list").format(c=after),
                                hint=_("Pass the change id the previous page's \"next:\" "
                                       "names."))
    counts, total, before = tally(session, col(Change.kind), where, froms,
                                  up_to(keys, tuple(cursor)) if cursor else None)
    query = select(Change).select_from(froms).where(*where).order_by(*keys).limit(limit)
    if cursor:
        query = query.where(beyond(keys, tuple(cursor)))
    return Page([change_line(c) for c in session.exec(query).all()], total, before, counts)


def run_changes(session: Session, run_id: int, *, limit: int | None, after: int | None = None
                ) -> RunChanges:
    """Run ``run_id`` and the page of its changes, by address, after the change ``after``."""
    run = get_run(session, run_id)
    froms = sa.outerjoin(Change, Asset, col(Change.asset_id) == col(Asset.id))
    return RunChanges(run, _changes_page(session, froms, [col(Change.run_id) == run_id],
                                         [ADDRESS_ORDER, col(Change.id)], limit=limit,
                                         after=after))


def diff_runs(session: Session, run_a: int, run_b: int, *, limit: int | None,
              after: int | None = None) -> RunDiff:
    """Every change recorded by the runs observed after the earlier of A and B up to
    and including the later (same unit), by address, then observation."""
    a, b = get_run(session, run_a), get_run(session, run_b)
    if a.unit_id != b.unit_id:
        raise GarrisonError(
            _("runs {a} ({ua}) and {b} ({ub}) are of different units").format(
                a=run_a, ua=a.unit, b=run_b, ub=b.unit),
            hint=_("Compare two runs of the same unit."))
    low, high = sorted((a, b), key=lambda r: (r.observed_at, r.id))
    window = [beyond(_RUN_ORDER, (low.observed_at, low.id)),
              up_to(_RUN_ORDER, (high.observed_at, high.id))]
    runs = int(session.execute(sa.select(sa.func.count()).select_from(ScanRun).where(
        col(ScanRun.unit_id) == a.unit_id, *window)).scalar_one())
    froms = sa.join(Change, ScanRun, col(Change.run_id) == col(ScanRun.id)).outerjoin(
        Asset, col(Change.asset_id) == col(Asset.id))
    page = _changes_page(session, froms, [col(Change.unit_id) == a.unit_id, *window],
                         [ADDRESS_ORDER, *_RUN_ORDER, col(Change.id)], limit=limit, after=after)
    return RunDiff(low, high, a.unit, runs, page)
