"""Parse nmap XML in a child process while the parent writes to the database.

An import has two halves that each want a CPU: parsing 100 MB of XML, and writing
a million rows. A thread does not help (the parser holds the GIL); a process does.
The child reads the file (hashing it as it goes), keeps only hosts inside the
unit's scopes, and sends batches of ``HostResult`` tuples through a pipe; the
parent stores each batch as it arrives. The child imports no database code, so it
starts in a fraction of a second.

Messages from the child (pickles on its stdout), in order: ``("batch", new ports,
hosts, progress)`` any number of times, then ``("done", progress)`` or ``("error",
message, hint)``. Ports repeat across hosts (the same service on many machines), so
each distinct ``PortResult`` crosses the pipe once and hosts refer to it by number:
58 MB of pickles become a few.
"""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garrison.matcher import ScopeMatcher
from scanner.nmap_xml import HostResult, NmapXmlError, NmapXmlReader, PortResult, RunInfo


@dataclass
class Progress:
    bytes_read: int = 0
    hosts_read: int = 0
    hosts_skipped: int = 0
    run: RunInfo = field(default_factory=RunInfo)
    sha256: str = ""


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


def in_scope_batches(path: Path, cidrs: list[str], size: int, progress: Progress
                     ) -> Iterator[list[HostResult]]:
    """In-scope hosts (addresses normalised) in lists of ``size``; counts the others."""
    source = _HashingFile(path)
    reader = NmapXmlReader(source, name=str(path))  # type: ignore[arg-type]
    progress.run = reader.run
    matcher = ScopeMatcher(cidrs)
    batch: list[HostResult] = []
    limit = min(size, 250)  # a small first batch: the writer starts sooner
    for host in reader.hosts():
        progress.hosts_read += 1
        address = matcher.match(host.address) if host.address else None
        if address is None:
            progress.hosts_skipped += 1
            continue
        batch.append(host._replace(address=address))
        if len(batch) >= limit:
            progress.bytes_read = source.position
            yield batch
            batch, limit = [], size
    progress.bytes_read = source.position
    if batch:
        yield batch
    progress.sha256 = source.finish()


def _child(path: str, cidrs: list[str], size: int) -> None:
    gc.disable()  # millions of acyclic tuples; see scanner.pipeline
    out = sys.stdout.buffer
    progress = Progress()
    table: dict[PortResult, int] = {}
    try:
        for batch in in_scope_batches(Path(path), cidrs, size, progress):
            new: list[PortResult] = []
            packed = [(h._replace(ports=()), [_intern(p, table, new) for p in h.ports])
                      for h in batch]
            pickle.dump(("batch", new, packed, progress), out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(("done", progress), out, protocol=pickle.HIGHEST_PROTOCOL)
    except NmapXmlError as exc:
        pickle.dump(("error", exc.message, exc.hint), out)
    except OSError as exc:
        pickle.dump(("error", f"{path}: {exc.strerror or exc}", None), out)
    out.flush()


def _intern(port: PortResult, table: dict[PortResult, int], new: list[PortResult]) -> int:
    """Ports repeat across hosts: each distinct one is sent once, then by number."""
    number = table.get(port)
    if number is None:
        number = table[port] = len(table)
        new.append(port)
    return number


def parse_in_child(path: Path, cidrs: list[str], size: int
                   ) -> Iterator[tuple[list[HostResult], Progress]]:
    """Yield (batch, progress) from a child process; the last progress has the hash.

    The child is a plain ``python -m scanner.parse_worker`` (not multiprocessing, whose
    spawn would re-run the caller's main script) talking pickles over its stdout.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner.parse_worker", str(path), str(size), json.dumps(cidrs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    ports: list[PortResult] = []
    try:
        while True:
            try:
                message: tuple[Any, ...] = pickle.load(proc.stdout)
            except EOFError:
                proc.wait(5)
                detail = proc.stderr.read().decode(errors="replace").strip().splitlines() \
                    if proc.stderr else []
                raise NmapXmlError(
                    f"{path}: the parser process ended unexpectedly (exit code "
                    f"{proc.returncode}: {detail[-1] if detail else '?'})") from None
            kind = message[0]
            if kind == "batch":
                ports.extend(message[1])
                yield [h._replace(ports=tuple([ports[i] for i in ids]))
                       for h, ids in message[2]], message[3]
            elif kind == "done":
                yield [], message[1]
                return
            else:
                raise NmapXmlError(message[1], hint=message[2])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()


if __name__ == "__main__":
    # Run the module's own copy, so pickled classes are named scanner.parse_worker.*
    from scanner import parse_worker

    parse_worker._child(sys.argv[1], json.loads(sys.argv[3]), int(sys.argv[2]))
