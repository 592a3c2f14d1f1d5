"""Fast membership of many addresses in a set of CIDRs (imports check every host).

Kept free of the database stack so a parser process can import it cheaply.
"""

from __future__ import annotations

import bisect
import ipaddress
import socket
from collections.abc import Sequence
from typing import Literal

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
        where = self.locate(address)
        return where[0] if where else None

    def locate(self, address: str) -> tuple[str, int, int] | None | Literal[False]:
        """``(normalised text, IP version, integer value)`` when inside; ``None`` when a
        valid address lies outside; ``False`` when it is not an IPv4 or IPv6 address."""
        parsed = parse_address(address)
        if parsed is None:
            return False
        text, version, value = parsed
        lows = self._lows[version]
        i = bisect.bisect_right(lows, value) - 1
        if i >= 0 and value <= self._highs[version][i]:
            return parsed
        return None


def parse_address(address: str) -> tuple[str, int, int] | None:
    """``(normalised text, version, integer)`` of an IPv4 or IPv6 address, or None.

    Dotted-decimal IPv4 goes through the C library's ``inet_pton``, as strict as
    ``ipaddress`` (no leading zeros, no short or hex forms) and ten times faster: an
    import checks every host's address. Anything else is left to ``ipaddress``."""
    try:
        packed = socket.inet_pton(socket.AF_INET, address)
    except OSError:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return ip.compressed, ip.version, int(ip)
    return address, 4, int.from_bytes(packed, "big")
