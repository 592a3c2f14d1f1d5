"""Host discovery with scapy: ARP in a namespace lab, ICMP/TCP SYN on loopback.

Every approval here comes from the real scope guard. Traffic goes only to loopback
and to the namespaces ``netlab`` creates and deletes. Tests that need raw sockets or
network namespaces skip (and say why) where the process is not root.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from garrison import db
from garrison.errors import GarrisonError
from garrison.org.loader import load_org_file
from garrison.org.service import import_org
from garrison.scope import Approval, authorize
from garrison.settings import Settings
from scanner.discovery import (
    MAX_DISCOVERY_ADDRESSES,
    DiscoveredHost,
    DiscoveryBackend,
    DiscoveryError,
    ScapyDiscovery,
    _Answers,
    _attached,
    _read_routes,
    attached_interface,
)
from tests.conftest import REPO
from tests.scanner.netlab import NetLab, host_address, host_mac, netlab

ORG = """\
units:
  - code: lab
    name: Discovery lab
    level: province
    officer: {name: Tester}
    scopes:
      - {cidr: 10.213.7.0/24, authorized_by: "netlab"}
      - {cidr: 127.0.251.0/24, authorized_by: "loopback"}
      - {cidr: "::1/128", authorized_by: "loopback v6"}
    units:
      - code: lab-slow
        name: Rate-capped lab
        level: city
        officer: {name: Tester}
        scopes: [{cidr: 127.0.252.0/24, authorized_by: "loopback", max_rate: 40}]
      - code: lab-wide
        name: Too wide for discovery
        level: city
        officer: {name: Tester}
        scopes: [{cidr: 127.64.0.0/15, authorized_by: "loopback"}]
"""


def _prepare_guard(directory: Path) -> Settings:
    settings = Settings(db=f"sqlite:///{directory}/g.db", actor="t")
    db.upgrade(settings)
    org = directory / "org.yaml"
    org.write_text(ORG, encoding="utf-8")
    with db.write_session(settings) as session:
        import_org(session, load_org_file(org), actor=settings.actor, now=settings.now())
    return settings


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A SQLite database whose units authorise the lab subnet and loopback ranges."""
    return _prepare_guard(tmp_path_factory.mktemp("discovery"))


def approve(settings: Settings, *targets: str, unit: str = "lab") -> Approval:
    return authorize(settings, unit_code=unit, targets=list(targets))


def _can_open_raw_sockets() -> bool:
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
    except PermissionError:
        return False
    return True


@pytest.fixture
def raw_sockets() -> None:
    """Skip unless this process may open raw packet sockets (root or CAP_NET_RAW)."""
    if not _can_open_raw_sockets():
        pytest.skip(f"raw sockets need root or CAP_NET_RAW (euid={os.geteuid()})")


@pytest.fixture
def lab(raw_sockets: None) -> Iterator[NetLab]:  # noqa: ARG001 (the skip is the point)
    with netlab(3) as built:
        yield built


