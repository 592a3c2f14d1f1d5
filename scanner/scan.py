"""``garrison scan run``: guard, plan, then scan in batches that are stored as they finish.

The order is the safety story: the request is validated, the scope guard approves
every target (or the command stops before any process starts), only then is a
scanner back-end constructed. A scan is a plain, serialisable ``ScanRequest`` run by
``run_scan``, which does not care who called it (the CLI now, a queue agent later).
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import netaddr
from pydantic import BaseModel, ConfigDict, Field

from garrison.db import read_session, write_session
from garrison.errors import GarrisonError
from garrison.findings.rules import RuleText, sync_rules
from garrison.findings.sla import settings_policy
from garrison.i18n import _
from garrison.matcher import ScopeMatcher
from garrison.models import RunKind, ScanRun, ScanStatus
from garrison.org.queries import get_unit
from garrison.scope import Approval, ScopeState, authorize, list_scopes
from garrison.settings import Settings
from garrison.signals import Terminated, sigterm_interrupts
from scanner.backends import NmapScanner, PortScanner, ScanError
from scanner.history import merge_coverage
from scanner.inventory import Coverage, Ingestor
from scanner.nmap_xml import HostResult, NmapXmlReader
from scanner.privilege import raw_sockets_allowed
from scanner.profiles import (
    Profile,
    ProfileError,
    check_rate,
    get_profile,
    nmap_arguments,
    technique,
)
from scanner.rules import RuleSet, load_rules
from scanner.rules.loader import rule_texts
from scanner.runs import (
    add_counts,
    finish,
    mark_failed,
    mark_interrupted,
    recover_stale_runs,
    start_run,
)
from scanner.settings import ScannerSettings


class ScanRequest(BaseModel):
    """Everything a scan needs; stored with the run so an agent could run it again."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str
    """The unit whose authorised scopes bound the scan."""
    targets: list[str] | None = None
    """Addresses, CIDRs, ranges or hostnames; default: the unit's active scopes."""
    profile: str = "quick"
    """A named profile (see ``garrison scan profiles``)."""
    rate: int | None = Field(default=None, ge=1, le=100_000)
    """Packets per second at most (the scopes' own caps apply too)."""
    resolve: bool = False
    """Reverse DNS for hosts found (slow where the resolver is unreachable)."""
    batch_size: int | None = Field(default=None, ge=1, le=65_536)
    """Addresses per nmap run; default from settings (1024)."""
    parallel: int | None = Field(default=None, ge=1, le=8)
    """nmap runs at a time (each batch is a disjoint set of hosts); a rate cap is shared
    between them. Default from settings (2)."""
    technique: Literal["syn", "connect"] | None = None
    """Force SYN (raw packets, needs CAP_NET_RAW) or connect scans; default: SYN when the
    process holds CAP_NET_RAW, connect otherwise."""


@dataclass(frozen=True)
class Batch:
    targets: tuple[str, ...]
    """CIDRs handed to the scanner."""
    ipv6: bool
    size: int

    def addresses(self) -> Iterator[str]:
        for cidr in self.targets:
            for ip in netaddr.IPNetwork(cidr):
                yield str(ip)


@dataclass(frozen=True)
class ScanPlan:
    request: ScanRequest
    approval: Approval
    profile: Profile
    technique: str
    privileged: bool
    rate: int | None
    """Packets per second for the whole scan (shared by the parallel runs)."""
    batches: tuple[Batch, ...]
    arguments: dict[bool, list[str]]
    """ipv6? -> nmap arguments (with each run's share of the rate)."""
    parallel: int = 1

    @property
    def size(self) -> int:
        return sum(b.size for b in self.batches)


@dataclass
class ScanReport:
    run_id: int
    unit: str
    profile: str
    technique: str
    status: ScanStatus
    hosts_total: int
    hosts_done: int = 0
    hosts_up: int = 0
    services: int = 0
    batches_done: int = 0
    batches_total: int = 0
    counts: dict[str, int] = field(default_factory=dict)


ProgressFn = Callable[[int, int], None]
"""(addresses done, addresses total)"""


def choose_technique(wanted: str | None) -> bool:
    """Raw packets (SYN) or not (connect): by what the process may do (``CAP_NET_RAW``),
    or as ``--technique`` asks; asking for SYN without the capability is refused."""
    raw = raw_sockets_allowed()
    if wanted == "syn" and not raw:
        raise ProfileError(
            _("a SYN scan sends raw packets, which needs the CAP_NET_RAW capability; this "
              "process does not have it (user {user})").format(user=_user()),
            hint=_("Use --technique connect, or run Garrison with CAP_NET_RAW (as root with "
                   "the capability, `setcap cap_net_raw+ep`, or systemd "
                   "AmbientCapabilities=CAP_NET_RAW)."))
    return raw if wanted is None else wanted == "syn"


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def default_targets(settings: Settings, unit_code: str) -> list[str]:
    with read_session(settings) as session:
        scopes = list_scopes(session, unit_code=unit_code, include_sub_units=False,
                             today=settings.today())
    active = [s.cidr for s in scopes if s.state is ScopeState.active]
    if not active:
        raise GarrisonError(
            _("{unit} has no active authorised scope to scan").format(unit=unit_code),
            hint=_("`garrison scope list --unit {u}` shows its scopes and their dates.").format(
                u=unit_code))
    return active


