"""Store scan results: upsert assets and services, record changes, sync findings.

One call to ``Ingestor.ingest`` handles one batch of hosts inside the caller's
transaction, with set-based statements (a handful per batch, not per host), so a
crash between batches never leaves a half-written host and an import of 65,536
hosts takes seconds. What a port contributes is worked out once per distinct port
description (``scanner.portinfo.PortCache``).

Only what a batch covered is judged: an asset is "not seen" only when its address
was in the batch's coverage, a port is "closed" only when the run scanned it (the
ports in nmap's ``<scaninfo>``), and a finding is "fixed" only when its port was
scanned and found closed, or version detection saw the service and the rule no
longer matches.

Time: every row carries the time of its observation -- for a live scan the batch's
time, for an import each host's own ``endtime`` (``host_times``). An observation
older than what later runs saw of the same address and ports (``scanner.history``)
is stored as history (``Change.historical``; earlier ``first_seen``) and moves
nothing: no port closes, no asset goes, no finding is fixed or reopened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from garrison.bulk import Bulk
from garrison.findings.sla import DEFAULT_POLICY, SlaPolicy
from garrison.findings.sync import NewFindings, Observation, findings_on_assets, sync_findings
from garrison.models import (
    Asset,
    AssetState,
    Change,
    ChangeKind,
    Finding,
    FindingStatus,
    Service,
)
from garrison.models.inventory import address_key
from scanner.history import ALL_PORTS, NewerRuns, PortSet
from scanner.nmap_xml import HostResult, PortResult
from scanner.portinfo import (
    OPEN_STATES,
    SERVICE_VALUES,
    Coverage,
    PortCache,
    PortInfo,
    PreviousService,
    fingerprint,
    label,
)
from scanner.rules import Outcome, RuleSet

__all__ = ["BatchResult", "Coverage", "Ingestor", "OlderHost", "fingerprint"]

asset_t: sa.Table = Asset.__table__  # type: ignore[attr-defined]
service_t: sa.Table = Service.__table__  # type: ignore[attr-defined]
change_t: sa.Table = Change.__table__  # type: ignore[attr-defined]
finding_t: sa.Table = Finding.__table__  # type: ignore[attr-defined]

DEFAULT_MISSED_THRESHOLD = 2
_SERVICE_COLUMNS = (*SERVICE_VALUES, "last_seen")
_SERVICE_INSERT = ("asset_id", "protocol", "port", "first_seen", *_SERVICE_COLUMNS)
_ASSET_COLUMNS = ("unit_id", "address", "address_key", "hostname", "mac", "vendor",
                  "os_guess", "state", "missed_runs", "first_seen", "last_seen", "last_observed")
_CHANGE_COLUMNS = ("run_id", "unit_id", "asset_id", "kind", "address", "protocol", "port",
                   "before", "after", "at", "historical")


class OlderHost(NamedTuple):
    """A host whose observation a later run had already superseded."""

    address: str
    observed: datetime
    newest: datetime
    run_id: int | None


@dataclass
class BatchResult:
    hosts: int = 0
    hosts_up: int = 0
    services: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    older: list[OlderHost] = field(default_factory=list)


class _AssetRow(NamedTuple):
    id: int
    address: str
    state: AssetState
    missed_runs: int
    last_observed: datetime


class _Seen(NamedTuple):
    """A known asset a batch saw up."""

    row: _AssetRow
    host: HostResult
    stamp: Any
    """The observation's time, as stored."""
    newer: PortSet | None
    """Ports later runs looked at (history only); None: this observation is the newest."""


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


