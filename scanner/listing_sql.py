"""The scanner's lists written once as SQL text, for SQLite and PostgreSQL.

``garrison assets list`` and ``scan show RUN`` must answer, start-up included, in
under 0.3 s over 65,536 assets; importing SQLAlchemy alone takes longer. So the CLI
runs these statements straight through the DB-API driver (``scanner.quick``), from
the standard library alone. They say what the ORM queries (``scanner.queries``,
``scanner.run_queries``, ``scanner.paging``) say, which stay the reference: the same
filters, the same keyset order (unit code, then ``asset.address_key``; a run's
observation, then id), the same cursors and counts. ``tests/scanner/test_quick_listing.py``
holds the two to the same answer on both backends.

What ``--service`` and ``--after UNIT/ADDRESS`` mean is also parsed here, once, for
both roads.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from garrison.findings.listing import Dialect, Params, read_stamp, read_time
from garrison.vocab import OPEN_STATES
from garrison.words import escape_like
from scanner.listing import AssetLine, AssetQuery, ChangeLine, RunLine

_PORT = re.compile(r"^(?:(tcp|udp|sctp)/)?(\d{1,5})(?:/(tcp|udp|sctp))?$", re.IGNORECASE)
NO_ADDRESS = b"\xff"
"""The address key of a change whose asset was deleted: it sorts last."""


def parse_service(text: str) -> tuple[int, str | None] | None:
    """``443`` / ``tcp/22`` / ``22/tcp`` as (port, protocol or None); None for a name."""
    port = _PORT.match(text.strip())
    if port is None:
        return None
    protocol = port.group(1) or port.group(3)
    return int(port.group(2)), protocol.lower() if protocol else None


def address_key(address: str) -> bytes:
    """As ``garrison.models.inventory.address_key`` (which loads the ORM): the IP
    version, then the address's bytes. ``ValueError`` if it is not an IP address."""
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET, address)
    except OSError:
        ip = ipaddress.ip_address(address)
        return bytes([ip.version]) + ip.packed


def parse_cursor(text: str) -> tuple[str, bytes] | None:
    """``--after UNIT/ADDRESS`` as (unit code, address key); None if it is not one."""
    code, sep, address = text.strip().partition("/")
    try:
        key = address_key(address)
    except ValueError:
        return None
    return (code, key) if sep and code else None


class Sql:
    """Parameters of a statement in the making, in the driver's paramstyle."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._p = Params("named" if dialect == "sqlite" else "pyformat")

    @property
    def params(self) -> dict[str, Any]:
        return self._p.values

    def mark(self, name: str, value: Any) -> str:
        return self._p.mark(name, value)

    def marks(self, name: str, values: Sequence[Any]) -> str:
        return self._p.marks(name, values)

    def ilike(self, expr: str, name: str, pattern: str) -> str:
        """Case-insensitive LIKE, as SQLAlchemy's ``ilike`` writes it for the dialect."""
        mark = self.mark(name, pattern)
        if self.dialect == "sqlite":
            return f"lower({expr}) LIKE lower({mark}) ESCAPE '\\'"
        return f"{expr} ILIKE {mark} ESCAPE '\\'"


@dataclass(frozen=True)
class Listing:
    """A keyset-paged list (``scanner.paging``): rows of ``froms`` matching ``where``,
    ordered by ``keys`` (unique together, all one way), counted by ``group``."""

    froms: str
    where: tuple[str, ...]
    keys: tuple[str, ...]
    group: str
    descending: bool = False

    def _compare(self, sql: Sql, cursor: Sequence[Any], name: str, op: str) -> str:
        values = ", ".join(sql.mark(f"{name}{i}", v) for i, v in enumerate(cursor))
        return f"({', '.join(self.keys)}) {op} ({values})"

    def beyond(self, sql: Sql, cursor: Sequence[Any]) -> str:
        """Rows after the one whose key is ``cursor`` (``paging.beyond``)."""
        return self._compare(sql, cursor, "after", "<" if self.descending else ">")

    def up_to(self, sql: Sql, cursor: Sequence[Any]) -> str:
        """Rows up to and including it: the page's ``before`` (``paging.up_to``)."""
        return self._compare(sql, cursor, "upto", ">=" if self.descending else "<=")

    def tally(self, sql: Sql, cursor: Sequence[Any] | None) -> str:
        """By ``group``: matches, and how many come up to the cursor (``paging.tally``)."""
        counted = (f"count(*) FILTER (WHERE {self.up_to(sql, cursor)})"
                   if cursor is not None else "0")
        return (f"SELECT {self.group}, count(*), {counted} FROM {self.froms}"
                + _where(list(self.where)) + f" GROUP BY {self.group}")

    def page(self, sql: Sql, columns: str, cursor: Sequence[Any] | None,
             limit: int | None) -> str:
        where = list(self.where)
        if cursor is not None:
            where.append(self.beyond(sql, cursor))
        way = " DESC" if self.descending else ""
        text = (f"SELECT {columns} FROM {self.froms}" + _where(where)
                + " ORDER BY " + ", ".join(k + way for k in self.keys))
        return text + (f" LIMIT {sql.mark('limit', int(limit))}" if limit is not None else "")

    def key_of(self, row: str) -> str:
        """The keys of the row matching ``row`` (a condition), for a cursor."""
        return f"SELECT {', '.join(self.keys)} FROM {self.froms}" + _where([*self.where, row])


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