class _SentTo:
    """Wraps a scapy socket class's ``send`` to record every destination address."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: Any, field: str) -> None:
        self.addresses: list[str] = []
        original = cls.send

        def send(sock: Any, pkt: Any) -> Any:
            layer = pkt.getlayer(1) if field == "pdst" else pkt
            self.addresses.append(str(getattr(layer, field)))
            return original(sock, pkt)

        monkeypatch.setattr(cls, "send", send)


def _summary(hosts: list[DiscoveredHost]) -> list[tuple[str, str | None, str]]:
    return [(h.address, h.mac, h.method) for h in hosts]


# ------------------------------------------------------------------ no privileges needed


def test_importing_discovery_does_not_import_scapy() -> None:
    code = ("import sys, scanner.discovery\n"
            "heavy = {'scapy', 'sqlalchemy', 'sqlmodel', 'netaddr'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO, timeout=30).stdout.strip()
    assert out == "[]"


def test_attached_interface_follows_the_routing_table(tmp_path: Path) -> None:
    def word(dotted: str) -> str:  # /proc/net/route prints big-endian words natively
        return f"{int.from_bytes(socket.inet_aton(dotted), sys.byteorder):08X}"

    table = tmp_path / "route"
    rows = [("eth1", "10.0.0.0", "0.0.0.0", 0x1, "255.0.0.0"),
            ("eth1", "10.1.0.0", "10.0.0.1", 0x3, "255.255.0.0"),
            ("eth2", "10.2.0.0", "0.0.0.0", 0x1, "255.255.255.0"),
            ("wg0", "10.3.0.0", "0.0.0.0", 0x1, "255.255.0.0"),
            ("eth1", "0.0.0.0", "10.0.0.1", 0x3, "0.0.0.0")]
    table.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" + "".join(
        f"{i}\t{word(d)}\t{word(g)}\t{f:04X}\t0\t0\t0\t{word(m)}\t0\t0\t0\n"
        for i, d, g, f, m in rows))
    routes = _read_routes(table)
    assert len(routes) == 5

    def ethernet(iface: str) -> bool:
        return iface.startswith("eth")

    import ipaddress

    def attached(address: str) -> str | None:
        return _attached(ipaddress.IPv4Address(address), routes, ethernet)

    assert attached("10.9.9.9") == "eth1"      # on the directly attached /8
    assert attached("10.1.2.3") is None        # a more specific route through a gateway
    assert attached("10.2.0.77") == "eth2"     # the most specific attached network wins
    assert attached("10.3.0.1") is None        # attached, but no ARP on a tunnel
    assert attached("192.0.2.1") is None       # only the default route: via a gateway
    for address in ("127.0.0.1", "::1", "not-an-address", "10.213.7.300"):
        assert attached_interface(address) is None


def test_only_an_approval_is_accepted(guard: Settings) -> None:
    with pytest.raises(TypeError, match="Approval"):
        ScapyDiscovery().discover("127.0.251.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="authorize"):
        Approval("lab", approve(guard, "127.0.251.1").addresses, None, ())
    assert isinstance(ScapyDiscovery(), DiscoveryBackend)


def test_too_many_addresses_and_bad_options_are_refused_before_sending(
        guard: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scapy() -> None:
        raise AssertionError("scapy must not even be loaded")

    monkeypatch.setattr("scanner.discovery._load_scapy", no_scapy)
    wide = approve(guard, "127.64.0.0/15", unit="lab-wide")
    assert wide.size == 2 * MAX_DISCOVERY_ADDRESSES
    with pytest.raises(DiscoveryError) as refused:
        ScapyDiscovery().discover(wide)
    assert "131072" in refused.value.message and "65536" in refused.value.message
    assert refused.value.hint and "smaller" in refused.value.hint

    small = approve(guard, "127.0.251.1")
    with pytest.raises(DiscoveryError, match="positive"):
        ScapyDiscovery().discover(small, rate=0)
    with pytest.raises(DiscoveryError, match="negative"):
        ScapyDiscovery().discover(small, timeout=-1)


def test_without_raw_socket_permission_the_error_says_what_to_do(
        guard: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate the PermissionError a non-root process gets from scapy's sockets."""
    approval = approve(guard, "127.0.251.1-2")

    class NoRawSockets(socket.socket):
        def __init__(self, family: int = -1, type: int = -1, proto: int = -1,
                     fileno: int | None = None) -> None:
            if type == socket.SOCK_RAW:
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
            super().__init__(family, type, proto, fileno)

    monkeypatch.setattr(socket, "socket", NoRawSockets)
    with pytest.raises(DiscoveryError) as denied:
        ScapyDiscovery().discover(approval, timeout=0.2)
    error = denied.value
    assert isinstance(error, GarrisonError)
    assert "raw-socket permission" in error.message
    assert "Operation not permitted" in error.message
    assert error.hint is not None and "root" in error.hint and "'quick' profile" in error.hint


_UNPRIVILEGED = textwrap.dedent("""\
    from garrison.scope import authorize
    from garrison.settings import Settings
    from scanner.discovery import DiscoveryError, ScapyDiscovery
    settings = Settings()
    approval = authorize(settings, unit_code="lab", targets=["127.0.251.1-2"])
    try:
        hosts = ScapyDiscovery().discover(approval, timeout=0.5)
    except DiscoveryError as exc:
        print(str(exc))
    else:
        print("NO ERROR", hosts)
""")


