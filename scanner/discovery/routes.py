"""Where each address is reached: the routing table and interfaces (read from /proc and
/sys, nothing sent), and the plan that gives every address its source and socket.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scanner.discovery.base import IPAddress

_LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
_PROC_ROUTE = Path("/proc/net/route")
_SYS_NET = Path("/sys/class/net")
_RTF_UP = 0x0001
_RTF_GATEWAY = 0x0002
_RTF_REJECT = 0x0200
_ARPHRD_ETHER = 1
_IFF_NOARP = 0x80


@dataclass(frozen=True)
class _Route:
    iface: str
    network: ipaddress.IPv4Network
    gateway: bool
    reject: bool
    metric: int


def _read_routes(path: Path = _PROC_ROUTE) -> list[_Route]:
    """The IPv4 main routing table of this network namespace (empty where unavailable)."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return []
    routes: list[_Route] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            dest, flags, metric, mask = (int(fields[1], 16), int(fields[3], 16),
                                         int(fields[6]), int(fields[7], 16))
        except ValueError:
            continue
        if not flags & _RTF_UP:
            continue
        # The kernel prints the big-endian words as native integers.
        dest_ip = socket.inet_ntoa(struct.pack("=I", dest))
        mask_ip = socket.inet_ntoa(struct.pack("=I", mask))
        try:
            network = ipaddress.IPv4Network(f"{dest_ip}/{mask_ip}")
        except ValueError:
            continue
        routes.append(_Route(fields[0], network, bool(flags & _RTF_GATEWAY),
                             bool(flags & _RTF_REJECT), metric))
    return routes


def _arp_capable(iface: str) -> bool:
    """An Ethernet-like interface that does ARP (not loopback, tun, wireguard, NOARP)."""
    base = _SYS_NET / iface
    try:
        kind = int((base / "type").read_text().strip())
        flags = int((base / "flags").read_text().strip(), 16)
    except (OSError, ValueError):
        return False
    return kind == _ARPHRD_ETHER and not flags & _IFF_NOARP


def _attached(address: ipaddress.IPv4Address, routes: list[_Route],
              capable: Callable[[str], bool] = _arp_capable) -> str | None:
    matches = [r for r in routes if address in r.network]
    if not matches:
        return None
    best = max(matches, key=lambda r: (r.network.prefixlen, -r.metric))
    if best.gateway or best.reject or best.network.prefixlen == 0 or best.iface == "lo":
        return None
    return best.iface if capable(best.iface) else None


def attached_interface(address: str) -> str | None:
    """The interface whose directly attached IPv4 network contains ``address``.

    None when the address is reached through a gateway, is not IPv4, is on
    loopback or on an interface without ARP. Reads the routing table only; sends
    nothing.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if not isinstance(parsed, ipaddress.IPv4Address) or parsed in _LOOPBACK_V4:
        return None
    return _attached(parsed, _read_routes())


class _SourceFinder:
    """The source address the kernel would use towards an address (None: no route).

    Connecting a UDP socket only looks the route up; nothing is sent.
    """

    def __init__(self) -> None:
        self._sockets: dict[int, socket.socket] = {}

    def __call__(self, address: IPAddress) -> str | None:
        sock = self._sockets.get(address.version)
        if sock is None:
            family = socket.AF_INET if address.version == 4 else socket.AF_INET6
            try:
                sock = self._sockets[address.version] = socket.socket(family, socket.SOCK_DGRAM)
            except OSError:
                return None  # no IPv6 on this host
        try:
            sock.connect((str(address), 9))
        except OSError:
            return None
        return str(sock.getsockname()[0])

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()


def _interface_mac(iface: str) -> str | None:
    try:
        return (_SYS_NET / iface / "address").read_text().strip().lower() or None
    except OSError:
        return None


@dataclass
class _Target:
    address: IPAddress
    source: str
    socket_key: str
    """Which socket sends to it: ``arp:<iface>``, ``l3:lo``, ``l3:any`` or ``l3v6``."""
    mac: str | None = None
    """The local interface MAC, for ARP targets."""


def _plan(addresses: Iterator[IPAddress]) -> list[_Target]:
    routes = _read_routes()
    source_for = _SourceFinder()
    targets: list[_Target] = []
    try:
        for address in addresses:
            source = source_for(address)
            if source is None:
                continue  # no route (or a broadcast address): no host to find
            if ipaddress.ip_address(source) == address and not address.is_loopback:
                continue  # this machine's own address: nothing to discover
            if address.version == 6:
                targets.append(_Target(address, source, "l3v6"))
                continue
            assert isinstance(address, ipaddress.IPv4Address)
            if address in _LOOPBACK_V4:
                targets.append(_Target(address, source, "l3:lo"))
                continue
            iface = _attached(address, routes)
            mac = _interface_mac(iface) if iface else None
            if iface and mac:
                targets.append(_Target(address, source, f"arp:{iface}", mac))
            else:
                targets.append(_Target(address, source, "l3:any"))
    finally:
        source_for.close()
    return targets
