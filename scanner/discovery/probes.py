"""Sending and receiving: pacing, scapy (imported lazily), probe packets, raw sockets."""

from __future__ import annotations

import logging
import random
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from garrison.i18n import _
from scanner.discovery.base import DiscoveryError
from scanner.discovery.routes import _Target

_POLL_S = 0.05
_DRAIN_S = 2.0
_RECEIVE_BUFFER = 8 * 1024 * 1024

_log = logging.getLogger("scanner.discovery")  # the package's logger, as before the split


def _effective_rate(rate: int | None, cap: int | None, default: int) -> int:
    chosen = [r for r in (rate, cap) if r is not None]
    return min(chosen) if chosen else default


class _Pacer:
    """Keeps at least ``1/rate`` seconds between packets, with no catch-up bursts."""

    def __init__(self, rate: int) -> None:
        self.interval = 1.0 / rate
        self.last: float | None = None

    def wait(self) -> None:
        now = time.monotonic()
        if self.last is not None and self.last + self.interval > now:
            time.sleep(self.last + self.interval - now)
            now = time.monotonic()
        self.last = now


@dataclass(frozen=True)
class _Layers:
    Ether: Any
    ARP: Any
    IP: Any
    ICMP: Any
    TCP: Any
    IPv6: Any
    ICMPv6EchoRequest: Any
    ICMPv6EchoReply: Any
    conf: Any
    L3RawSocket: Any
    L3RawSocket6: Any


def _load_scapy() -> _Layers:
    """Import scapy quietly (it is slow to import and chatty by default)."""
    for name in ("scapy", "scapy.runtime", "scapy.loading"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from scapy.config import conf
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
    from scapy.layers.l2 import ARP, Ether
    from scapy.supersocket import L3RawSocket, L3RawSocket6

    conf.verb = 0
    logging.getLogger("scapy.interactive").setLevel(logging.ERROR)
    return _Layers(Ether, ARP, IP, ICMP, TCP, IPv6, ICMPv6EchoRequest, ICMPv6EchoReply,
                   conf, L3RawSocket, L3RawSocket6)


def _arp_request(layers: _Layers, t: _Target) -> Any:
    return (layers.Ether(dst="ff:ff:ff:ff:ff:ff", src=t.mac)
            / layers.ARP(op=1, hwsrc=t.mac, psrc=t.source, pdst=str(t.address)))


def _echo_request(layers: _Layers, t: _Target, ident: int, seq: int) -> Any:
    if t.address.version == 4:
        return layers.IP(src=t.source, dst=str(t.address)) / layers.ICMP(
            type=8, id=ident, seq=seq)
    return layers.IPv6(src=t.source, dst=str(t.address)) / layers.ICMPv6EchoRequest(
        id=ident, seq=seq)


def _syn(layers: _Layers, t: _Target, sport: int, dport: int) -> Any:
    ip_layer = layers.IP if t.address.version == 4 else layers.IPv6
    # The source is explicit: the TCP checksum covers it (the kernel fills in only
    # the IP header of a raw packet).
    return ip_layer(src=t.source, dst=str(t.address)) / layers.TCP(
        sport=sport, dport=dport, flags="S", seq=random.getrandbits(32))


def _permission_error(exc: OSError) -> DiscoveryError:
    return DiscoveryError(
        _("Host discovery needs raw-socket permission, which this process does not have "
          "({err}).").format(err=exc.strerror or exc),
        hint=_("Run it as root (or give the Python interpreter CAP_NET_RAW), or use the "
               "'quick' profile, which finds hosts with nmap connect scans and needs no "
               "special permission."),
    )


def _open_socket(layers: _Layers, key: str) -> Any:
    try:
        if key.startswith("arp:"):
            iface = key.removeprefix("arp:")
            return layers.conf.L2socket(iface=iface, type=0x0806, promisc=False)
        if key == "l3:lo":
            return layers.L3RawSocket(iface=layers.conf.loopback_name)
        if key == "l3:any":
            # The kernel routes what it sends; it listens on every interface, since the
            # answer comes back through whichever one the route uses.
            return layers.L3RawSocket()
        return layers.L3RawSocket6()
    except PermissionError as exc:
        raise _permission_error(exc) from exc
    except (OSError, ValueError) as exc:
        raise DiscoveryError(
            _("Cannot open a capture socket for {what}: {err}").format(what=key, err=exc),
            hint=_("Check that the network interface exists and is up, then try again."),
        ) from exc


def _receive(sockets: dict[str, Any], stop: threading.Event,
             handle: Callable[[str, Any], None]) -> None:
    """Hand every packet to ``handle`` until ``stop``, then drain what is queued.

    Draining matters when answers arrive faster than they are decoded: an answer
    that arrived in time is counted even if it was read after the timeout.
    """
    key_of = {id(sock): key for key, sock in sockets.items()}
    objects = list(sockets.values())
    drain_until: float | None = None
    while True:
        if drain_until is None and stop.is_set():
            drain_until = time.monotonic() + _DRAIN_S
        try:
            ready, _w, _x = select.select(objects, [], [],
                                          0 if drain_until is not None else _POLL_S)
        except (OSError, ValueError):
            return  # a socket was closed under us: we are stopping
        if drain_until is not None and (not ready or time.monotonic() > drain_until):
            return
        for sock in ready:
            try:
                pkt = sock.recv()
            except OSError:
                continue
            if pkt is None:
                continue
            try:
                handle(key_of[id(sock)], pkt)
            except Exception:  # a packet scapy dissected oddly must not stop the capture
                _log.debug("ignoring an undecodable packet", exc_info=True)


def _grow_receive_buffer(sock: Any) -> None:
    """Room for a burst of answers while the decoder catches up."""
    ins = getattr(sock, "ins", None)
    if ins is None:
        return
    for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            ins.setsockopt(socket.SOL_SOCKET, option, _RECEIVE_BUFFER)
            return
        except OSError:
            continue
