"""Swappable scanning back-ends behind small interfaces (pip-audit style).

``PortScanner`` runs a port/service scan of guard-approved targets and returns
nmap XML. The real one, ``NmapScanner``, finds and checks the nmap binary with
python-nmap, then runs nmap in a process it owns: python-nmap's own ``scan()``
keeps no handle on the child (Ctrl-C would leave nmap running), holds the whole
output in memory and drops CPEs and script data, so execution and parsing are ours.
Tests use fake implementations of these interfaces, not mocks of nmap.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence

from garrison.errors import GarrisonError
from garrison.i18n import _


class ScanError(GarrisonError):
    """The scanner could not run or failed; the message says why."""


class PortScanner(ABC):
    """Runs one batch: targets (CIDR strings from an Approval) and profile arguments."""

    @property
    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def command(self, targets: Sequence[str], arguments: Sequence[str]) -> list[str]:
        """The exact command line that ``scan`` will run (for --dry-run and the record)."""

    @abstractmethod
    def scan(self, targets: Sequence[str], arguments: Sequence[str], *,
             timeout: float | None = None) -> bytes:
        """Run and return nmap XML. May be called from several threads at once."""

    def stop(self) -> None:  # noqa: B027 - optional: back-ends with processes override it
        """Stop every scan still running (Ctrl-C while batches run in parallel)."""


class NmapScanner(PortScanner):
    def __init__(self, nmap: str = "nmap") -> None:
        import nmap as python_nmap

        path = shutil.which(nmap)
        if path is None:
            raise ScanError(_("nmap not found ({nmap!r})").format(nmap=nmap),
                            hint=_("Install it (apt-get install nmap) or set GARRISON_NMAP."))
        try:
            probe = python_nmap.PortScanner(nmap_search_path=(path,))
        except python_nmap.PortScannerError as exc:
            raise ScanError(_("{path} does not work as nmap: {err}").format(path=path, err=exc),
                            hint=_("Check the nmap installation or GARRISON_NMAP.")) from exc
        self.path = path
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        major, minor = probe.nmap_version()
        self._version = f"{major}.{minor:02d}" if minor < 100 else f"{major}.{minor}"

    @property
    def version(self) -> str:
        return self._version

    def command(self, targets: Sequence[str], arguments: Sequence[str]) -> list[str]:
        return nmap_command(self.path, targets, arguments)

    def scan(self, targets: Sequence[str], arguments: Sequence[str], *,
             timeout: float | None = None) -> bytes:
        argv = self.command(targets, arguments)
        # Own session: a terminal Ctrl-C reaches us, and we stop nmap ourselves. If we die
        # without a chance to (kill -9, OOM), the kernel kills nmap: see _dies_with_us.
        proc = subprocess.Popen(_dies_with_us(argv), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        with self._lock:
            self._running.add(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            _stop(proc)
            raise
        finally:
            with self._lock:
                self._running.discard(proc)
        if proc.returncode < 0:
            raise ScanError(_("nmap was stopped (signal {sig})").format(sig=-proc.returncode))
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip().splitlines()
            raise ScanError(_("nmap exited with status {code}: {err}").format(
                code=proc.returncode, err=detail[-1] if detail else "?"))
        return out


    def stop(self) -> None:
        with self._lock:
            running = list(self._running)
        for proc in running:
            _stop(proc)


def _dies_with_us(argv: list[str]) -> list[str]:
    """Run ``argv`` so that it is killed when Garrison dies, however it dies.

    ``setpriv --pdeathsig KILL`` (util-linux) sets PR_SET_PDEATHSIG, then execs nmap:
    when the thread that started it ends -- Garrison killed with SIGKILL included -- the
    kernel sends nmap SIGKILL, so no scan runs on orphaned. (``preexec_fn`` could set it
    too, but is unsafe in a process with threads, and scans run in worker threads.)
    Without setpriv nmap runs as before; a clean stop still stops it (``stop``)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return argv
    return [setpriv, "--pdeathsig", "KILL", "--", *argv]


def nmap_command(path: str, targets: Sequence[str], arguments: Sequence[str]) -> list[str]:
    """The argv for one batch: XML to stdout, and ``--`` so no target is read as an option."""
    return [path, *arguments, "-oX", "-", "--", *targets]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=3)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
