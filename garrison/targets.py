"""Parse scan targets strictly, so the scope guard judges exactly what nmap would scan.

Accepted: dotted-decimal IPv4, IPv6, CIDRs of either, nmap-style IPv4 octet ranges
(``127.0.1.1-20``, ``127.0.1-2.*``, ``127.0.1.1,3,5``) and hostnames, which are
resolved here so the addresses scanned are the addresses judged.

Refused, because the operating system or nmap may read them differently from a
human (or from us): integer, octal, hex and short-form IPv4 (``2130706433``,
``0177.0.0.1``, ``0x7f.1``, ``127.1``), IPv6 forms that embed an IPv4 address
(``::ffff:10.0.0.1``, NAT64, 6to4, Teredo), zone ids, anything starting with ``-``
(an option in disguise), and characters nmap treats specially.

This module never sends a packet; hostname resolution goes through a resolver the
caller can replace.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

import netaddr

from garrison.i18n import _

MAX_RANGE_ADDRESSES = 65_536
RESOLVE_TIMEOUT_S = 5.0
MIN_SCOPE_PREFIX = {4: 8, 6: 32}

Resolver = Callable[[str], Sequence[str]]

_ALLOWED = re.compile(r"^[A-Za-z0-9.:/*,\-]+$")
_OCTET_SPEC = re.compile(r"^(\*|\d{1,3}(-\d{1,3})?)(,(\d{1,3}(-\d{1,3})?))*$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

# IPv6 ranges that carry an IPv4 address inside them: traffic may land on that host.
_EMBEDS_IPV4 = {
    ipaddress.ip_network("::ffff:0:0/96"): "IPv4-mapped",
    ipaddress.ip_network("::/96"): "IPv4-compatible",
    ipaddress.ip_network("64:ff9b::/96"): "NAT64",
    ipaddress.ip_network("64:ff9b:1::/48"): "NAT64",
    ipaddress.ip_network("2002::/16"): "6to4",
    ipaddress.ip_network("2001::/32"): "Teredo",
}
_LOOPBACK_AND_UNSPEC = {ipaddress.ip_address("::"), ipaddress.ip_address("::1")}


class TargetError(ValueError):
    """A target that cannot be judged safely; the message says why and what to write."""


class TargetKind(enum.StrEnum):
    address = "address"
    network = "network"
    range = "range"
    hostname = "hostname"


@dataclass(frozen=True)
class Target:
    """A parsed target and exactly the set of addresses it stands for."""

    text: str
    kind: TargetKind
    addresses: netaddr.IPSet
    resolved: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return int(self.addresses.size)

    def scan_spec(self) -> list[str]:
        """What to hand the scanner: CIDRs of the judged addresses, never the raw text."""
        return [str(net) for net in self.addresses.iter_cidrs()]


QUOTE_LIMIT = 200
"""Messages and audit records quote at most this many characters of a target."""


def shown(text: str) -> str:
    """A target as a message quotes it: whole up to 200 characters, else its first 200
    and an ellipsis (``target_record`` keeps its length and SHA-256)."""
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + "…"


def target_record(text: str) -> dict[str, object]:
    """A target for an audit payload: quoted (``shown``), and when cut, the length and
    the SHA-256 of the whole, so the record identifies it without holding all of it."""
    if len(text) <= QUOTE_LIMIT:
        return {"target": text}
    import hashlib

    return {"target": shown(text), "target_length": len(text),
            "target_sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}


def parse_target(text: str, *, resolver: Resolver | None = None) -> Target:
    raw = text
    text = text.strip()
    if not text:
        raise TargetError(_("empty target"))
    if text.startswith("-"):
        raise TargetError(
            _("{t!r} starts with '-': a target cannot be a command-line option").format(
                t=shown(raw))
        )
    if len(text) > 253:
        raise TargetError(_("target is longer than 253 characters"))
    if not _ALLOWED.match(text):
        bad = next(ch for ch in text if not _ALLOWED.match(ch))
        raise TargetError(
            _("{t!r} contains {ch!r}, which is not allowed in a target").format(
                t=shown(raw), ch=bad)
        )
    if ":" in text:
        return _parse_ipv6(text)
    if "/" in text:
        return _parse_ipv4_cidr(text)
    if re.fullmatch(r"[0-9.*,\-]+", text) and re.search(r"[*,\-]", text):
        return _parse_range(text)
    last_label = text.rstrip(".").rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.match(last_label):
        address = strict_ipv4(text)
        return Target(text, TargetKind.address, netaddr.IPSet([str(address)]))
    return _parse_hostname(text, resolver or system_resolver)


def strict_ipv4(text: str) -> ipaddress.IPv4Address:
    """Dotted-decimal IPv4 only: four parts, 0-255, no leading zeros."""
    parts = text.split(".")
    if len(parts) == 4 and all(re.fullmatch(r"0|[1-9]\d{0,2}", p) for p in parts):
        if all(int(p) <= 255 for p in parts):
            return ipaddress.IPv4Address(text)
    legacy = _legacy_ipv4(text)
    if legacy is not None:
        raise TargetError(
            _(
                "{t!r} is a legacy numeric form (integer, octal, hex or short) that the "
                "system reads as {addr}; write the address in dotted decimal: {addr}"
            ).format(t=shown(text), addr=legacy)
        )
    raise TargetError(_("{t!r} is not a valid IPv4 address").format(t=shown(text)))


def _legacy_ipv4(text: str) -> str | None:
    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except OSError:
        return None


def _check_ipv6_address(address: ipaddress.IPv6Address, text: str) -> None:
    if address in _LOOPBACK_AND_UNSPEC:
        return
    for net, label in _EMBEDS_IPV4.items():
        if address in net:
            inner = _embedded_ipv4(address)
            raise TargetError(
                _(
                    "{t!r} embeds IPv4 host {inner} ({label} IPv6 address); "
                    "use the IPv4 address under a scope that authorises it"
                ).format(t=shown(text), label=label, inner=inner)
            )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> str:
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    if address.sixtofour is not None:
        return str(address.sixtofour)
    if address.teredo is not None:
        return str(address.teredo[1])
    return str(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))


def _parse_ipv6(text: str) -> Target:
    try:
        if "/" in text:
            net = ipaddress.IPv6Network(text, strict=False)
            if net.num_addresses == 1:
                _check_ipv6_address(net.network_address, text)
                return Target(text, TargetKind.network, netaddr.IPSet([str(net)]))
            for bad, label in _EMBEDS_IPV4.items():
                if net.overlaps(bad):
                    raise TargetError(
                        _("{t!r} overlaps {bad}, where {label} addresses reach IPv4 hosts; "
                          "refused").format(t=shown(text), bad=bad, label=label)
                    )
            return Target(text, TargetKind.network, netaddr.IPSet([str(net)]))
        address = ipaddress.IPv6Address(text)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
        if isinstance(exc, TargetError):
            raise
        raise TargetError(_("{t!r} is not a valid IPv6 address or network ({err})").format(
            t=shown(text), err=exc)) from exc
    _check_ipv6_address(address, text)
    return Target(text, TargetKind.address, netaddr.IPSet([str(address)]))


def _parse_ipv4_cidr(text: str) -> Target:
    host, _sep, prefix = text.partition("/")
    if not re.fullmatch(r"\d{1,2}", prefix) or int(prefix) > 32:
        raise TargetError(_("{t!r}: the prefix length must be 0-32").format(t=shown(text)))
    last_label = host.rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.match(last_label):
        raise TargetError(
            _("{t!r}: a hostname with a prefix length is not accepted; "
              "give the network as an address, e.g. 127.0.1.0/24").format(t=shown(text))
        )
    address = strict_ipv4(host)
    net = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
    return Target(text, TargetKind.network, netaddr.IPSet([str(net)]))


def _octet_values(spec: str, text: str) -> list[tuple[int, int]]:
    if spec == "*":
        return [(0, 255)]
    spans = []
    for part in spec.split(","):
        lo_s, _dash, hi_s = part.partition("-")
        for number in (lo_s, hi_s or lo_s):
            if len(number) > 1 and number.startswith("0"):
                raise TargetError(
                    _("{t!r}: octet {n!r} has a leading zero (octal to some tools); "
                      "write it without").format(t=shown(text), n=number)
                )
        lo, hi = int(lo_s), int(hi_s or lo_s)
        if lo > 255 or hi > 255 or lo > hi:
            raise TargetError(_("{t!r}: octet range {p!r} is not within 0-255").format(
                t=shown(text), p=part))
        spans.append((lo, hi))
    return spans


def _parse_range(text: str) -> Target:
    specs = text.split(".")
    if len(specs) != 4 or not all(_OCTET_SPEC.match(s) for s in specs):
        raise TargetError(
            _("{t!r} is not an nmap-style IPv4 range (four octets, each N, N-M, * or a "
              "comma list)").format(t=shown(text))
        )
    octets = [_octet_values(s, text) for s in specs]
    total = 1
    for spans in octets:
        total *= sum(hi - lo + 1 for lo, hi in spans)
    if total > MAX_RANGE_ADDRESSES:
        raise TargetError(
            _("{t!r} expands to {n} addresses; ranges are limited to {max}: use a CIDR").format(
                t=shown(text), n=total, max=MAX_RANGE_ADDRESSES)
        )
    ipset = netaddr.IPSet()
    heads = [
        [v for lo, hi in spans for v in range(lo, hi + 1)] for spans in octets[:3]
    ]
    for a, b, c in product(*heads):
        for lo, hi in octets[3]:
            ipset.add(netaddr.IPRange(f"{a}.{b}.{c}.{lo}", f"{a}.{b}.{c}.{hi}"))
    return Target(text, TargetKind.range, ipset)


def _parse_hostname(text: str, resolver: Resolver) -> Target:
    name = text.rstrip(".")
    labels = name.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        raise TargetError(_("{t!r} is neither an address nor a valid hostname").format(
            t=shown(text)))
    try:
        answers = list(resolver(name))
    except TargetError:
        raise
    except OSError as exc:
        raise TargetError(
            _("cannot resolve {t!r}: {err}; give the address instead").format(
                t=shown(text), err=exc)
        ) from exc
    if not answers:
        raise TargetError(_("{t!r} resolves to no address").format(t=shown(text)))
    ipset = netaddr.IPSet()
    resolved = []
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address):
            _check_ipv6_address(address, f"{text} -> {answer}")
        resolved.append(str(address))
        ipset.add(str(address))
    return Target(text, TargetKind.hostname, ipset, tuple(dict.fromkeys(resolved)))


def system_resolver(name: str) -> list[str]:
    """Resolve through the system (``/etc/hosts``, then DNS), with a time limit."""
    result: list[str] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
            result.extend(str(info[4][0]) for info in infos)
        except OSError as exc:
            error.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(RESOLVE_TIMEOUT_S)
    if worker.is_alive():
        raise TargetError(
            _("resolving {name!r} took longer than {s:.0f} s; give the address instead").format(
                name=name, s=RESOLVE_TIMEOUT_S)
        )
    if error:
        raise error[0]
    return result


def parse_scope_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An authorised range as written in the org file: an address or an exact network."""
    text = str(text).strip()
    if not _ALLOWED.match(text) or re.search(r"[*,]", text) or "-" in text:
        raise TargetError(
            _("{t!r} is not a CIDR or an address (write ranges as CIDRs)").format(t=shown(text)))
    host, sep, prefix = text.partition("/")
    is_v6 = ":" in host
    if not is_v6:
        strict_ipv4(host)
    top = 128 if is_v6 else 32
    if sep and (not re.fullmatch(r"\d{1,3}", prefix) or int(prefix) > top):
        raise TargetError(
            _("{t!r}: the prefix length must be 0-{top}").format(t=shown(text), top=top))
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            loose = ipaddress.ip_network(text, strict=False)
            raise TargetError(
                _("{t!r} has host bits set; did you mean {net}?").format(t=shown(text), net=loose)
            ) from exc
        raise TargetError(_("{t!r} is not a valid CIDR ({err})").format(
            t=shown(text), err=exc)) from exc
    if isinstance(net, ipaddress.IPv6Network):
        parse_target(str(net))  # refuses ranges that embed IPv4 hosts
    minimum = MIN_SCOPE_PREFIX[net.version]
    if net.prefixlen < minimum:
        raise TargetError(
            _("{t!r} is wider than /{min}; authorise narrower ranges").format(
                t=shown(text), min=minimum)
        )
    return net
