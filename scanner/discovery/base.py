"""What discovery promises: its constants, :class:`DiscoveredHost`, the backend interface."""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from garrison.errors import GarrisonError

if TYPE_CHECKING:
    from garrison.scope import Approval

MAX_DISCOVERY_ADDRESSES = 65_536
"""Discovery refuses approvals holding more addresses than this (write smaller requests)."""

DEFAULT_RATE = 1_000
"""Packets per second when neither the caller nor the approval sets a rate."""

TCP_PING_PORTS = (80, 443)

METHOD_ARP = "arp"
METHOD_ICMP = "icmp"
METHOD_TCP_SYN = "tcp-syn"
_PREFERENCE = {METHOD_ARP: 0, METHOD_ICMP: 1, METHOD_TCP_SYN: 2}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class DiscoveredHost:
    """A host that answered a discovery probe."""

    address: str
    mac: str | None
    """Lower-case ``02:00:00:00:07:01`` style, from an ARP reply; None otherwise."""
    method: str
    """``arp``, ``icmp`` or ``tcp-syn``: how the host answered."""
    rtt_ms: float | None


class DiscoveryError(GarrisonError):
    """Discovery could not run: no raw-socket permission, a vanished interface, bad options."""


class DiscoveryBackend(ABC):
    """Finds the live hosts among the addresses of an approval."""

    @abstractmethod
    def discover(self, approval: Approval, *, timeout: float = 2.0,
                 rate: int | None = None) -> list[DiscoveredHost]:
        """Probe the approved addresses; return the hosts that answered, sorted by address.

        ``timeout`` is how long to wait for answers after the last probe; ``rate`` is
        packets per second, never above ``approval.rate_cap``.
        """