def test_a_real_unprivileged_process_gets_the_explanation(tmp_path: Path) -> None:
    """Run discovery in a process without CAP_NET_RAW and read its error.

    As root, ``setpriv`` drops the capability from the bounding set before exec, so
    the child (still uid 0, so it can read this checkout) cannot open raw sockets.
    """
    command = [sys.executable, "-c", _UNPRIVILEGED]
    if _can_open_raw_sockets():
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv (util-linux) to drop CAP_NET_RAW for the child; "
                        "the simulated test covers the message")
        command = [setpriv, "--bounding-set=-net_raw,-net_admin", "--", *command]
    settings = _prepare_guard(tmp_path)
    db.dispose_engines()
    env = {**os.environ, "GARRISON_DB": settings.db, "GARRISON_ACTOR": "unprivileged"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "raw-socket permission" in result.stdout, result.stdout + result.stderr
    assert "Operation not permitted" in result.stdout
    assert "'quick' profile" in result.stdout
    assert result.stderr == ""  # scapy stays quiet


# ------------------------------------------------------------------ loopback (root)


@pytest.mark.usefixtures("raw_sockets")
def test_icmp_discovery_on_loopback(guard: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from scapy.supersocket import L3RawSocket

    sent = _SentTo(monkeypatch, L3RawSocket, "dst")
    approval = approve(guard, "127.0.251.1-4")
    started = time.monotonic()
    hosts = ScapyDiscovery().discover(approval, timeout=5.0)
    elapsed = time.monotonic() - started
    assert [h.address for h in hosts] == [f"127.0.251.{n}" for n in range(1, 5)]
    assert all(h.mac is None and h.method in ("icmp", "tcp-syn") for h in hosts)
    assert all(h.rtt_ms is not None and 0 <= h.rtt_ms < 1000 for h in hosts)
    assert "icmp" in {h.method for h in hosts}
    assert sent.addresses and all(approval.contains(a) for a in sent.addresses)
    assert elapsed < 2.5  # every host answered: no waiting for the 5 s timeout


@pytest.mark.usefixtures("raw_sockets")
def test_tcp_syn_ping_on_loopback_sees_resets_and_syn_acks(guard: Settings) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.251.5", 0))
        listener.listen()
        port = listener.getsockname()[1]
        approval = approve(guard, "127.0.251.5-6")
        backend = ScapyDiscovery(icmp=False, tcp_ports=(port,))
        hosts = backend.discover(approval, timeout=2.0)
    # .5 answers SYN-ACK (listening), .6 answers RST (closed): both are up.
    assert _summary(hosts) == [("127.0.251.5", None, "tcp-syn"),
                               ("127.0.251.6", None, "tcp-syn")]
    assert backend.packets_sent == 2

    hosts = ScapyDiscovery(icmp=False).discover(approve(guard, "127.0.251.7"), timeout=2.0)
    assert _summary(hosts) == [("127.0.251.7", None, "tcp-syn")]  # ports 80/443, RST


@pytest.mark.usefixtures("raw_sockets")
def test_ipv6_loopback(guard: Settings) -> None:
    if "00000000000000000000000000000001" not in Path("/proc/net/if_inet6").read_text():
        pytest.skip("no ::1 on this host")
    hosts = ScapyDiscovery().discover(approve(guard, "::1"), timeout=2.0)
    assert [(h.address, h.method) for h in hosts] in ([("::1", "icmp")], [("::1", "tcp-syn")])


@pytest.mark.usefixtures("raw_sockets")
def test_rate_is_honoured(guard: Settings) -> None:
    backend = ScapyDiscovery()
    approval = approve(guard, "127.0.251.1-20")
    started = time.monotonic()
    hosts = backend.discover(approval, timeout=2.0, rate=20)
    elapsed = time.monotonic() - started
    assert len(hosts) == 20
    # Each ICMP echo is answered before the next is due, so no TCP probe is needed:
    # 20 packets at 20 per second, the last one 0.95 s after the first.
    assert backend.packets_sent == 20
    assert 0.9 <= elapsed < 2.5, elapsed


@pytest.mark.usefixtures("raw_sockets")
def test_the_scope_rate_cap_wins_over_a_faster_rate(guard: Settings) -> None:
    approval = approve(guard, "127.0.252.1-20", unit="lab-slow")
    assert approval.rate_cap == 40
    started = time.monotonic()
    hosts = ScapyDiscovery().discover(approval, timeout=2.0, rate=10_000)
    elapsed = time.monotonic() - started
    assert len(hosts) == 20
    assert 0.45 <= elapsed < 2.0, elapsed  # 20 packets at 40 per second, not 10,000


# ------------------------------------------------------------------ netlab (root)


def test_arp_finds_exactly_the_lab_hosts(guard: Settings, lab: NetLab,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from scapy.arch.linux import L2Socket

    assert lab.subnet == "10.213.7.0/24"
    assert lab.hosts == [(host_address(n), host_mac(n)) for n in (1, 2, 3)]
    assert attached_interface("10.213.7.12") == lab.iface

    sent = _SentTo(monkeypatch, L2Socket, "pdst")
    approval = approve(guard, "10.213.7.0/24")
    hosts = ScapyDiscovery().discover(approval, timeout=1.0)
    assert _summary(hosts) == [
        ("10.213.7.11", "02:00:00:00:07:01", "arp"),
        ("10.213.7.12", "02:00:00:00:07:02", "arp"),
        ("10.213.7.13", "02:00:00:00:07:03", "arp"),
    ]
    assert all(h.rtt_ms is not None and h.rtt_ms >= 0 for h in hosts)
    # One ARP request per approved address, and only to approved addresses; not to
    # this machine's own 10.213.7.1 nor to the broadcast address.
    assert len(sent.addresses) == 254 and len(set(sent.addresses)) == 254
    assert all(approval.contains(a) for a in sent.addresses)
    assert "10.213.7.1" not in sent.addresses and "10.213.7.255" not in sent.addresses

    lab.stop_host("10.213.7.13")
    sent.addresses.clear()
    hosts = ScapyDiscovery().discover(approve(guard, "10.213.7.11-13"), timeout=0.5)
    assert _summary(hosts) == [("10.213.7.11", "02:00:00:00:07:01", "arp"),
                               ("10.213.7.12", "02:00:00:00:07:02", "arp")]
    assert sorted(sent.addresses) == ["10.213.7.11", "10.213.7.12", "10.213.7.13"]


def test_arp_and_loopback_in_one_run(guard: Settings, lab: NetLab) -> None:
    approval = approve(guard, "127.0.251.1", "10.213.7.11", "10.213.7.14")
    started = time.monotonic()
    hosts = ScapyDiscovery().discover(approval, timeout=1.0)
    elapsed = time.monotonic() - started
    assert _summary(hosts) == [("10.213.7.11", lab.hosts[0][1], "arp"),
                               ("127.0.251.1", None, hosts[1].method)]
    assert hosts[1].method in ("icmp", "tcp-syn")
    assert 1.0 <= elapsed < 1.9  # one wait for the silent 10.213.7.14, not one per kind


def test_one_entry_per_host_preferring_arp_then_icmp() -> None:
    import ipaddress

    a, b = ipaddress.ip_address("10.213.7.11"), ipaddress.ip_address("127.0.251.1")
    answers = _Answers(pending={a, b}, icmp_id=1, sport=40_000, ports=(80, 443))
    for address, method, port in [(a, "tcp-syn", 80), (a, "icmp", 0), (a, "arp", 0),
                                  (b, "tcp-syn", 443), (b, "icmp", 0)]:
        answers.mark_sent(address, method, port)
    answers.record(b, "tcp-syn", 443, None, time.time())
    answers.record(a, "tcp-syn", 80, None, time.time())
    answers.record(a, "arp", 0, "02:00:00:00:07:01", time.time())
    answers.record(a, "icmp", 0, None, time.time())
    answers.record(b, "icmp", 0, None, time.time())
    answers.record(b, "icmp", 0, None, "not a time")  # a duplicate answer changes nothing
    assert answers.all_found.is_set()
    assert _summary(answers.hosts()) == [("10.213.7.11", "02:00:00:00:07:01", "arp"),
                                         ("127.0.251.1", None, "icmp")]
    unprobed = ipaddress.ip_address("10.213.7.99")
    answers.record(unprobed, "arp", 0, "02:00:00:00:00:99", time.time())
    assert len(answers.hosts()) == 2  # an answer to nothing we sent is ignored


@pytest.mark.usefixtures("raw_sockets")
def test_netlab_cleans_up_even_when_the_test_fails() -> None:
    leftover = "gtlbeefbr"  # what a killed run with the same prefix leaves behind
    subprocess.run(["ip", "link", "add", leftover, "type", "bridge"], capture_output=True,
                   check=False, timeout=10)
    try:
        with pytest.raises(RuntimeError, match="boom"), netlab(1) as lab:
            assert not Path(f"/sys/class/net/{leftover}").exists()
            assert Path(f"/sys/class/net/{lab.iface}").exists()
            raise RuntimeError("boom")
    finally:  # should netlab skip before deleting it
        subprocess.run(["ip", "link", "del", leftover], capture_output=True, check=False,
                       timeout=10)
    assert lab.leftovers() == []
    assert not Path(f"/sys/class/net/{lab.bridge}").exists()
