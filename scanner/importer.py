"""``garrison scan import``: ingest nmap XML produced elsewhere, in one transaction.

An import is one user action: the whole file is stored or nothing is. Hosts are
streamed and written in batches inside that transaction (constant memory); hosts
outside the unit's active scopes are counted and skipped. A file cut short by an
interrupted nmap is accepted (its complete hosts are stored and the run says the
file was incomplete); a malformed, hostile or non-nmap file stores nothing and the
failure itself is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from garrison import audit
from garrison.db import write_session
from garrison.errors import GarrisonError
from garrison.findings.rules import sync_rules
from garrison.findings.sla import settings_policy
from garrison.i18n import _
from garrison.models import RunKind, ScanStatus
from garrison.org.queries import get_unit
from garrison.scope import unit_matcher
from garrison.settings import Settings
from scanner.inventory import Coverage, Ingestor
from scanner.nmap_xml import HostResult, RunInfo
from scanner.parse_worker import Progress, in_scope_batches, parse_in_child
from scanner.pipeline import gc_paused
from scanner.rules import RuleSet, load_rules
from scanner.rules.loader import LoadedRule, rule_texts
from scanner.runs import add_counts, finish, start_run
from scanner.settings import ScannerSettings

CHILD_PARSE_BYTES = 8 * 1024 * 1024
"""Files at least this big are parsed in a child process (the start-up costs ~0.2 s)."""

ProgressFn = Callable[[int, int, int], None]
"""(bytes read, total bytes, hosts read)"""


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
    counts: dict[str, int] = field(default_factory=dict)


def coverage_of(run: RunInfo) -> Coverage:
    args = (run.args or "").split()
    scripts = any(a.startswith("--script") or a in ("-sC", "-A") for a in args)
    return Coverage(ports=dict(run.ports), version_detection=run.version_detection,
                    scripts=scripts)


def import_xml(settings: Settings, *, path: Path, unit_code: str,
               scanner_settings: ScannerSettings | None = None, batch_size: int = 2000,
               progress: ProgressFn | None = None) -> ImportReport:
    ss = scanner_settings or ScannerSettings()
    rules, loaded = load_rules(ss.rules_dir)
    if not path.is_file():
        raise GarrisonError(_("{file}: no such file").format(file=path),
                            hint=_("Give the path of an XML file written by nmap -oX."))
    try:
        return _import(settings, path, unit_code, (rules, loaded), ss, batch_size, progress)
    except GarrisonError as exc:
        _audit_failure(settings, path, unit_code, exc)
        raise


def _audit_failure(settings: Settings, path: Path, unit_code: str, exc: GarrisonError) -> None:
    with write_session(settings) as session:
        audit.record(session, actor=settings.actor, action="scan.import.refused",
                     subject=f"file:{path.name}",
                     payload={"unit": unit_code, "file": str(path), "error": exc.message},
                     at=settings.now())


def _batches(path: Path, cidrs: list[str], size: int
             ) -> Iterator[tuple[list[HostResult], Progress]]:
    """Parse in a child process for big files (parsing and writing then overlap)."""
    if path.stat().st_size >= CHILD_PARSE_BYTES:
        yield from parse_in_child(path, cidrs, size)
        return
    progress = Progress()
    for batch in in_scope_batches(path, cidrs, size, progress):
        yield batch, progress
    yield [], progress


def _import(settings: Settings, path: Path, unit_code: str,
            rule_pack: tuple[RuleSet, list[LoadedRule]], ss: ScannerSettings, batch_size: int,
            progress_fn: ProgressFn | None) -> ImportReport:
    rules, loaded = rule_pack
    total = path.stat().st_size
    with write_session(settings) as session:
        now = settings.now()
        sync_rules(session, rule_texts(loaded), now=now)
        unit = get_unit(session, unit_code)
        assert unit.id is not None
        matcher = unit_matcher(session, unit, today=settings.today())
        run = start_run(session, unit_id=unit.id, unit_code=unit.code, kind=RunKind.import_,
                        profile="import", targets=[], request={"file": str(path)},
                        command=f"garrison scan import {path} --unit {unit.code}",
                        actor=settings.actor, now=now, source_file=str(path))
        assert run.id is not None
        ingestor: Ingestor | None = None
        progress = Progress()
        with gc_paused():
            for batch, progress in _batches(path, matcher.cidrs, batch_size):
                if not batch:
                    continue
                if ingestor is None:  # the coverage is known once <scaninfo> was read
                    ingestor = Ingestor(session, run_id=run.id, unit_id=unit.id,
                                        unit_code=unit.code, rules=rules,
                                        coverage=coverage_of(progress.run), now=now,
                                        actor=settings.actor,
                                        policy=settings_policy(settings),
                                        missed_threshold=ss.missed_runs)
                result = ingestor.ingest(batch, ())
                add_counts(run, hosts=result.hosts, up=result.hosts_up,
                           services=result.services, changes=result.changes,
                           findings=result.findings)
                run.batches_done += 1
                if progress_fn is not None:
                    progress_fn(progress.bytes_read, total, progress.hosts_read)
        info = progress.run
        run.hosts_skipped, run.hosts_total = progress.hosts_skipped, progress.hosts_read
        run.nmap_version, run.source_sha256 = info.version, progress.sha256
        run.batches_total = run.batches_done
        run.request = {**run.request, "nmap_args": info.args, "complete": info.complete}
        finish(session, run, status=ScanStatus.done, actor=settings.actor, now=settings.now(),
               error=None if info.complete else _("the file ends before nmap finished "
                                                  "(an interrupted scan)"))
        return ImportReport(
            run_id=run.id, unit=unit.code, file=str(path), sha256=progress.sha256,
            hosts_read=progress.hosts_read, hosts_stored=run.hosts_done,
            hosts_up=run.hosts_up, hosts_skipped=progress.hosts_skipped,
            services=run.services_seen, complete=info.complete, nmap_version=info.version,
            counts=dict(run.counts))
