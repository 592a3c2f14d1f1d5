"""Host discovery: which approved addresses have a live host behind them.

Discovery takes an :class:`garrison.scope.Approval`, never raw targets, so every
packet goes to an address the scope guard allowed. ``ScapyDiscovery`` sends

- an ARP request to each address on a directly attached IPv4 Ethernet segment;
- otherwise an ICMP echo request, then a TCP SYN to ports 80 and 443 for the
  addresses that have not answered yet (a SYN-ACK or a RST both mean "up");
- on loopback (``127.0.0.0/8``, ``::1``), where ARP is impossible, the same ICMP and
  TCP probes through raw layer-3 sockets.

Packets are paced to the rate asked for, never above the approval's ``rate_cap``.
Addresses without a route, broadcast addresses and this machine's own addresses
(outside loopback) are not probed and so never reported.
Scapy is imported only inside :meth:`ScapyDiscovery.discover`, so importing this
module stays cheap for the CLI. Sending raw packets needs root (or ``CAP_NET_RAW``);
without it :class:`DiscoveryError` says so and what to do instead.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from garrison.i18n import _
from scanner.discovery.answers import _Answers as _Answers
from scanner.discovery.answers import _match
from scanner.discovery.base import (
    DEFAULT_RATE,
    MAX_DISCOVERY_ADDRESSES,
    METHOD_ARP,
    METHOD_ICMP,
    METHOD_TCP_SYN,
    TCP_PING_PORTS,
    DiscoveredHost,
    DiscoveryBackend,
    DiscoveryError,
    IPAddress,
)
from scanner.discovery.probes import (
    _DRAIN_S,
    _arp_request,
    _echo_request,
    _effective_rate,
    _grow_receive_buffer,
    _Layers,
    _load_scapy,
    _open_socket,
    _Pacer,
    _receive,
    _syn,
)
from scanner.discovery.routes import _attached as _attached
from scanner.discovery.routes import _plan, _Target, attached_interface
from scanner.discovery.routes import _read_routes as _read_routes

if TYPE_CHECKING:
    from garrison.scope import Approval

# ``_Answers``, ``_attached`` and ``_read_routes`` are re-exported for the tests.
# ScapyDiscovery lives here, not in a submodule, so that it calls ``_load_scapy``
# through this package: tests patch ``scanner.discovery._load_scapy``.

__all__ = [
    "DEFAULT_RATE",
    "MAX_DISCOVERY_ADDRESSES",
    "METHOD_ARP",
    "METHOD_ICMP",
    "METHOD_TCP_SYN",
    "TCP_PING_PORTS",
    "DiscoveredHost",
    "DiscoveryBackend",
    "DiscoveryError",
    "IPAddress",
    "ScapyDiscovery",
    "attached_interface",
]

_log = logging.getLogger(__name__)


class ScapyDiscovery(DiscoveryBackend):
    """ARP on a directly attached IPv4 segment; ICMP echo and TCP SYN ping (to 80 and
    443) otherwise; loopback handled through raw layer-3 sockets.

    ``icmp`` and ``tcp_ports`` choose the layer-3 probes; ``default_rate`` is the
    pace (packets per second) when neither the caller nor the approval sets one.
    """

    def __init__(self, *, icmp: bool = True, tcp_ports: tuple[int, ...] = TCP_PING_PORTS,
                 default_rate: int = DEFAULT_RATE) -> None:
        if not icmp and not tcp_ports:
            raise ValueError("ScapyDiscovery needs ICMP or at least one TCP port")
        if default_rate <= 0:
            raise ValueError("default_rate must be positive")
        self.icmp = icmp
        self.tcp_ports = tuple(tcp_ports)
        self.default_rate = default_rate
        self.packets_sent = 0
        """How many packets the last ``discover`` sent (for reports and tests)."""

    def discover(self, approval: Approval, *, timeout: float = 2.0,
                 rate: int | None = None) -> list[DiscoveredHost]:
        from garrison.scope import Approval

        if not isinstance(approval, Approval):
            raise TypeError("discover() takes an Approval from garrison.scope.authorize")
        if approval.size > MAX_DISCOVERY_ADDRESSES:
            raise DiscoveryError(
                _("Discovery refuses {n} addresses at once (at most {max}).").format(
                    n=approval.size, max=MAX_DISCOVERY_ADDRESSES),
                hint=_("Ask the guard for smaller ranges (a /16 or less) and discover them "
                       "one after another."),
            )
        if rate is not None and rate <= 0:
            raise DiscoveryError(
                _("The rate must be a positive number of packets per second, not {rate}.")
                .format(rate=rate),
                hint=_("Give a rate of 1 or more, or leave it out to use {default} (or the "
                       "scope's max_rate).").format(default=self.default_rate),
            )
        if timeout < 0:
            raise DiscoveryError(
                _("The timeout must not be negative ({t} s).").format(t=timeout),
                hint=_("Give the number of seconds to wait for answers, e.g. 2."),
            )
        self.packets_sent = 0
        pps = _effective_rate(rate, approval.rate_cap, self.default_rate)
        addresses = (ipaddress.ip_address(str(a)) for a in approval.addresses)
        targets = [t for t in _plan(addresses) if approval.contains(str(t.address))]
        if not targets:
            return []
        layers = _load_scapy()
        return self._run(layers, targets, timeout=timeout, pps=pps)

    # -- the probing run

    def _probes(self, layers: _Layers, targets: list[_Target],
                answers: _Answers) -> Iterator[tuple[_Target, str, int, Callable[[], Any]]]:
        """Probes in rounds: ARP, then ICMP, then one TCP port at a time.

        Each comes as a builder, so a probe whose target has already answered is
        skipped without the cost of building it (see ``_run``).
        """
        arp = [t for t in targets if t.socket_key.startswith("arp:")]
        l3 = [t for t in targets if not t.socket_key.startswith("arp:")]
        for t in arp:
            yield t, METHOD_ARP, 0, partial(_arp_request, layers, t)
        if self.icmp:
            for seq, t in enumerate(l3):
                yield t, METHOD_ICMP, 0, partial(_echo_request, layers, t, answers.icmp_id,
                                                 seq & 0xFFFF)
        for port in self.tcp_ports:
            for t in l3:
                yield t, METHOD_TCP_SYN, port, partial(_syn, layers, t, answers.sport, port)

    def _run(self, layers: _Layers, targets: list[_Target], *, timeout: float,
             pps: int) -> list[DiscoveredHost]:
        answers = _Answers(pending={t.address for t in targets},
                           icmp_id=random.getrandbits(16),
                           sport=random.randint(40_000, 59_999),
                           ports=self.tcp_ports)
        arp_targets: dict[str, set[IPAddress]] = {}
        for t in targets:
            if t.socket_key.startswith("arp:"):
                arp_targets.setdefault(t.socket_key, set()).add(t.address)
        sockets: dict[str, Any] = {}
        stop = threading.Event()
        receiver: threading.Thread | None = None
        try:
            for key in dict.fromkeys(t.socket_key for t in targets):
                sockets[key] = _open_socket(layers, key)
                _grow_receive_buffer(sockets[key])
            receiver = threading.Thread(
                target=_receive, name="garrison-discovery-rx", daemon=True,
                args=(sockets, stop,
                      lambda key, pkt: _match(layers, key, pkt, answers, arp_targets)))
            receiver.start()
            pacer = _Pacer(pps)
            errors: list[OSError] = []
            for target, method, port, build in self._probes(layers, targets, answers):
                if answers.is_found(target.address):
                    continue
                pacer.wait()
                if answers.is_found(target.address):
                    continue  # answered while this probe waited for its slot
                pkt = build()
                answers.mark_sent(target.address, method, port)
                try:
                    sockets[target.socket_key].send(pkt)
                except OSError as exc:
                    # The sockets are open, so this is not our permission: the interface
                    # is down, the address unreachable, or a local firewall said EPERM.
                    errors.append(exc)
                    continue
                self.packets_sent += 1
            if errors and not self.packets_sent:
                raise DiscoveryError(
                    _("No discovery probe could be sent: {err}").format(err=errors[0]),
                    hint=_("Check that the interfaces towards the targets are up and "
                           "that no local firewall drops outgoing packets."),
                )
            answers.all_found.wait(timeout)
        finally:
            stop.set()
            if receiver is not None:
                receiver.join(timeout=_DRAIN_S + 1)
            for sock in sockets.values():
                try:
                    sock.close()
                except OSError:
                    pass
        _log.debug("discovery: %d packets to %d addresses, %d answered",
                   self.packets_sent, len(targets), len(answers.found))
        return answers.hosts()