class Ingestor:
    """Ingest batches of one run for one unit."""

    def __init__(self, session: Session, *, run_id: int, unit_id: int, unit_code: str,
                 rules: RuleSet, coverage: Coverage, now: datetime, actor: str,
                 policy: SlaPolicy = DEFAULT_POLICY,
                 missed_threshold: int = DEFAULT_MISSED_THRESHOLD,
                 observed_at: datetime | None = None, host_times: bool = False,
                 history: NewerRuns | None = None, ports: PortCache | None = None) -> None:
        self.actor, self.policy = actor, policy
        self.session = session
        self.run_id, self.unit_id, self.unit_code = run_id, unit_id, unit_code
        self.rules, self.coverage, self.now = rules, coverage, now
        self.missed_threshold = missed_threshold
        self.observed_at = observed_at or now
        """The time of a host whose own time is unknown (or of every host: live scans)."""
        self.host_times, self.history = host_times, history
        self.context = f"run {run_id}"
        self.bulk = Bulk(session)
        self.ports = ports or PortCache(self.bulk, rules, coverage, run_id)
        self._times: dict[int | None, tuple[datetime, Any]] = {}

    def when(self, host: HostResult | None) -> tuple[datetime, Any]:
        """The host's observation time and its stored form."""
        epoch = (host.endtime or host.starttime) if host is not None and self.host_times \
            else None
        known = self._times.get(epoch)
        if known is None:
            at = self.observed_at if epoch is None else datetime.fromtimestamp(epoch, UTC)
            known = self._times[epoch] = (at, self.bulk.ts(at))
        return known

    def ingest(self, hosts: Sequence[HostResult], covered: Iterable[str]) -> BatchResult:
        """Store one batch. Addresses must be normalised (``ScopeMatcher``) and inside the
        unit's scopes; ``covered`` adds addresses the batch scanned that nmap did not
        list (absent from its output = not up)."""
        result = BatchResult(hosts=len(hosts))
        up = {h.address: h for h in hosts if h.state == "up" and h.address}
        listed = {h.address: h for h in hosts if h.address}
        existing = self._existing_assets(set(listed) | set(covered))
        changes: list[tuple[Any, ...]] = []
        seen = [self._seen(existing[a], h, result) for a, h in up.items() if a in existing]
        fresh, superseded = self._split_fresh([h for a, h in up.items() if a not in existing],
                                              result)
        appeared = self._first_sight(fresh, result)
        self._history_assets(superseded, changes)
        self._update_seen([s for s in seen if s.newer is None], changes)
        self._earlier_first_seen(asset_t, [(s.stamp, s.row.id) for s in seen if s.newer])
        self._mark_missed([(row, listed.get(a)) for a, row in existing.items() if a not in up],
                          changes)
        result.findings += self._known(seen, changes, result)
        self.bulk.insert(change_t, _CHANGE_COLUMNS, changes)
        self.bulk.keep_statistics()
        result.hosts_up = len(up)
        result.changes = Counter(c[3] if not c[10] else "historical" for c in changes)
        if appeared:
            result.changes[ChangeKind.asset_appeared.value] += appeared
        return result

    # ------------------------------------------------------------ assets

    def _existing_assets(self, addresses: set[str]) -> dict[str, _AssetRow]:
        rows = self.bulk.lookup(asset_t, "address", sorted(addresses),
                                ("id", "state", "missed_runs", "last_observed"),
                                where=("unit_id", self.unit_id))
        return {address: _AssetRow(aid, address, AssetState(state), missed, _as_time(seen))
                for address, aid, state, missed, seen in rows}

    def _seen(self, row: _AssetRow, host: HostResult, result: BatchResult) -> _Seen:
        at, stamp = self.when(host)
        if at >= row.last_observed:
            return _Seen(row, host, stamp, None)
        newer = self.history.after(row.address, at) if self.history else None
        result.older.append(OlderHost(row.address, at, newer.newest if newer else
                                      row.last_observed, newer.run_id if newer else None))
        return _Seen(row, host, stamp, newer.ports if newer else ALL_PORTS)

    def _split_fresh(self, hosts: list[HostResult], result: BatchResult
                     ) -> tuple[list[HostResult], list[tuple[HostResult, int, Any]]]:
        """New addresses; those a later run already covered (and did not find up) are
        history: ``(host, later runs, newest observation)``."""
        if not self.history:
            return hosts, []
        fresh, superseded = [], []
        for h in hosts:
            at, _stamp = self.when(h)
            newer = self.history.after(h.address, at)
            if newer is None:
                fresh.append(h)
            else:
                superseded.append((h, newer.runs, self.bulk.ts(newer.newest)))
                result.older.append(OlderHost(h.address, at, newer.newest, newer.run_id))
        return fresh, superseded

    def _change(self, kind: ChangeKind, address: str, asset_id: int | None, stamp: Any, *,
                protocol: str | None = None, port: int | None = None,
                before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                historical: bool = False) -> tuple[Any, ...]:
        return (self.run_id, self.unit_id, asset_id, kind.value, address, protocol, port,
                None if before is None else self.bulk.json(before),
                None if after is None else self.bulk.json(after), stamp, historical)

    def _insert_assets(self, hosts: list[HostResult], state: AssetState = AssetState.up,
                       missed: dict[str, tuple[int, Any]] | None = None) -> dict[str, int]:
        if not hosts:
            return {}
        rows = []
        for h in hosts:
            stamp = self.when(h)[1]
            runs, observed = (missed or {}).get(h.address, (0, stamp))
            rows.append((self.unit_id, h.address, address_key(h.address), h.hostname, h.mac,
                         h.vendor, h.os_guess, state.value, runs, stamp, stamp, observed))
        self.bulk.insert(asset_t, _ASSET_COLUMNS, rows)
        return {row.address: row.id for row in self._existing_assets(
            {h.address for h in hosts}).values()}

    def _first_sight(self, hosts: list[HostResult], result: BatchResult) -> int:
        """New assets: every open port is a new service, every match a new finding, each
        asset an ``asset_appeared`` change; returns how many appeared.

        Hosts of a scan repeat a few sets of ports: what a set writes is staged once
        (its open ports, their service values and finding templates), the hosts with
        the set they show, and the database makes the rows by joining them: no value
        crosses the driver per service or finding (measured on SQLite: those inserts
        take a third of the time they took as rows sent one by one). Rows come out in
        the order the hosts and their ports were listed, as they always did."""
        if not hosts:
            return 0
        findings = NewFindings(self.session, unit_id=self.unit_id, now=self.now,
                               context=self.context, policy=self.policy)
        stage = _Stage()
        sets: dict[tuple[int, ...], tuple[int, int, int, tuple[str, ...]]] = {}
        plans: dict[int, tuple[int, str, int] | None] = {}
        host_rows = []
        services = new = 0
        when, json = self.when, self.bulk.json
        for seq, h in enumerate(hosts):
            key = tuple(map(id, h.ports))  # the batch keeps its ports alive: ids are theirs
            known = sets.get(key)
            if known is None:
                opened = []
                for p in h.ports:
                    plan = plans[id(p)] if id(p) in plans else plans.setdefault(
                        id(p), self._stage_port(p, findings, stage))
                    if plan is not None:  # open
                        opened.append(plan)
                known = sets[key] = (len(sets), len(opened), sum(n for _k, _l, n in opened),
                                     tuple(label for _k, label, _n in opened))
                stage.sets.extend((known[0], i, k) for i, (k, _l, _n) in enumerate(opened))
            kind, n_services, n_findings, labels = known
            services += n_services
            new += n_findings
            after: dict[str, Any] = {"open": list(labels)}
            json_key: Any = ("appeared", labels)
            for name, value in (("hostname", h.hostname), ("mac", h.mac), ("os", h.os_guess)):
                if value:
                    after[name], json_key = value, None
            host_rows.append((seq, kind, h.address, address_key(h.address), h.hostname, h.mac,
                              h.vendor, h.os_guess, when(h)[1], json(after, json_key), None))
        self._write_first_sight(host_rows, stage, findings, services, new)
        result.services += services
        if new:
            result.findings["new"] += new
        return len(hosts)

    def _stage_port(self, p: PortResult, findings: NewFindings, stage: _Stage
                    ) -> tuple[int, str, int] | None:
        """Stage what an open port of a new asset writes but for the asset: its service
        values and finding templates; returns (its key, label, findings) or None when not
        open (once per distinct port in a batch)."""
        info = self.ports.get(p)
        if not info.is_open:
            return None
        key = len(stage.ports)
        stage.ports.append((key, p.protocol, p.port, *info.values))
        prefix = f"|{self.unit_code}|"
        suffix = f"|{p.protocol}/{p.port}"
        for i, m in enumerate(info.matches):
            head, tail = findings.template(m.rule_id, m.title, m.severity, p.protocol, p.port,
                                           m.evidence)
            stage.findings.append((key, i, m.rule_id + prefix, suffix, *head, *tail))
        return key, info.label, len(info.matches)

    def _write_first_sight(self, host_rows: list[tuple[Any, ...]], stage: _Stage,
                           findings: NewFindings, services: int, new: int) -> None:
        b = self.bulk
        q, m = b.name, b.mark
        host = b.stage("garrison_new_host", _HOST_STAGE, ("seq",), host_rows)
        sets = b.stage("garrison_new_set", _SET_STAGE, ("kind", "seq"), stage.sets)
        ports = b.stage("garrison_new_port", _PORT_STAGE, ("pk",), stage.ports)
        found = b.stage("garrison_new_finding", _FINDING_STAGE, ("pk", "seq"),
                        stage.findings)

        def h(c: str) -> str:
            return f"h.{q(c)}"

        b.insert_select(asset_t, _ASSET_COLUMNS, (
            f"SELECT {m}, {h('address')}, {h('address_key')}, {h('hostname')}, {h('mac')}, "
            f"{h('vendor')}, {h('os_guess')}, {m}, 0, {h('stamp')}, {h('stamp')}, "
            f"{h('stamp')} FROM {host} h ORDER BY {h('seq')}"),
            (self.unit_id, AssetState.up.value), count=len(host_rows))
        b.execute(f"UPDATE {host} SET {q('asset_id')} = (SELECT a.{q('id')} FROM "
                  f"{q('asset')} a WHERE a.{q('unit_id')} = {m} AND "
                  f"a.{q('address')} = {host}.{q('address')})", (self.unit_id,))
        # CROSS JOIN: SQLite then loops in the order written, which is the ORDER BY
        joined = (f"FROM {host} h CROSS JOIN {sets} s CROSS JOIN {{table}} p "
                  f"WHERE s.{q('kind')} = {h('kind')} AND p.{q('pk')} = s.{q('pk')}")
        values = ", ".join(f"p.{q(c)}" for c in SERVICE_VALUES)
        b.insert_select(service_t, _SERVICE_INSERT, (
            f"SELECT {h('asset_id')}, p.{q('protocol')}, p.{q('port')}, {h('stamp')}, "
            f"{values}, {h('stamp')} {joined.format(table=ports)} "
            f"ORDER BY {h('seq')}, s.{q('seq')}"), (), count=services)
        columns = ", ".join(
            {"fingerprint": f"p.{q('prefix')} || {h('address')} || p.{q('suffix')}",
             "asset_id": h("asset_id"), "service_id": "NULL",
             "address": h("address")}.get(c, f"p.{q(c)}") for c in findings.COLUMNS)
        findings.write(f"SELECT {columns} {joined.format(table=found)} "
                       f"ORDER BY {h('seq')}, s.{q('seq')}, p.{q('seq')}", (), new)
        b.insert_select(change_t, _CHANGE_COLUMNS, (
            f"SELECT {m}, {m}, {h('asset_id')}, {m}, {h('address')}, NULL, NULL, NULL, "
            f"{h('after')}, {h('stamp')}, {m} FROM {host} h ORDER BY {h('seq')}"),
            (self.run_id, self.unit_id, ChangeKind.asset_appeared.value, False),
            count=len(host_rows))

    def _appeared(self, h: HostResult, asset_id: int, labels: list[str], stamp: Any,
                  historical: bool = False) -> tuple[Any, ...]:
        after: dict[str, Any] = {"open": labels}
        key: Any = ("appeared", tuple(labels))
        for name, value in (("hostname", h.hostname), ("mac", h.mac), ("os", h.os_guess)):
            if value:
                after[name], key = value, None
        return (self.run_id, self.unit_id, asset_id, ChangeKind.asset_appeared.value,
                h.address, None, None, None, self.bulk.json(after, key), stamp, historical)

    def _history_assets(self, items: list[tuple[HostResult, int, Any]],
                        changes: list[tuple[Any, ...]]) -> None:
        """Addresses seen up only by an older observation: recorded as they were then,
        not up now (later runs covered them), their services as last seen, no findings."""
        if not items:
            return
        missed = {h.address: (runs, newest) for h, runs, newest in items}
        gone = [h for h, runs, _n in items if runs >= self.missed_threshold]
        down = [h for h, runs, _n in items if runs < self.missed_threshold]
        ids = {**self._insert_assets(gone, AssetState.gone, missed),
               **self._insert_assets(down, AssetState.down, missed)}
        services: list[tuple[Any, ...]] = []
        for h, _runs, _newest in items:
            stamp = self.when(h)[1]
            infos = [(p, self.ports.get(p)) for p in h.ports]
            services.extend((ids[h.address], p.protocol, p.port, stamp, "closed",
                             *info.values[1:], stamp) for p, info in infos if info.is_open)
            changes.append(self._appeared(h, ids[h.address], [
                info.label for _p, info in infos if info.is_open], stamp, historical=True))
        self.bulk.insert(service_t, _SERVICE_INSERT, services)

    def _update_seen(self, seen: list[_Seen], changes: list[tuple[Any, ...]]) -> None:
        if not seen:
            return
        b = self.bulk
        sets = ", ".join(f"{b.name(c)} = COALESCE({b.mark}, {b.name(c)})"
                         for c in ("hostname", "mac", "vendor", "os_guess"))
        b.many(f"UPDATE {b.name('asset')} SET {b.name('state')} = {b.mark}, "
               f"{b.name('missed_runs')} = 0, {b.name('last_seen')} = {b.mark}, "
               f"{b.name('last_observed')} = {b.mark}, {sets} WHERE {b.name('id')} = {b.mark}",
               [(AssetState.up.value, s.stamp, s.stamp, s.host.hostname, s.host.mac,
                 s.host.vendor, s.host.os_guess, s.row.id) for s in seen])
        changes.extend(self._change(ChangeKind.asset_appeared, s.row.address, s.row.id,
                                    s.stamp, before={"state": "gone"},
                                    after={"state": "up", "hostname": s.host.hostname})
                       for s in seen if s.row.state is AssetState.gone)

    def _earlier_first_seen(self, table: sa.Table, pairs: list[tuple[Any, int]]) -> None:
        """An older observation moves ``first_seen`` back, nothing else."""
        if not pairs:
            return
        b = self.bulk
        b.many(f"UPDATE {b.name(table.name)} SET {b.name('first_seen')} = {b.mark} "
               f"WHERE {b.name('id')} = {b.mark} AND {b.name('first_seen')} > {b.mark}",
               [(stamp, row_id, stamp) for stamp, row_id in pairs])

    def _mark_missed(self, rows: list[tuple[_AssetRow, HostResult | None]],
                     changes: list[tuple[Any, ...]]) -> None:
        updates = []
        for row, host in rows:
            at, stamp = self.when(host)
            if at < row.last_observed:
                continue  # a later run looked since: history, not news
            missed = row.missed_runs + 1
            gone = missed >= self.missed_threshold
            state = AssetState.gone if gone else AssetState.down
            updates.append((missed, state.value, stamp, row.id))
            if gone and row.state is not AssetState.gone:
                changes.append(self._change(ChangeKind.asset_gone, row.address, row.id, stamp,
                                            before={"state": row.state.value},
                                            after={"missed_runs": missed}))
        self.bulk.update(asset_t, ("missed_runs", "state", "last_observed"), "id", updates)

    # ------------------------------------------------------------ known assets

    def _services(self, asset_ids: list[int]) -> dict[int, dict[tuple[str, int],
                                                                 PreviousService]]:
        out: dict[int, dict[tuple[str, int], PreviousService]] = {}
        for row in self.bulk.lookup(service_t, "asset_id", asset_ids,
                                    ("id", "protocol", "port", "state", "name", "product",
                                     "version", "tunnel", "method", "first_seen")):
            asset_id, sid, *rest = row
            svc = PreviousService(sid, asset_id, *rest)
            out.setdefault(asset_id, {})[(svc.protocol, svc.port)] = svc
        return out

    def _known(self, seen: list[_Seen], changes: list[tuple[Any, ...]],
               result: BatchResult) -> Counter[str]:
        """Assets seen before: diff their services, judge their findings."""
        if not seen:
            return Counter()
        known = self._services([s.row.id for s in seen])
        diff = _ServiceDiff()
        for s in seen:
            self._diff_asset(s, known.get(s.row.id, {}), diff, changes, result)
        self.bulk.insert(service_t, _SERVICE_INSERT, diff.inserts)
        self.bulk.update(service_t, _SERVICE_COLUMNS, "id", diff.updates)
        # seen again without version detection, or closed: keep what we knew of it
        self.bulk.update(service_t, ("state", "last_seen"), "id", diff.light)
        self._earlier_first_seen(service_t, diff.earlier)
        newer = {s.row.id: s.newer for s in seen if s.newer is not None}
        resolved = self._resolved([s.row.id for s in seen], diff, newer)
        if not diff.observed and not resolved:
            return Counter()
        return sync_findings(self.session, observed=diff.observed, resolved=resolved,
                             now=self.now, context=self.context, actor=self.actor,
                             policy=self.policy)

    def _diff_asset(self, s: _Seen, have: dict[tuple[str, int], PreviousService],
                    diff: _ServiceDiff, changes: list[tuple[Any, ...]],
                    result: BatchResult) -> None:
        row = s.row
        listed = {(p.protocol, p.port): p for p in s.host.ports}
        for key, p in listed.items():
            prev = have.get(key)
            if s.newer is not None and s.newer.covers(*key):
                self._historical(s, p, prev, diff, changes)
                continue
            info = self.ports.get(p) if prev is None or p.method == "probed" or p.product \
                else self.ports.describe(p, prev)
            if info.is_open:
                result.services += 1
                diff.infos[(row.id, *key)] = info
                diff.observed.extend(self._observations(row.address, row.id, p, info))
            else:
                diff.closed.add((row.id, *key))
            self._service_change(s, p, info, prev, diff, changes)
        for key, prev in have.items():
            if key in listed or prev.state not in OPEN_STATES or \
                    not self.coverage.covers(*key):
                continue
            if s.newer is not None and s.newer.covers(*key):
                continue
            diff.closed.add((row.id, *key))
            diff.light.append(("closed", s.stamp, prev.id))
            changes.append(self._change(ChangeKind.port_closed, row.address, row.id, s.stamp,
                                        protocol=prev.protocol, port=prev.port,
                                        before={"service": label(prev)}))

    def _observations(self, address: str, asset_id: int, p: PortResult, info: PortInfo
                      ) -> Iterable[Observation]:
        for m in info.matches:
            yield Observation(fingerprint(m.rule_id, self.unit_code, address, p.protocol, p.port),
                              m.rule_id, m.title, m.severity, self.unit_id, asset_id, None,
                              address, p.protocol, p.port, m.evidence)

    def _service_change(self, s: _Seen, p: PortResult, info: PortInfo,
                        prev: PreviousService | None, diff: _ServiceDiff,
                        changes: list[tuple[Any, ...]]) -> None:
        address, asset_id, stamp = s.row.address, s.row.id, s.stamp
        kind = _change_kind(info, prev, p)
        if kind is not None:
            changes.append(self._port_change(kind, address, asset_id, stamp, p, info, prev))
        if prev is None:
            if info.is_open:
                diff.inserts.append((asset_id, p.protocol, p.port, stamp, *info.values, stamp))
        elif info.is_open and not info.probed:
            diff.light.append((p.state, stamp, prev.id))  # no version detection this time
        else:
            diff.updates.append((*info.values, stamp, prev.id))

    def _port_change(self, kind: ChangeKind, address: str, asset_id: int, stamp: Any,
                     p: PortResult, info: PortInfo, prev: PreviousService | None,
                     historical: bool = False) -> tuple[Any, ...]:
        before: dict[str, Any] | None
        after: dict[str, Any] | None
        if kind is ChangeKind.port_opened:
            before, after = None, {"service": info.label}
        elif kind is ChangeKind.port_closed:
            assert prev is not None
            before, after = {"service": label(prev)}, None
        else:
            assert prev is not None
            before = {"name": prev.name, "product": prev.product, "version": prev.version}
            after = {"name": p.name, "product": p.product, "version": p.version}
        return self._change(kind, address, asset_id, stamp, protocol=p.protocol, port=p.port,
                            before=before, after=after, historical=historical)

    def _historical(self, s: _Seen, p: PortResult, prev: PreviousService | None,
                    diff: _ServiceDiff, changes: list[tuple[Any, ...]]) -> None:
        """A port later runs looked at: what the older observation saw, as history."""
        info = self.ports.get(p)
        kind = _change_kind(info, prev, p)
        if kind is not None:
            changes.append(self._port_change(kind, s.row.address, s.row.id, s.stamp, p, info,
                                             prev, historical=True))
        if prev is None and info.is_open:  # open then, not since: last seen then
            diff.inserts.append((s.row.id, p.protocol, p.port, s.stamp, "closed",
                                 *info.values[1:], s.stamp))
        elif prev is not None and kind is None and info.is_open:
            diff.earlier.append((s.stamp, prev.id))  # the same service, seen earlier

    def _resolved(self, asset_ids: list[int], diff: _ServiceDiff,
                  newer: dict[int, PortSet]) -> dict[str, str]:
        resolved: dict[str, str] = {}
        for f in findings_on_assets(self.session, asset_ids):
            if f.status not in (FindingStatus.open, FindingStatus.in_progress):
                continue
            if f.protocol is None or f.port is None or f.asset_id is None:
                continue
            later = newer.get(f.asset_id)
            if later is not None and later.covers(f.protocol, f.port):
                continue  # only a later run may judge it
            key = (f.asset_id, f.protocol, f.port)
            info = diff.infos.get(key)
            if info is None:
                if key in diff.closed or self.coverage.covers(f.protocol, f.port):
                    resolved[f.fingerprint] = f"{f.protocol}/{f.port} closed ({self.context})"
                continue
            if info.probed and f.rule_id in self.rules.rules and \
                    info.outcomes.get(f.rule_id, Outcome.no) is Outcome.no:
                facts = info.facts
                text = " ".join(x for x in (facts.name, facts.product, facts.version) if x)
                resolved[f.fingerprint] = (f"{f.protocol}/{f.port} now {text or 'unknown'}: "
                                           f"rule no longer matches ({self.context})")
        return resolved


