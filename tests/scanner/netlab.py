"""A throw-away Ethernet segment of network namespaces, for discovery tests.

``netlab(n)`` builds, as root::

    root namespace                 bridge <token>br
    <token>r 10.213.7.1/24 ─ veth ─┤
                                   ├─ veth ─ ns <token>-h1: eth0 10.213.7.11/24 02:00:00:00:07:01
                                   ├─ veth ─ ns <token>-h2: eth0 10.213.7.12/24 02:00:00:00:07:02
                                   └─ ...

so the root namespace reaches the hosts on a directly attached segment (ARP works;
scapy reaches a namespace's address only from outside that namespace). The hosts
have no default route, and nothing here talks to any other address.

Everything is deleted on exit, even when the test fails. Names carry a random
token (``<prefix><4 hex>``) and a lock serialises labs (they share the subnet), so
parallel runs wait for each other; leftovers of killed runs with the same prefix
are deleted first. Without permission (not root, no CAP_NET_ADMIN/CAP_SYS_ADMIN)
the test is skipped and says why.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUBNET = "10.213.7.0/24"
ROOT_ADDRESS = "10.213.7.1"
MAX_HOSTS = 99
LOCK_WAIT_S = 30.0
COMMAND_TIMEOUT_S = 10.0
READY_WAIT_S = 3.0
_LOCK_FILE = Path(tempfile.gettempdir()) / "garrison-netlab.lock"
_NO_PERMISSION = ("Operation not permitted", "Permission denied")


def host_address(number: int) -> str:
    """The address of host ``number`` (1-based): 10.213.7.(10+N)."""
    return f"10.213.7.{10 + number}"


def host_mac(number: int) -> str:
    """The fixed MAC of host ``number`` (1-based): 02:00:00:00:07:0N."""
    return f"02:00:00:00:07:{number:02x}"


class NetlabError(RuntimeError):
    """An ``ip`` command failed while building or changing the lab."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S, check=False)
    if check and result.returncode != 0:
        raise NetlabError(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result


@dataclass
class NetLab:
    """A running lab: ``iface`` is the root-side interface on the segment."""

    token: str
    iface: str
    bridge: str
    subnet: str
    hosts: list[tuple[str, str]]
    """(address, mac) of each namespace host, host 1 first."""
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    """Root-namespace links to delete (the bridge last)."""

    def namespace_of(self, address: str) -> str:
        for (host, _mac), namespace in zip(self.hosts, self.namespaces, strict=True):
            if host == address:
                return namespace
        raise KeyError(f"{address} is not a host of this netlab ({self.hosts})")

    def stop_host(self, address: str) -> None:
        """Take the host's link down: it no longer answers anything."""
        _ip("-n", self.namespace_of(address), "link", "set", "eth0", "down")

    def start_host(self, address: str) -> None:
        _ip("-n", self.namespace_of(address), "link", "set", "eth0", "up")

    def leftovers(self) -> list[str]:
        """Namespaces and links of this lab that still exist (empty after exit)."""
        return [name for name in _namespaces() + _links() if name.startswith(self.token)]


def _namespaces() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _links() -> list[str]:
    out = _ip("-o", "link", "show", check=False).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def _delete_leftovers(prefix: str) -> None:
    """Delete namespaces and links a killed run with this prefix left behind."""
    pattern = re.compile(rf"^{re.escape(prefix)}[0-9a-f]{{4}}(-h\d+|br|r|rb|h\d+p?)$")
    for namespace in _namespaces():
        if pattern.match(namespace):
            _ip("netns", "del", namespace, check=False)
    links = [name for name in _links() if pattern.match(name)]
    for name in sorted(links, key=lambda n: n.endswith("br")):  # bridges last
        _ip("link", "del", name, check=False)


def _subnet_in_use() -> str | None:
    """A real address or narrow route on 10.213.7.0/24 that the lab would shadow."""
    subnet = ipaddress.ip_network(SUBNET)
    for line in _ip("-4", "-o", "addr", "show", check=False).stdout.splitlines():
        match = re.search(r"\binet (\S+)", line)
        if match and ipaddress.ip_interface(match.group(1)).ip in subnet:
            return line.strip()
    for line in _ip("-4", "route", "show", "table", "all", check=False).stdout.splitlines():
        first = line.split()[0] if line.split() else ""
        if first in ("default", "local", "broadcast", "unreachable", "blackhole", "prohibit"):
            continue
        try:
            network = ipaddress.ip_network(first, strict=False)
        except ValueError:
            continue
        if network.overlaps(subnet) and network.prefixlen >= subnet.prefixlen:
            return line.strip()
    return None


@contextmanager
def _lab_lock() -> Iterator[None]:
    with open(_LOCK_FILE, "a+") as handle:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(f"another netlab held {_LOCK_FILE} for {LOCK_WAIT_S:.0f} s")
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _skip_if_refused(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode == 0:
        return
    err = result.stderr.strip()
    if any(text in err for text in _NO_PERMISSION):
        pytest.skip(f"netlab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): {what} "
                    f"was refused ({err}); euid={os.geteuid()}")
    if "Unknown device type" in err or "not supported" in err.lower():
        pytest.skip(f"netlab: this kernel cannot create a {what} ({err})")
    raise NetlabError(f"{what} failed: {err}")


def _wait_until_up(names: list[str]) -> None:
    deadline = time.monotonic() + READY_WAIT_S
    while time.monotonic() < deadline:
        states = []
        for name in names:
            try:
                states.append(Path(f"/sys/class/net/{name}/operstate").read_text().strip())
            except OSError:
                states.append("missing")
        if all(state == "up" for state in states):
            return
        time.sleep(0.02)
    raise NetlabError(f"netlab links did not come up within {READY_WAIT_S} s: {names}")


def _build(lab: NetLab, n_hosts: int) -> None:
    token, bridge, root, root_peer = lab.token, lab.bridge, lab.iface, f"{lab.token}rb"

    # The first privileged step tells whether we may build a lab at all.
    first_ns = f"{token}-h1"
    _skip_if_refused(_ip("netns", "add", first_ns, check=False), "`ip netns add`")
    lab.namespaces.append(first_ns)
    lab.links.append(bridge)
    _skip_if_refused(_ip("link", "add", bridge, "type", "bridge", check=False), "bridge")
    _ip("link", "set", bridge, "up")

    for number in range(1, n_hosts + 1):
        namespace = f"{token}-h{number}"
        if number > 1:
            _ip("netns", "add", namespace)
            lab.namespaces.append(namespace)
        outside, inside = f"{token}h{number}", f"{token}h{number}p"
        lab.links.insert(0, outside)
        _skip_if_refused(_ip("link", "add", outside, "type", "veth", "peer", "name", inside,
                             check=False), "veth pair")
        _ip("link", "set", inside, "netns", namespace)
        _ip("-n", namespace, "link", "set", inside, "name", "eth0",
            "address", host_mac(number))
        _ip("-n", namespace, "addr", "add", f"{host_address(number)}/24", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        _ip("link", "set", outside, "master", bridge, "up")

    lab.links.insert(0, root)
    _ip("link", "add", root, "type", "veth", "peer", "name", root_peer)
    _ip("link", "set", root_peer, "master", bridge, "up")
    _ip("addr", "add", f"{ROOT_ADDRESS}/24", "dev", root)
    _ip("link", "set", root, "up")
    _wait_until_up([root, bridge])


def _teardown(lab: NetLab) -> None:
    # Deleting a veth deletes its peer at once (namespace teardown is asynchronous).
    present = set(_links())
    for link in lab.links:
        if link in present:
            _ip("link", "del", link, check=False)
    for namespace in lab.namespaces:
        _ip("netns", "del", namespace, check=False)
    left = lab.leftovers()
    if left:
        warnings.warn(f"netlab could not delete {left}", RuntimeWarning, stacklevel=3)


@contextmanager
def netlab(n_hosts: int = 3, *, prefix: str = "gtl") -> Iterator[NetLab]:
    """Build a lab of ``n_hosts`` namespace hosts on 10.213.7.0/24; delete it on exit."""
    if not 1 <= n_hosts <= MAX_HOSTS:
        raise ValueError(f"n_hosts must be 1-{MAX_HOSTS}")
    if not re.fullmatch(r"[a-z]{1,5}", prefix):
        raise ValueError("prefix must be 1-5 lower-case letters (interface names are short)")
    if shutil.which("ip") is None:
        pytest.skip("netlab needs `ip` from iproute2")
    with _lab_lock():
        _delete_leftovers(prefix)
        in_use = _subnet_in_use()
        if in_use:
            pytest.skip(f"netlab: {SUBNET} is already in use on this host ({in_use})")
        token = f"{prefix}{secrets.token_hex(2)}"
        lab = NetLab(token=token, iface=f"{token}r", bridge=f"{token}br", subnet=SUBNET,
                     hosts=[(host_address(n), host_mac(n)) for n in range(1, n_hosts + 1)])
        try:
            _build(lab, n_hosts)
            yield lab
        finally:
            _teardown(lab)
