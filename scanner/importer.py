"""``garrison scan import``: ingest nmap XML produced elsewhere.

Two phases. **Read**: the whole file is parsed and checked before anything is written
(``scanner.import_read``): a host whose address is not an IP address rejects the
file with its line; a file with no host inside the unit's scopes writes no run and
names the units whose scopes hold those addresses; a malformed, hostile or non-nmap
file stores nothing and the refusal is audited. **Store**: the in-scope hosts are
written in batches of ``BATCH_HOSTS``, one short transaction each, so other writers
(the TUI, another import) get the database in between (on SQLite a single writer
holds it at a time: a 65,536-host import in one transaction held it for seconds).

An interrupted store (Ctrl-C, SIGTERM) keeps the batches already committed, rolls
back the one in progress and marks the run ``interrupted`` with how far it got, like
``scan run``; importing the same file again completes it (what is already there is
recognised, nothing is counted twice). The final commit cannot be interrupted: a
signal arriving then is reported, not obeyed.

Time: the observations are the file's own (``<nmaprun start>``, each host's
``endtime``), and an observation older than what later runs saw of the same address
and ports is stored as history without moving the present (``scanner.history``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from garrison import audit
from garrison.db import read_session, write_session
from garrison.errors import DatabaseBusy, GarrisonError
from garrison.findings.rules import sync_rules
from garrison.findings.sla import settings_policy
from garrison.i18n import _, ngettext
from garrison.models import RunKind, ScanRun, ScanStatus
from garrison.org.queries import get_unit
from garrison.scope import list_scopes, units_containing
from garrison.settings import Settings
from garrison.signals import Terminated, signals_deferred, sigterm_interrupts
from scanner.history import NewerRuns, compact_addresses, coverage_json
from scanner.import_read import FileRead, read_file
from scanner.inventory import BatchResult, Coverage, Ingestor, OlderHost
from scanner.nmap_xml import RunInfo
from scanner.pipeline import gc_paused
from scanner.portinfo import PortCache
from scanner.rules import RuleSet, load_rules
from scanner.rules.loader import rule_texts
from scanner.runs import add_counts, finish, mark_failed, mark_interrupted, start_run
from scanner.settings import ScannerSettings

BATCH_HOSTS = 2000
"""Hosts per store transaction: a few tenths of a second of writing each (1,000 cost 10%
more CPU; the bench's other writer waited at most the figure it prints)."""
OLDER_SHOWN = 20

ProgressFn = Callable[[str, int, int], None]
"""(phase: "read" or "store", done, total): bytes of the file, then hosts stored."""


class ImportRefused(GarrisonError):
    """The file cannot be imported for this unit; nothing was written."""


@dataclass
class ImportReport:
    run_id: int
    unit: str
    file: str
    sha256: str
    hosts_read: int = 0
    hosts_stored: int = 0
    hosts_up: int = 0
    hosts_skipped: int = 0
    services: int = 0
    complete: bool = True
    nmap_version: str | None = None
    observed_at: str | None = None
    """When the file's scan ran (ISO 8601, UTC): the time of its observations."""
    counts: dict[str, int] = field(default_factory=dict)
    older: list[dict[str, Any]] = field(default_factory=list)
    """Up to ``OLDER_SHOWN`` hosts a later run had already looked at (history only)."""
    older_total: int = 0
    signal_ignored: bool = False
    """Ctrl-C or SIGTERM arrived during the final commit: the import completed anyway."""


def coverage_of(run: RunInfo) -> Coverage:
    args = (run.args or "").split()
    scripts = any(a.startswith("--script") or a in ("-sC", "-A") for a in args)
    return Coverage(ports=dict(run.ports), version_detection=run.version_detection,
                    scripts=scripts)


def import_xml(settings: Settings, *, path: Path, unit_code: str,
               scanner_settings: ScannerSettings | None = None,
               batch_size: int = BATCH_HOSTS, progress: ProgressFn | None = None
               ) -> ImportReport:
    ss = scanner_settings or ScannerSettings()
    rules, loaded = load_rules(ss.rules_dir)
    if not path.is_file():
        raise GarrisonError(_("{file}: no such file").format(file=path),
                            hint=_("Give the path of an XML file written by nmap -oX."))
    with gc_paused():  # millions of acyclic tuples: see scanner.pipeline
        try:
            with sigterm_interrupts():
                read, unit_id = _read(settings, path, unit_code, batch_size, progress)
        except GarrisonError as exc:
            _audit_refusal(settings, path, unit_code, exc)
            raise
        try:
            return _store(settings, read, unit_code, unit_id, (rules, rule_texts(loaded)),
                          ss, progress)
        finally:
            read.batches.close()


def _audit_refusal(settings: Settings, path: Path, unit_code: str, exc: GarrisonError) -> None:
    """The refused import is an audit event; if even that cannot be written, say so."""
    if isinstance(exc, DatabaseBusy):
        return
    try:
        with write_session(settings) as session:
            audit.record(session, actor=settings.actor, action="scan.import.refused",
                         subject=f"file:{path.name}",
                         payload={"unit": unit_code, "file": str(path), "error": exc.message},
                         at=settings.now())
    except DatabaseBusy:
        exc.hint = (exc.hint or "") + "\n" + _(
            "(The refusal could not be written to the audit trail: the database was busy.)")


def _read(settings: Settings, path: Path, unit_code: str, batch_size: int,
          progress: ProgressFn | None) -> tuple[FileRead, int]:
    today = settings.today()
    with read_session(settings) as session:
        unit = get_unit(session, unit_code)
        assert unit.id is not None
        cidrs = [s.cidr for s in list_scopes(session, unit_code=unit.code, today=today,
                                             include_sub_units=False)
                 if s.state.value == "active"]
    size = path.stat().st_size
    read = read_file(path, cidrs, batch_size=batch_size, progress=None if progress is None
                     else lambda done, _hosts: progress("read", done, size))
    if read.in_scope == 0:
        read.batches.close()
        raise _nothing_in_scope(settings, read, unit.code)
    return read, unit.id


def _nothing_in_scope(settings: Settings, read: FileRead, unit: str) -> ImportRefused:
    if read.hosts_read == 0:
        return ImportRefused(
            _("{file} lists no host; nothing was imported").format(file=read.path),
            hint=_("nmap lists the hosts it found up (and down ones only with -v or "
                   "--reason): import the output of a scan that found something."))
    with read_session(settings) as session:
        others = units_containing(session, read.outside, today=settings.today(),
                                  exclude=unit)
    message = ngettext("the {n} host in {file} is outside {unit}'s active scopes; nothing "
                       "was imported", "none of the {n} hosts in {file} lies in {unit}'s "
                       "active scopes; nothing was imported", read.hosts_read).format(
        n=read.hosts_read, file=read.path, unit=unit)
    if others:
        listed = ", ".join(_("{u} ({n} of them)").format(u=code, n=n) for code, n in others[:5])
        hint = _("Authorised for {units}: did you mean --unit {first}?").format(
            units=listed, first=others[0][0])
    else:
        hint = _("No unit's active scopes hold those addresses: `garrison scope list` "
                 "shows what is authorised.")
    return ImportRefused(message, hint=hint)


def _epoch_time(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _start(settings: Settings, read: FileRead, unit_code: str, unit_id: int,
           texts: list[Any]) -> tuple[int, NewerRuns, datetime]:
    now = settings.now()
    observed = _epoch_time(read.run.start) or _epoch_time(read.first_time) or now
    with write_session(settings) as session:
        sync_rules(session, texts, now=now)
        run = start_run(session, unit_id=unit_id, unit_code=unit_code, kind=RunKind.import_,
                        profile="import", targets=[], request={"file": str(read.path)},
                        command=f"garrison scan import {read.path} --unit {unit_code}",
                        actor=settings.actor, now=now, source_file=str(read.path),
                        hosts_total=read.in_scope,
                        batches_total=-(-read.in_scope // read.batches.size))
        assert run.id is not None
        run.observed_at = observed
        run.observed_until = _epoch_time(read.last_time) or observed
        run.coverage = coverage_json(compact_addresses(read.covered), read.run.ports)
        run.hosts_skipped = read.hosts_outside
        run.nmap_version, run.source_sha256 = read.run.version, read.sha256
        run.request = {**run.request, "nmap_args": read.run.args,
                       "complete": read.run.complete}
        session.add(run)
        earliest = min(filter(None, (_epoch_time(read.first_time), observed)))
        history = NewerRuns.load(session, unit_id=unit_id, after=earliest,
                                 exclude_run=run.id, now=now)
        return run.id, history, observed


def _store(settings: Settings, read: FileRead, unit_code: str, unit_id: int,
           rule_pack: tuple[RuleSet, list[Any]], ss: ScannerSettings,
           progress: ProgressFn | None) -> ImportReport:
    rules, texts = rule_pack
    run_id, history, observed = _start(settings, read, unit_code, unit_id, texts)
    report = ImportReport(run_id, unit_code, str(read.path), read.sha256,
                          hosts_read=read.hosts_read, hosts_skipped=read.hosts_outside,
                          complete=read.run.complete, nmap_version=read.run.version,
                          observed_at=observed.isoformat())
    store = _Batches(settings, run_id, unit_id, unit_code, rules, ss, observed, history,
                     coverage_of(read.run))
    try:
        with sigterm_interrupts():
            for batch in read.batches:
                store.write(batch, report)
                if progress is not None:
                    progress("store", report.hosts_stored, read.in_scope)
    except KeyboardInterrupt as exc:
        how = _("terminated (SIGTERM)") if isinstance(exc, Terminated) else _(
            "interrupted (Ctrl-C)")
        mark_interrupted(settings, run_id, reason=lambda run: _(
            "{how} after storing {done} of {total} hosts; import the file again to "
            "complete it").format(how=how, done=run.hosts_done, total=read.in_scope))
        raise
    except Exception as exc:
        mark_failed(settings, run_id, exc.message if isinstance(exc, GarrisonError) else repr(exc))
        raise
    return _finish(settings, run_id, read, report)


class _Batches:
    """Writes the batches of one import, each in its own transaction."""

    def __init__(self, settings: Settings, run_id: int, unit_id: int, unit_code: str,
                 rules: RuleSet, ss: ScannerSettings, observed: datetime, history: NewerRuns,
                 coverage: Coverage) -> None:
        self.settings, self.run_id, self.unit_id, self.unit_code = (settings, run_id, unit_id,
                                                                    unit_code)
        self.rules, self.ss, self.observed, self.history = rules, ss, observed, history
        self.coverage = coverage
        self.policy = settings_policy(settings)
        self.ports: PortCache | None = None
        self.bulk_state: dict[str, dict[str, int]] = {"inserted": {}, "analysed": {}}
        """Rows inserted and tables analysed so far, across the batches' transactions:
        PostgreSQL's statistics are refreshed as tables double (``Bulk.keep_statistics``),
        not at every batch."""

    def write(self, batch: list[Any], report: ImportReport) -> None:
        with write_session(self.settings) as session:
            for key, counts in self.bulk_state.items():
                session.info[f"garrison.bulk.{key}"] = counts
            run = session.get(ScanRun, self.run_id)
            assert run is not None
            ingestor = Ingestor(session, run_id=self.run_id, unit_id=self.unit_id,
                                unit_code=self.unit_code, rules=self.rules,
                                coverage=self.coverage, now=self.settings.now(),
                                actor=self.settings.actor, policy=self.policy,
                                missed_threshold=self.ss.missed_runs,
                                observed_at=self.observed, host_times=True,
                                history=self.history or None, ports=self.ports)
            self.ports = ingestor.ports  # what each distinct port means, worked out once
            result = ingestor.ingest(batch, ())
            add_counts(run, hosts=result.hosts, up=result.hosts_up, services=result.services,
                       changes=result.changes, findings=result.findings)
            run.batches_done += 1
            if result.older:
                run.counts = {**run.counts, "older_hosts": run.counts.get("older_hosts", 0)
                              + len(result.older)}
            session.add(run)
        _tally(report, result)





def _tally(report: ImportReport, result: BatchResult) -> None:
    report.hosts_stored += result.hosts
    report.hosts_up += result.hosts_up
    report.services += result.services
    report.older_total += len(result.older)
    room = OLDER_SHOWN - len(report.older)
    report.older.extend(_older_json(o) for o in result.older[:max(0, room)])


def _older_json(o: OlderHost) -> dict[str, Any]:
    return {"address": o.address, "observed": o.observed.isoformat(),
            "newer_run": o.run_id, "newer_observed": o.newest.isoformat()}


def _finish(settings: Settings, run_id: int, read: FileRead, report: ImportReport
            ) -> ImportReport:
    arrived: list[int] = []
    with signals_deferred(arrived), write_session(settings) as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        run.batches_total = run.batches_done
        finish(session, run, status=ScanStatus.done, actor=settings.actor, now=settings.now(),
               error=None if read.run.complete else _(
                   "the file ends before nmap finished (an interrupted scan)"))
        report.counts = dict(run.counts)
    report.signal_ignored = bool(arrived)
    return report