@dataclass
class _Stage:
    """What a batch's new assets share, to be staged: the distinct open ports (key,
    protocol, port, service values), their finding templates (port key, order,
    fingerprint prefix and suffix around the address, the row's other values) and the
    sets of ports hosts show (set, order, port key)."""

    ports: list[tuple[Any, ...]] = field(default_factory=list)
    findings: list[tuple[Any, ...]] = field(default_factory=list)
    sets: list[tuple[int, int, int]] = field(default_factory=list)


_HOST_STAGE = (("seq", int), ("kind", int), ("address", asset_t.c.address),
               ("address_key", asset_t.c.address_key), ("hostname", asset_t.c.hostname),
               ("mac", asset_t.c.mac), ("vendor", asset_t.c.vendor),
               ("os_guess", asset_t.c.os_guess), ("stamp", asset_t.c.last_seen),
               ("after", change_t.c.after), ("asset_id", int))
_SET_STAGE = (("kind", int), ("seq", int), ("pk", int))
_PORT_STAGE = (("pk", int), ("protocol", service_t.c.protocol), ("port", int),
               *((c, service_t.c[c]) for c in SERVICE_VALUES))
_FINDING_STAGE = (("pk", int), ("seq", int), ("prefix", finding_t.c.fingerprint),
                  ("suffix", finding_t.c.fingerprint),
                  *((c, finding_t.c[c]) for c in (
                      "rule_id", "title", "severity", "source", "unit_id", "protocol", "port",
                      "owner", "status", "due_at", "first_seen", "last_seen",
                      "status_changed_at", "evidence", "references")))
"""Staging tables' columns (``Bulk.stage``), in the order of the staged tuples."""


@dataclass
class _ServiceDiff:
    """What a batch does to the services of known assets."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    light: list[tuple[Any, ...]] = field(default_factory=list)
    earlier: list[tuple[Any, int]] = field(default_factory=list)
    infos: dict[tuple[int, str, int], PortInfo] = field(default_factory=dict)
    closed: set[tuple[int, str, int]] = field(default_factory=set)
    observed: list[Observation] = field(default_factory=list)


def _change_kind(info: PortInfo, prev: PreviousService | None, p: PortResult
                 ) -> ChangeKind | None:
    was_open = prev is not None and prev.state in OPEN_STATES
    if info.is_open and not was_open:
        return ChangeKind.port_opened
    if not info.is_open and was_open:
        return ChangeKind.port_closed
    if info.is_open and info.probed and prev is not None and \
            (prev.name, prev.product, prev.version) != (p.name, p.product, p.version):
        return ChangeKind.service_changed
    return None
