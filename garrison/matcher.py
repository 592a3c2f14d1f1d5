"""Fast membership of many addresses in a set of CIDRs (imports check every host).

Kept free of the database stack so a parser process can import it cheaply.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Sequence

import netaddr


class ScopeMatcher:
    """``match`` parses an address once and returns its normalised text when it is
    inside the CIDRs, else None: one parse and one binary search per address."""

    def __init__(self, cidrs: Sequence[str]) -> None:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for cidr in netaddr.IPSet(cidrs).iter_cidrs():
            spans[cidr.version].append((int(cidr.first), int(cidr.last)))
        self.cidrs = list(cidrs)
        self._lows = {v: [lo for lo, _hi in sorted(s)] for v, s in spans.items()}
        self._highs = {v: [hi for _lo, hi in sorted(s)] for v, s in spans.items()}

    def match(self, address: str) -> str | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        value, lows = int(ip), self._lows[ip.version]
        i = bisect.bisect_right(lows, value) - 1
        if i >= 0 and value <= self._highs[ip.version][i]:
            return ip.compressed
        return None