# ---------------------------------------------------------------- assets

ASSET_COLUMNS = ("asset.id, asset.address, unit.code, asset.hostname, asset.state, "
                 "asset.last_seen, asset.first_seen, asset.mac, asset.os_guess")


def _open_service(sql: Sql, *where: str) -> str:
    return ("EXISTS (SELECT * FROM service WHERE service.asset_id = asset.id AND "
            f"service.state = {sql.mark('open', 'open')}"
            + "".join(f" AND {w}" for w in where) + ")")


def assets_listing(sql: Sql, q: AssetQuery, unit_ids: Sequence[int] | None) -> Listing:
    """``scanner.queries.search_assets``'s list; ``unit_ids``: the unit's subtree."""
    where: list[str] = []
    if q.unit:
        if unit_ids is None:
            raise ValueError("the unit filter needs the ids of the unit's subtree")
        where.append(f"asset.unit_id IN ({sql.marks('unit', unit_ids)})")
    if q.state is not None:
        where.append(f"asset.state = {sql.mark('state', str(q.state))}")
    if q.text:
        like = "%" + escape_like(q.text.strip()) + "%"
        inside = (f"({sql.ilike('service.name', 'text', like)} OR "
                  f"{sql.ilike('service.product', 'text', like)})")
        where.append(f"({sql.ilike('asset.address', 'text', like)} OR "
                     f"{sql.ilike('asset.hostname', 'text', like)} OR "
                     f"{_open_service(sql, inside)})")
    if q.service:
        port = parse_service(q.service)
        if port is None:
            clauses = [sql.ilike("service.name", "service",
                                 escape_like(q.service.strip()) + "%")]
        else:
            clauses = [f"service.port = {sql.mark('port', port[0])}"]
            if port[1]:
                clauses.append(f"service.protocol = {sql.mark('protocol', port[1])}")
        where.append(_open_service(sql, *clauses))
    return Listing("asset JOIN unit ON asset.unit_id = unit.id", tuple(where),
                   ("unit.code", "asset.address_key"), "asset.state")


def open_counts_sql(sql: Sql, table: str, ids: Sequence[int]) -> str:
    """Open services (``table`` service) or open findings (finding) of these assets."""
    if table == "service":
        is_open = f"service.state = {sql.mark('open', 'open')}"
    else:
        is_open = f"finding.status IN ({sql.marks('st', [s.value for s in OPEN_STATES])})"
    return (f"SELECT {table}.asset_id, count(*) FROM {table} WHERE {table}.asset_id IN "
            f"({sql.marks('id', ids)}) AND {is_open} GROUP BY {table}.asset_id")


def asset_line(row: Sequence[Any], services: int, findings: int) -> AssetLine:
    aid, address, code, hostname, state, last_seen, first_seen, mac, os_guess = row
    return AssetLine(int(aid), address, code, hostname, state, services, findings,
                     read_stamp(last_seen), read_stamp(first_seen), mac, os_guess)


# ---------------------------------------------------------------- runs and changes

RUN_FROM = "scanrun JOIN unit ON scanrun.unit_id = unit.id"
RUN_ORDER = ("scanrun.observed_at", "scanrun.id")
RUN_COLUMNS = ("scanrun.id, unit.code, scanrun.unit_id, scanrun.kind, scanrun.profile, "
               "scanrun.technique, scanrun.status, scanrun.started_at, scanrun.finished_at, "
               "scanrun.observed_at, scanrun.observed_until, scanrun.targets, scanrun.command, "
               "scanrun.actor, scanrun.hosts_total, scanrun.hosts_done, scanrun.hosts_up, "
               "scanrun.hosts_skipped, scanrun.services_seen, scanrun.batches_done, "
               "scanrun.batches_total, scanrun.counts, scanrun.nmap_version, "
               "scanrun.source_file, scanrun.source_sha256, scanrun.error")
