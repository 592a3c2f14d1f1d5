"""ScanRun bookkeeping: start, progress, finish, interrupt, and crash recovery."""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from garrison import audit
from garrison.db import write_session
from garrison.i18n import _
from garrison.models import RunKind, ScanRun, ScanStatus
from garrison.settings import Settings
from scanner.procs import pid_alive


def start_run(session: Session, *, unit_id: int, unit_code: str, kind: RunKind, profile: str,
              targets: list[str], request: dict[str, Any], command: str, actor: str,
              now: datetime, technique: str | None = None, nmap_version: str | None = None,
              source_file: str | None = None, hosts_total: int = 0,
              batches_total: int = 0) -> ScanRun:
    run = ScanRun(unit_id=unit_id, kind=kind, profile=profile, targets=targets,
                  request=request, command=command, actor=actor, technique=technique,
                  nmap_version=nmap_version, source_file=source_file, hosts_total=hosts_total,
                  batches_total=batches_total, pid=os.getpid(), hostname=socket.gethostname(),
                  started_at=now, observed_at=now)
    session.add(run)
    session.flush()
    audit.record(session, actor=actor, action=f"scan.{kind.value}.started",
                 subject=f"run:{run.id}",
                 payload={"unit": unit_code, "profile": profile, "targets": targets[:50],
                          "targets_total": len(targets), "command": command,
                          "file": source_file}, at=now)
    return run


def add_counts(run: ScanRun, *, hosts: int, up: int, services: int, changes: Counter[str],
               findings: Counter[str]) -> None:
    run.hosts_done += hosts
    run.hosts_up += up
    run.services_seen += services
    merged = Counter(run.counts)
    merged.update({f"change.{k}": v for k, v in changes.items()})
    merged.update({f"finding.{k}": v for k, v in findings.items()})
    run.counts = dict(merged)


def finish(session: Session, run: ScanRun, *, status: ScanStatus, actor: str,
           now: datetime, error: str | None = None) -> None:
    run.status = status
    run.finished_at = now
    run.error = error
    session.add(run)
    audit.record(session, actor=actor, action=f"scan.{run.kind.value}.{status.value}",
                 subject=f"run:{run.id}",
                 payload={"hosts_done": run.hosts_done, "hosts_up": run.hosts_up,
                          "services": run.services_seen, "batches_done": run.batches_done,
                          "batches_total": run.batches_total, "counts": run.counts,
                          "error": error}, at=now)


def mark_interrupted(settings: Settings, run_id: int, *,
                     reason: str | Callable[[ScanRun], str]) -> None:
    """Record that a run stopped early (Ctrl-C, a crash), keeping the batches it stored.
    ``reason`` may be worked out from the run as stored (what was committed, not what
    the interrupted process believed)."""
    with write_session(settings) as session:
        run = session.get(ScanRun, run_id)
        if run is not None and run.status is ScanStatus.running:
            finish(session, run, status=ScanStatus.interrupted, actor=settings.actor,
                   now=settings.now(), error=reason if isinstance(reason, str) else reason(run))


def mark_failed(settings: Settings, run_id: int, message: str) -> None:
    """Record that a run failed (nmap died, a batch could not be stored)."""
    with write_session(settings) as session:
        run = session.get(ScanRun, run_id)
        if run is not None and run.status is ScanStatus.running:
            finish(session, run, status=ScanStatus.failed, actor=settings.actor,
                   now=settings.now(), error=message)


def recover_stale_runs(settings: Settings) -> list[int]:
    """Runs left ``running`` by a process of this host that no longer exists: interrupted."""
    here = socket.gethostname()
    recovered = []
    with write_session(settings) as session:
        runs = session.exec(select(ScanRun).where(
            col(ScanRun.status) == ScanStatus.running, col(ScanRun.hostname) == here)).all()
        for run in runs:
            if run.pid is not None and run.pid != os.getpid() and not pid_alive(run.pid):
                finish(session, run, status=ScanStatus.interrupted, actor=settings.actor,
                       now=settings.now(),
                       error=_("the process running it (pid {pid}) ended without finishing "
                               "it; batches done before are stored").format(pid=run.pid))
                assert run.id is not None
                recovered.append(run.id)
    return recovered
