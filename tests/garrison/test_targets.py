"""Target parsing: what is accepted, what each trick is refused with, and why."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garrison.targets import (
    TargetError,
    TargetKind,
    parse_scope_network,
    parse_target,
    strict_ipv4,
)


def _fixed(*answers: str) -> Callable[[str], list[str]]:
    return lambda _name: list(answers)


@pytest.mark.parametrize(
    ("text", "kind", "cidrs"),
    [
        ("127.0.1.10", TargetKind.address, ["127.0.1.10/32"]),
        ("127.0.1.0/24", TargetKind.network, ["127.0.1.0/24"]),
        ("127.0.1.7/24", TargetKind.network, ["127.0.1.0/24"]),  # nmap reads it as the /24
        ("127.0.1.1-3", TargetKind.range, ["127.0.1.1/32", "127.0.1.2/31"]),
        ("127.0.1-2.*", TargetKind.range, ["127.0.1.0/24", "127.0.2.0/24"]),
        ("127.0.1.1,5,9-10", TargetKind.range,
         ["127.0.1.1/32", "127.0.1.5/32", "127.0.1.9/32", "127.0.1.10/32"]),
        ("::1", TargetKind.address, ["::1/128"]),
        ("2001:db8::/126", TargetKind.network, ["2001:db8::/126"]),
    ],
)
def test_accepted_targets_stand_for_exactly_these_addresses(
    text: str, kind: TargetKind, cidrs: list[str]
) -> None:
    target = parse_target(text)
    assert target.kind is kind
    assert target.scan_spec() == cidrs


# Each trick, paired with the exact refusal it must produce.
TRICKS = [
    ("2130706433", "'2130706433' is a legacy numeric form (integer, octal, hex or short) that "
     "the system reads as 127.0.0.1; write the address in dotted decimal: 127.0.0.1"),
    ("0177.0.0.1", "'0177.0.0.1' is a legacy numeric form (integer, octal, hex or short) that "
     "the system reads as 127.0.0.1; write the address in dotted decimal: 127.0.0.1"),
    ("0x7f.0.0.1", "'0x7f.0.0.1' is a legacy numeric form (integer, octal, hex or short) that "
     "the system reads as 127.0.0.1; write the address in dotted decimal: 127.0.0.1"),
    ("127.1", "'127.1' is a legacy numeric form (integer, octal, hex or short) that the system "
     "reads as 127.0.0.1; write the address in dotted decimal: 127.0.0.1"),
    ("127.0.0.300", "'127.0.0.300' is not a valid IPv4 address"),
    ("::ffff:10.0.0.1", "'::ffff:10.0.0.1' embeds IPv4 host 10.0.0.1 (IPv4-mapped IPv6 "
     "address); use the IPv4 address under a scope that authorises it"),
    ("::ffff:127.0.1.5", "'::ffff:127.0.1.5' embeds IPv4 host 127.0.1.5 (IPv4-mapped IPv6 "
     "address); use the IPv4 address under a scope that authorises it"),
    ("64:ff9b::a00:1", "'64:ff9b::a00:1' embeds IPv4 host 10.0.0.1 (NAT64 IPv6 address); "
     "use the IPv4 address under a scope that authorises it"),
    ("::ffff:0:0/96", "'::ffff:0:0/96' overlaps ::ffff:0:0/96, where IPv4-mapped addresses "
     "reach IPv4 hosts; refused"),
    ("-oN/etc/x", "'-oN/etc/x' starts with '-': a target cannot be a command-line option"),
    ("--script=http-shellshock", "'--script=http-shellshock' starts with '-': a target cannot "
     "be a command-line option"),
    ("-iL", "'-iL' starts with '-': a target cannot be a command-line option"),
    ("127.0.0.1 -p1", "'127.0.0.1 -p1' contains ' ', which is not allowed in a target"),
    ("127.0.0.1;id", "'127.0.0.1;id' contains ';', which is not allowed in a target"),
    ("fe80::1%eth0", "'fe80::1%eth0' contains '%', which is not allowed in a target"),
    ("127.0.0.01-5", "'127.0.0.01-5': octet '01' has a leading zero (octal to some tools); "
     "write it without"),
    ("*.*.*.*", "'*.*.*.*' expands to 4294967296 addresses; ranges are limited to 65536: "
     "use a CIDR"),
    ("127.0.0.1/33", "'127.0.0.1/33': the prefix length must be 0-32"),
    ("localhost/24", "'localhost/24': a hostname with a prefix length is not accepted; give "
     "the network as an address, e.g. 127.0.1.0/24"),
    ("bad_host.example", "'bad_host.example' contains '_', which is not allowed in a target"),
    ("", "empty target"),
]


@pytest.mark.parametrize(("text", "message"), TRICKS, ids=[t or "empty" for t, _m in TRICKS])
def test_tricks_are_refused_with_a_clear_reason(text: str, message: str) -> None:
    with pytest.raises(TargetError) as err:
        parse_target(text, resolver=_fixed("127.0.1.1"))
    assert str(err.value) == message


def test_hostname_is_judged_by_every_address_it_resolves_to() -> None:
    target = parse_target("portal.hz.example", resolver=_fixed("127.0.1.5", "127.0.9.9"))
    assert target.kind is TargetKind.hostname
    assert target.resolved == ("127.0.1.5", "127.0.9.9")
    assert target.scan_spec() == ["127.0.1.5/32", "127.0.9.9/32"]


def test_hostname_resolving_to_a_mapped_address_is_refused() -> None:
    with pytest.raises(TargetError, match=r"embeds IPv4 host 10\.0\.0\.1"):
        parse_target("sneaky.example", resolver=_fixed("::ffff:10.0.0.1"))


def test_unresolvable_hostname_is_refused_with_the_resolver_error() -> None:
    def fail(_name: str) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(TargetError) as err:
        parse_target("nowhere.example", resolver=fail)
    assert str(err.value) == ("cannot resolve 'nowhere.example': [Errno -2] Name or service "
                              "not known; give the address instead")


def test_system_resolver_reads_localhost_from_etc_hosts() -> None:
    target = parse_target("localhost")
    assert "127.0.0.1" in target.resolved


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_an_integer_is_never_taken_for_an_address(value: int) -> None:
    with pytest.raises(TargetError):
        parse_target(str(value), resolver=_fixed("127.0.0.1"))


@given(st.lists(st.integers(min_value=0, max_value=255), min_size=4, max_size=4),
       st.integers(min_value=0, max_value=3))
def test_a_leading_zero_octet_is_never_accepted(octets: list[int], which: int) -> None:
    parts = [str(o) for o in octets]
    parts[which] = "0" + parts[which]
    with pytest.raises(TargetError):
        parse_target(".".join(parts))


@given(st.ip_addresses(v=4))
def test_dotted_decimal_round_trips(address: ipaddress.IPv4Address) -> None:
    assert strict_ipv4(str(address)) == address
    assert parse_target(str(address)).scan_spec() == [f"{address}/32"]


SCOPE_ERRORS = [
    ("127.0.1.1/24", "'127.0.1.1/24' has host bits set; did you mean 127.0.1.0/24?"),
    ("127.0.1.0/33", "'127.0.1.0/33': the prefix length must be 0-32"),
    ("2001:db8::/129", "'2001:db8::/129': the prefix length must be 0-128"),
    ("0.0.0.0/0", "'0.0.0.0/0' is wider than /8; authorise narrower ranges"),
    ("0177.0.1.0/24", "'0177.0.1.0' is a legacy numeric form (integer, octal, hex or short) "
     "that the system reads as 127.0.1.0; write the address in dotted decimal: 127.0.1.0"),
    ("127.0.1.0-20", "'127.0.1.0-20' is not a CIDR or an address (write ranges as CIDRs)"),
    ("-127.0.1.0/24", "'-127.0.1.0/24' is not a CIDR or an address (write ranges as CIDRs)"),
    ("::ffff:0:0/104", "'::ffff:0:0/104' overlaps ::ffff:0:0/96, where IPv4-mapped addresses "
     "reach IPv4 hosts; refused"),
]


@pytest.mark.parametrize(("text", "message"), SCOPE_ERRORS)
def test_scope_networks_must_be_exact(text: str, message: str) -> None:
    with pytest.raises(TargetError) as err:
        parse_scope_network(text)
    assert str(err.value) == message


def test_scope_network_accepts_a_single_host() -> None:
    assert str(parse_scope_network("127.0.1.9")) == "127.0.1.9/32"
    assert str(parse_scope_network("::1")) == "::1/128"