def make_batches(addresses: netaddr.IPSet, size: int) -> list[Batch]:
    batches: list[Batch] = []
    for version in (4, 6):
        current: list[str] = []
        count = 0
        for cidr in addresses.iter_cidrs():
            if cidr.version != version:
                continue
            bits = 0
            while (cidr.size >> bits) > size:
                bits += 1
            pieces = list(cidr.subnet(cidr.prefixlen + bits)) if bits else [cidr]
            for piece in pieces:
                if count and count + piece.size > size:
                    batches.append(Batch(tuple(current), version == 6, count))
                    current, count = [], 0
                current.append(str(piece))
                count += int(piece.size)
        if current:
            batches.append(Batch(tuple(current), version == 6, count))
    return batches


def plan_scan(settings: Settings, request: ScanRequest,
              scanner_settings: ScannerSettings | None = None) -> ScanPlan:
    """Validate and guard a request. Sends nothing; a refused target raises here."""
    ss = scanner_settings or ScannerSettings()
    profile = get_profile(request.profile)
    check_rate(request.rate)
    with read_session(settings) as session:
        get_unit(session, request.unit)  # unknown unit: a clear error, before anything else
    targets = request.targets or default_targets(settings, request.unit)
    approval = authorize(settings, unit_code=request.unit, targets=targets)
    if approval.size > ss.max_addresses:
        raise GarrisonError(
            _("the scan covers {n} addresses; the limit is {max}").format(
                n=approval.size, max=ss.max_addresses),
            hint=_("Scan a smaller range, or raise GARRISON_MAX_ADDRESSES deliberately."))
    privileged = choose_technique(request.technique)
    caps = [c for c in (request.rate, approval.rate_cap) if c is not None]
    rate = min(caps) if caps else None
    batches = make_batches(approval.addresses, request.batch_size or ss.batch_size)
    parallel = max(1, min(request.parallel or ss.scan_parallel, len(batches) or 1))
    if profile.discovery and privileged:
        parallel = 1  # scapy probes from this process
    if rate is not None:
        parallel = min(parallel, rate)  # every run needs at least one packet a second
    share = None if rate is None else rate // parallel
    arguments = {v6: nmap_arguments(profile, privileged=privileged, resolve=request.resolve,
                                    rate=share, ipv6=v6) for v6 in (False, True)}
    return ScanPlan(request, approval, profile, technique(profile, privileged=privileged),
                    privileged, rate, tuple(batches), arguments, parallel)


def run_scan(settings: Settings, plan: ScanPlan, *, scanner: PortScanner | None = None,
             scanner_settings: ScannerSettings | None = None,
             progress: ProgressFn | None = None) -> ScanReport:
    ss = scanner_settings or ScannerSettings()
    rules, loaded = load_rules(ss.rules_dir)
    recover_stale_runs(settings)
    use_scapy = plan.profile.discovery and plan.privileged
    if scanner is None and not use_scapy:
        scanner = NmapScanner(ss.nmap)
    run_id, unit_id = _start(settings, plan, scanner, rule_texts(loaded))
    report = ScanReport(run_id, plan.request.unit, plan.profile.name, plan.technique,
                        ScanStatus.running, plan.size, batches_total=len(plan.batches))
    base = Coverage(ports={}, version_detection=plan.profile.version_detection,
                    scripts=bool(plan.profile.scripts))
    matcher = ScopeMatcher(plan.approval.cidrs())  # results outside the approval are dropped
    try:
        with sigterm_interrupts():  # `kill` stops nmap and marks the run, as Ctrl-C does
            for batch, (hosts, coverage) in _batches_done(plan, scanner, base):
                hosts = [h._replace(address=a) for h in hosts
                         if (a := matcher.match(h.address)) is not None]
                _store_batch(settings, report, unit_id, rules, coverage, batch, hosts, ss)
                if progress is not None:
                    progress(report.hosts_done, report.hosts_total)
    except KeyboardInterrupt as exc:
        how = _("terminated (SIGTERM)") if isinstance(exc, Terminated) else _(
            "interrupted (Ctrl-C)")
        mark_interrupted(settings, run_id, reason=_(
            "{how} after {done} of {total} batches; those are stored").format(
                how=how, done=report.batches_done, total=report.batches_total))
        raise
    except GarrisonError as exc:
        mark_failed(settings, run_id, exc.message)
        raise
    except Exception as exc:
        mark_failed(settings, run_id, repr(exc))
        raise
    with write_session(settings) as session:
        run = session.get(ScanRun, run_id)
        assert run is not None
        finish(session, run, status=ScanStatus.done, actor=settings.actor, now=settings.now())
        report.status, report.counts = ScanStatus.done, dict(run.counts)
    return report