RUN_OBSERVED = 9
"""Where ``scanrun.observed_at`` sits in ``RUN_COLUMNS``."""
CHANGE_COLUMNS = ("change.id, change.run_id, change.kind, change.address, change.protocol, "
                  "change.port, change.before, change.after, change.at")


def runs_listing(sql: Sql, unit_ids: Sequence[int] | None) -> Listing:
    """``scan list``: the latest observation first; ``unit_ids``: a unit's subtree."""
    where = (f"scanrun.unit_id IN ({sql.marks('unit', unit_ids)})",) if unit_ids else ()
    return Listing(RUN_FROM, where, RUN_ORDER, "scanrun.status", descending=True)


def run_sql(sql: Sql, run_id: int) -> str:
    """One run's ``RUN_COLUMNS`` (``RUN_OBSERVED``: its observation as stored)."""
    return (f"SELECT {RUN_COLUMNS} FROM {RUN_FROM} "
            f"WHERE scanrun.id = {sql.mark('run', run_id)}")


def _address_order(sql: Sql) -> str:
    return f"coalesce(asset.address_key, {sql.mark('nokey', NO_ADDRESS)})"


def run_changes_listing(sql: Sql, run_id: int) -> Listing:
    """``scan show RUN``: the run's changes by address, then id."""
    return Listing("change LEFT OUTER JOIN asset ON change.asset_id = asset.id",
                   (f"change.run_id = {sql.mark('run', run_id)}",),
                   (_address_order(sql), "change.id"), "change.kind")


def _window(sql: Sql, low: Sequence[Any], high: Sequence[Any]) -> tuple[str, str]:
    """Runs observed after ``low`` up to and including ``high`` (observed, id)."""
    keys = ", ".join(RUN_ORDER)
    return (f"({keys}) > ({sql.mark('low0', low[0])}, {sql.mark('low1', low[1])})",
            f"({keys}) <= ({sql.mark('high0', high[0])}, {sql.mark('high1', high[1])})")


def runs_between_sql(sql: Sql, unit_id: int, low: Sequence[Any], high: Sequence[Any]) -> str:
    return (f"SELECT count(*) FROM scanrun WHERE scanrun.unit_id = {sql.mark('uid', unit_id)}"
            " AND " + " AND ".join(_window(sql, low, high)))


def diff_listing(sql: Sql, unit_id: int, low: Sequence[Any], high: Sequence[Any]) -> Listing:
    """``scan diff A B``: the changes of the runs in the window, by address, then run."""
    return Listing("change JOIN scanrun ON change.run_id = scanrun.id "
                   "LEFT OUTER JOIN asset ON change.asset_id = asset.id",
                   (f"change.unit_id = {sql.mark('uid', unit_id)}", *_window(sql, low, high)),
                   (_address_order(sql), *RUN_ORDER, "change.id"), "change.kind")


def _json(value: Any, dialect: Dialect) -> Any:
    """A JSON column: text on SQLite, already decoded by psycopg on PostgreSQL."""
    return json.loads(value) if dialect == "sqlite" and value is not None else value


def run_line(row: Sequence[Any], dialect: Dialect) -> RunLine:
    (rid, code, unit_id, kind, profile, technique, status, started, finished, observed,
     until, targets, command, actor, hosts_total, hosts_done, hosts_up, hosts_skipped,
     services, batches_done, batches_total, counts, nmap, source, sha, error) = row
    return RunLine(int(rid), code, int(unit_id), kind, profile, technique, status,
                   read_stamp(started), read_time(finished), read_stamp(observed),
                   read_time(until), _json(targets, dialect), command, actor,
                   hosts_total, hosts_done, hosts_up, hosts_skipped, services, batches_done,
                   batches_total, _json(counts, dialect), nmap, source, sha, error)


def change_line(row: Sequence[Any], dialect: Dialect) -> ChangeLine:
    cid, run_id, kind, address, protocol, port, before, after, at = row
    return ChangeLine(int(cid), int(run_id), kind, address, protocol, port,
                      _json(before, dialect), _json(after, dialect), read_stamp(at))
