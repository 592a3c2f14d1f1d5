"""Port selections for profiles: nmap's most common ports plus high-risk services.

nmap's ``--top-ports 1000`` leaves out Redis (6379), MongoDB (27017), the Docker API
(2375), memcached (11211) and etcd (2379): rare on the internet at large, common and
dangerous inside a bureau. Profiles therefore scan the top N ports *and*
``RISKY_PORTS``, read from nmap's own ``nmap-services`` frequency table so the
selection matches what ``--top-ports`` would pick.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

#: High-risk service ports always included (databases, caches, container and
#: cluster APIs, consoles).
RISKY_PORTS: tuple[int, ...] = (
    21, 22, 23, 445, 1433, 1883, 2375, 2376, 2379, 3306, 3389, 5432, 5601, 5900, 5984,
    6379, 6443, 8086, 9200, 9300, 10250, 11211, 27017, 27018, 50070,
)

_DATA_DIRS = ("/usr/share/nmap", "/usr/local/share/nmap", "/opt/homebrew/share/nmap")


def services_file(nmap: str = "nmap") -> Path | None:
    candidates = [Path(d) / "nmap-services" for d in _DATA_DIRS]
    binary = shutil.which(nmap)
    if binary:
        candidates.insert(0, Path(binary).resolve().parent.parent / "share" / "nmap" /
                          "nmap-services")
    return next((p for p in candidates if p.is_file()), None)


@functools.lru_cache(maxsize=8)
def top_ports(count: int, protocol: str = "tcp", path: Path | None = None) -> tuple[int, ...]:
    """The ``count`` most frequent ports of ``protocol`` in nmap-services, sorted."""
    source = path or services_file()
    if source is None:
        return ()
    ranked: list[tuple[float, int]] = []
    suffix = "/" + protocol
    with source.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) < 3 or not fields[1].endswith(suffix):
                continue
            try:
                ranked.append((-float(fields[2]), int(fields[1].split("/")[0])))
            except ValueError:
                continue
    ranked.sort()
    return tuple(sorted(port for _freq, port in ranked[:count]))


def compress(ports: set[int] | tuple[int, ...]) -> str:
    """``1,2,3,5`` -> ``1-3,5``."""
    out: list[str] = []
    ordered = sorted(set(ports))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def port_arguments(top: int) -> tuple[str, ...]:
    """``-p`` for the top ``top`` TCP ports plus the risky ones (``--top-ports`` if the
    frequency table cannot be found)."""
    ports = top_ports(top)
    if not ports:
        return ("--top-ports", str(top))
    return ("-p", compress(set(ports) | set(RISKY_PORTS)))
