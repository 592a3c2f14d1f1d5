"""Read a whole nmap file for an import before anything is written.

An import must be strict: one host whose address is not an IPv4 or IPv6 address
rejects the whole file (with that host's line), and a file with no host inside the
unit's scopes writes no run at all. Both are known only at the end of the file, so
the file is read completely first, then stored in short transactions
(``scanner.importer``) -- other writers get the database in between.

Reading keeps what storing needs and no more: the in-scope hosts (identical ports,
the same service on many machines, are shared rather than copied: 393,216 ports of a
65,536-host file become a handful of objects), the addresses the file covered, the
observation times, and the file's SHA-256. Hosts are batched in the order of their
address text (``HostBatches``); beyond ``SPILL_AFTER`` hosts they go to a temporary file,
so memory stays bounded however big the file is.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import netaddr

from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.matcher import ScopeMatcher
from scanner.nmap_xml import HostResult, NmapXmlReader, RunInfo

SPILL_AFTER = 100_000
"""In-scope hosts kept in memory; each further group is pickled to a temporary file."""
MAX_BAD_SHOWN = 20

ReadProgress = Callable[[int, int], None]
"""(bytes read, hosts read)"""


class _HashingFile:
    """Reads a file once, hashing what it reads (the prolog check re-reads the start)."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("rb")
        self._digest = hashlib.sha256()
        self._hashed_upto = 0
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        end = self.position + len(data)
        if end > self._hashed_upto:
            self._digest.update(data[self._hashed_upto - self.position:])
            self._hashed_upto = end
        self.position = end
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self._handle.seek(offset, whence)
        return self.position

    def finish(self) -> str:
        while self.read(1 << 20):
            pass
        self._handle.close()
        return self._digest.hexdigest()


class HostBatches:
    """In-scope hosts in batches of ``size``, in the order of their address text.

    That order is the order of the indexes the hosts' rows go into (the asset's unit and
    address, the findings' fingerprints ``rule|unit|address|...``): each batch's rows
    then land in neighbouring index pages, so a commit rewrites far fewer of them (the
    store phase of the bench's import costs 12-15% less than in file order). Up to
    ``spill_after`` hosts are held in memory; each further group of as many is sorted
    and pickled to a temporary file, so memory stays bounded however big the file is."""

    def __init__(self, size: int, spill_after: int = SPILL_AFTER) -> None:
        self.size, self.spill_after = size, spill_after
        self.count = 0
        self._hosts: list[HostResult] = []
        self._batches: list[list[HostResult]] = []
        self._spill: IO[bytes] | None = None
        self._spilled = 0

    def add(self, host: HostResult) -> None:
        self._hosts.append(host)
        self.count += 1
        if len(self._hosts) >= self.spill_after:
            self._write_out(self._cut())

    def _cut(self) -> list[list[HostResult]]:
        self._hosts.sort(key=_by_address)
        hosts, self._hosts = self._hosts, []
        return [hosts[i:i + self.size] for i in range(0, len(hosts), self.size)]

    def _write_out(self, batches: list[list[HostResult]]) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="garrison-import-")
        for batch in batches:
            pickle.dump(batch, self._spill, protocol=pickle.HIGHEST_PROTOCOL)
            self._spilled += 1

    def seal(self) -> None:
        self._batches = self._cut()

    def __iter__(self) -> Iterator[list[HostResult]]:
        if self._spill is not None:
            self._spill.seek(0)
            for _n in range(self._spilled):
                yield pickle.load(self._spill)  # noqa: S301 - our own temp file
        yield from self._batches

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


def _by_address(host: HostResult) -> str:
    return host.address


@dataclass
class FileRead:
    """What an import learnt from reading its file."""

    path: Path
    run: RunInfo
    batches: HostBatches
    sha256: str = ""
    hosts_read: int = 0
    outside: netaddr.IPSet = field(default_factory=netaddr.IPSet)
    """Valid addresses outside the unit's scopes (counted, not stored)."""
    covered: dict[int, list[int]] = field(default_factory=lambda: {4: [], 6: []})
    """Every in-scope address the file lists (up or down), by IP version, as integers:
    the run's coverage (``compact_addresses``)."""
    first_time: int | None = None
    last_time: int | None = None
    """Earliest host start and latest host end (epoch seconds), if the file says."""

    @property
    def in_scope(self) -> int:
        return self.batches.count

    @property
    def hosts_outside(self) -> int:
        return self.hosts_read - self.in_scope


