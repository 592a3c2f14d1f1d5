"""Matching captured packets to our probes and collecting the answers per address."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from scanner.discovery.base import (
    _PREFERENCE,
    METHOD_ARP,
    METHOD_ICMP,
    METHOD_TCP_SYN,
    DiscoveredHost,
    IPAddress,
)


@dataclass
class _Answers:
    """Answers collected by the receiving thread, keyed by the probed address."""

    pending: set[IPAddress]
    icmp_id: int
    sport: int
    ports: tuple[int, ...]
    sent: dict[tuple[IPAddress, str, int], float] = field(default_factory=dict)
    found: dict[IPAddress, dict[str, tuple[str | None, float | None]]] = field(
        default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    all_found: threading.Event = field(default_factory=threading.Event)

    def mark_sent(self, address: IPAddress, method: str, port: int) -> None:
        with self.lock:
            # clock-ok: compared with the packets' own capture stamps (epoch seconds)
            self.sent[(address, method, port)] = time.time()

    def is_found(self, address: IPAddress) -> bool:
        with self.lock:
            return address in self.found

    def record(self, address: IPAddress, method: str, port: int, mac: str | None,
               when: Any) -> None:
        with self.lock:
            sent_at = self.sent.get((address, method, port))
            if sent_at is None:
                return  # not (yet) probed: not an answer of ours
            rtt: float | None = None
            try:
                rtt = max(0.0, (float(when) - sent_at) * 1000.0)
            except (TypeError, ValueError):
                rtt = None
            methods = self.found.setdefault(address, {})
            if method not in methods:
                methods[method] = (mac, rtt)
            if len(self.found) >= len(self.pending):
                self.all_found.set()

    def hosts(self) -> list[DiscoveredHost]:
        with self.lock:
            out = []
            for address, methods in self.found.items():
                method = min(methods, key=_PREFERENCE.__getitem__)
                mac, rtt = methods[method]
                out.append((address, DiscoveredHost(str(address), mac, method,
                                                    None if rtt is None else round(rtt, 3))))
        out.sort(key=lambda item: (item[0].version, int(item[0])))
        return [host for _address, host in out]


def _match(layers: Any, key: str, pkt: Any, answers: _Answers,
           arp_targets: dict[str, set[IPAddress]]) -> None:
    """Record ``pkt`` if it answers one of our probes from a probed address."""
    when = getattr(pkt, "time", None)
    if key.startswith("arp:"):
        if not pkt.haslayer(layers.ARP):
            return
        arp = pkt[layers.ARP]
        if int(arp.op) != 2:
            return
        try:
            src = ipaddress.ip_address(arp.psrc)
        except ValueError:
            return
        if src in arp_targets.get(key, ()):
            answers.record(src, METHOD_ARP, 0, str(arp.hwsrc).lower(), when)
        return
    if pkt.haslayer(layers.IP):
        ip = pkt[layers.IP]
        icmp_reply = pkt.haslayer(layers.ICMP) and int(pkt[layers.ICMP].type) == 0 \
            and int(pkt[layers.ICMP].id) == answers.icmp_id
    elif pkt.haslayer(layers.IPv6):
        ip = pkt[layers.IPv6]
        icmp_reply = pkt.haslayer(layers.ICMPv6EchoReply) \
            and int(pkt[layers.ICMPv6EchoReply].id) == answers.icmp_id
    else:
        return
    try:
        src = ipaddress.ip_address(ip.src)
    except ValueError:
        return
    if src not in answers.pending:
        return
    if icmp_reply:
        answers.record(src, METHOD_ICMP, 0, None, when)
        return
    if pkt.haslayer(layers.TCP):
        tcp = pkt[layers.TCP]
        flags = int(tcp.flags)
        syn_ack = flags & 0x12 == 0x12
        rst = bool(flags & 0x04)
        if int(tcp.dport) == answers.sport and int(tcp.sport) in answers.ports \
                and (syn_ack or rst):
            answers.record(src, METHOD_TCP_SYN, int(tcp.sport), None, when)