def _batches_done(plan: ScanPlan, scanner: PortScanner | None, coverage: Coverage
                  ) -> Iterator[tuple[Batch, tuple[list[HostResult], Coverage]]]:
    """Run up to ``plan.parallel`` batches at once; yield results in batch order.

    The scans run in worker threads (each waits on its own nmap process); results are
    stored by the caller, on this thread, one transaction per batch. On Ctrl-C or an
    error the running nmap processes are stopped before the exception goes on.
    """
    pending: deque[tuple[Batch, Future[tuple[list[HostResult], Coverage]]]] = deque()
    todo = iter(plan.batches)
    with ThreadPoolExecutor(max_workers=plan.parallel, thread_name_prefix="nmap") as pool:
        try:
            for batch in todo:
                pending.append((batch, pool.submit(_scan_batch, plan, batch, scanner,
                                                   coverage)))
                if len(pending) >= plan.parallel:
                    break
            while pending:
                batch, future = pending.popleft()
                result = future.result()
                following = next(todo, None)
                if following is not None:
                    pending.append((following, pool.submit(_scan_batch, plan, following,
                                                           scanner, coverage)))
                yield batch, result
        except BaseException:
            for _batch, future in pending:
                future.cancel()
            if scanner is not None:
                scanner.stop()
            raise


def _start(settings: Settings, plan: ScanPlan, scanner: PortScanner | None,
           rules: list[RuleText]) -> tuple[int, int]:
    first = plan.batches[0] if plan.batches else Batch((), False, 0)
    command = (" ".join(scanner.command(first.targets, plan.arguments[first.ipv6]))
               if scanner is not None else f"scapy discovery ({plan.technique})")
    with write_session(settings) as session:
        now = settings.now()
        sync_rules(session, rules, now=now)
        unit = get_unit(session, plan.request.unit)
        assert unit.id is not None
        run = start_run(session, unit_id=unit.id, unit_code=unit.code, kind=RunKind.scan,
                        profile=plan.profile.name, targets=plan.approval.cidrs(),
                        request=plan.request.model_dump(), command=command,
                        actor=settings.actor, now=now, technique=plan.technique,
                        nmap_version=scanner.version if scanner is not None else None,
                        hosts_total=plan.size, batches_total=len(plan.batches))
        assert run.id is not None
        return run.id, unit.id


def _scan_batch(plan: ScanPlan, batch: Batch, scanner: PortScanner | None,
                coverage: Coverage) -> tuple[list[HostResult], Coverage]:
    if scanner is None:
        return _discover(plan, batch), coverage
    xml = scanner.scan(batch.targets, plan.arguments[batch.ipv6])
    reader = NmapXmlReader(io.BytesIO(xml), name=f"nmap output ({', '.join(batch.targets)})")
    hosts = list(reader.hosts())
    if not reader.run.complete:
        raise ScanError(_("nmap's output for {t} was cut short").format(
            t=", ".join(batch.targets)))
    return hosts, Coverage(ports=dict(reader.run.ports),
                           version_detection=coverage.version_detection,
                           scripts=coverage.scripts)


def _discover(plan: ScanPlan, batch: Batch) -> list[HostResult]:
    from scanner.discovery import ScapyDiscovery

    sub = plan.approval.restricted_to(batch.targets)
    found = ScapyDiscovery().discover(sub, rate=plan.rate)
    return [HostResult(h.address, 6 if ":" in h.address else 4, "up", h.method, h.mac)
            for h in found]


def _store_batch(settings: Settings, report: ScanReport, unit_id: int, rules: RuleSet,
                 coverage: Coverage, batch: Batch, hosts: Sequence[HostResult],
                 ss: ScannerSettings) -> None:
    with write_session(settings) as session:
        run = session.get(ScanRun, report.run_id)
        assert run is not None
        now = settings.now()
        ingestor = Ingestor(session, run_id=report.run_id, unit_id=unit_id,
                            unit_code=report.unit, rules=rules, coverage=coverage,
                            now=now, actor=settings.actor, policy=settings_policy(settings),
                            missed_threshold=ss.missed_runs)
        result = ingestor.ingest(hosts, batch.addresses())
        add_counts(run, hosts=batch.size, up=result.hosts_up, services=result.services,
                   changes=result.changes, findings=result.findings)
        run.batches_done += 1
        # what the run has looked at so far, and until when (an older import defers to it)
        run.coverage = merge_coverage(run.coverage, batch.targets, coverage.ports)
        run.observed_until = now
        session.add(run)
    report.hosts_done += batch.size
    report.hosts_up += result.hosts_up
    report.services += result.services
    report.batches_done += 1