def read_file(path: Path, cidrs: list[str], *, batch_size: int,
              progress: ReadProgress | None = None) -> FileRead:
    """Parse the whole file: the in-scope hosts (normalised addresses, shared ports) or a
    ``DocumentError`` naming every host whose address is not an IP address."""
    source = _HashingFile(path)
    reader = NmapXmlReader(source, name=str(path))  # type: ignore[arg-type]
    result = FileRead(path, reader.run, HostBatches(batch_size))
    locate = ScopeMatcher(cidrs).locate
    bad: list[tuple[int, str]] = []
    outside: list[str] = []
    covered = result.covered
    try:
        # (the reader already shares equal ports: one object per distinct port)
        for host in reader.hosts():
            result.hosts_read += 1
            address = host.address
            where = locate(address) if address else False
            if where is False:
                bad.append((result.hosts_read, address))
            elif where is None:
                outside.append(address)
            elif not bad:
                text, version, value = where
                covered[version].append(value)
                _keep(result, host if text == address else host._replace(address=text))
            if progress is not None and result.hosts_read % 2048 == 0:
                progress(source.position, result.hosts_read)
        result.sha256 = source.finish()
    except BaseException:
        result.batches.close()
        raise
    if bad:
        result.batches.close()
        raise DocumentError(_bad_addresses(path, bad), hint=_(
            "Nothing was imported. nmap writes only IP addresses: the file was edited or "
            "is not nmap output; fix or remove those hosts and import it again."))
    result.batches.seal()
    result.outside = netaddr.IPSet(outside)
    if progress is not None:
        progress(source.position, result.hosts_read)
    return result


def _keep(result: FileRead, host: HostResult) -> None:
    result.batches.add(host)
    start, end = host.starttime, host.endtime or host.starttime
    if start is not None and (result.first_time is None or start < result.first_time):
        result.first_time = start
    if end is not None and (result.last_time is None or end > result.last_time):
        result.last_time = end


def _bad_addresses(path: Path, bad: list[tuple[int, str]]) -> list[Problem]:
    """One problem per bad host, at its line (found by looking for its address)."""
    lines = _address_lines(path, {address for _n, address in bad[:MAX_BAD_SHOWN]})
    problems = []
    seen: dict[str, int] = {}
    for ordinal, address in bad[:MAX_BAD_SHOWN]:
        found = lines.get(address, [])
        index = seen.get(address, 0)
        seen[address] = index + 1
        line = found[index] if index < len(found) else None
        what = (_("host {n} has no address").format(n=ordinal) if not address else
                _("host {n}: {a!r} is not an IPv4 or IPv6 address").format(n=ordinal,
                                                                          a=address))
        problems.append(Problem(str(path), line, what))
    if len(bad) > MAX_BAD_SHOWN:
        problems.append(Problem(str(path), None, _("... and {n} more hosts like these").format(
            n=len(bad) - MAX_BAD_SHOWN)))
    return problems


_ADDR = re.compile(rb"""<address\s[^>]*?addr\s*=\s*(["'])(.*?)\1""")


def _address_lines(path: Path, wanted: set[str]) -> dict[str, list[int]]:
    """Line numbers of ``<address addr=...>`` elements whose value is in ``wanted``
    (read only when a file is rejected, so its cost never burdens a good import)."""
    from xml.sax.saxutils import unescape

    out: dict[str, list[int]] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if b"addr" not in raw:
                continue
            for match in _ADDR.finditer(raw):
                value = unescape(match.group(2).decode("utf-8", "replace"),
                                 {"&quot;": '"', "&apos;": "'"})
                if value in wanted:
                    out.setdefault(value, []).append(number)
    return out
