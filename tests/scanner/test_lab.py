"""scanner.lab: real loopback listeners that the real ``nmap -sV`` identifies.

The detection tests start every case below at once and run ONE nmap (connect scan,
so no privileges are needed) over all of them; each case then checks what nmap
reported for its own address. Only loopback addresses in 127.0.250.0/24 are used.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from scanner.lab import KINDS, LabError, LabServices, ServiceSpec
from tests.conftest import REPO

NMAP = shutil.which("nmap")
needs_nmap = pytest.mark.skipif(
    NMAP is None, reason="nmap is not installed (apt install nmap): the lab detection "
                         "tests run the real nmap binary")


@dataclass(frozen=True)
class Seen:
    """What nmap must report for a service (``None``: the attribute is absent)."""

    name: str
    product: str
    version: str | None
    extrainfo: str | None = None       # checked only when given


@dataclass(frozen=True)
class Port:
    state: str
    service: dict[str, str]
    scripts: dict[str, str]


def _case(last: int, port: int, kind: str, seen: Seen, version: str | None = None,
          **options: str) -> tuple[ServiceSpec, Seen]:
    return ServiceSpec(f"127.0.250.{last}", port, kind, version, options), seen


# Every kind with its default version, on its usual port (or a high port standing in
# for a privileged one), and then chosen versions and options.
CASES: list[tuple[ServiceSpec, Seen]] = [
    _case(1, 2222, "ssh", Seen("ssh", "OpenSSH", "7.4", "protocol 2.0")),
    _case(2, 2121, "ftp", Seen("ftp", "vsftpd", "3.0.3")),
    _case(3, 2323, "telnet", Seen("telnet", "Linux telnetd", None)),
    _case(4, 8080, "http", Seen("http", "nginx", "1.14.0")),
    _case(5, 6379, "redis", Seen("redis", "Redis key-value store", "6.0.5")),
    _case(6, 3306, "mysql", Seen("mysql", "MySQL", "5.7.33")),
    _case(7, 5900, "vnc", Seen("vnc", "VNC", None, "protocol 3.8")),
    _case(8, 2525, "smtp", Seen("smtp", "Postfix smtpd", None)),
    _case(9, 9200, "elasticsearch", Seen(
        "http", "Elasticsearch REST API", "7.10.2",
        "name: lab-node-1; cluster: elasticsearch; Lucene 8.7.0")),
    _case(10, 2375, "docker", Seen("docker", "Docker", "20.10.5", "API 1.41")),
    _case(11, 27017, "mongodb", Seen("mongodb", "MongoDB", "4.4.6")),
    _case(12, 11211, "memcached", Seen("memcached", "Memcached", "1.6.9")),
    _case(13, 5432, "postgresql", Seen("postgresql", "PostgreSQL DB", "12.5")),
    # chosen versions and options
    _case(21, 2222, "ssh", Seen("ssh", "Dropbear sshd", "2019.78"), "2019.78",
          software="dropbear"),
    _case(22, 2222, "ssh", Seen("ssh", "OpenSSH", "8.2p1 Ubuntu 4ubuntu0.5",
                                "Ubuntu Linux; protocol 2.0"), "8.2p1 Ubuntu-4ubuntu0.5"),
    _case(23, 2121, "ftp", Seen("ftp", "vsftpd", "2.3.4"), "2.3.4", anonymous="yes"),
    _case(24, 8080, "http", Seen("http", "Apache httpd", "2.4.41", "(Ubuntu)"),
          server="Apache/2.4.41 (Ubuntu)", title="Admin"),
    _case(25, 6379, "redis", Seen("redis", "Redis key-value store", "7.0.11"), "7.0.11"),
    _case(26, 3306, "mysql", Seen("mysql", "MySQL", "8.0.32"), "8.0.32"),
    _case(27, 5900, "vnc", Seen("vnc", "VNC", None, "protocol 3.3"), "3.3", auth="none"),
    _case(28, 2525, "smtp", Seen("smtp", "Postfix smtpd", "3.4.13", "Debian"), "3.4.13"),
    _case(29, 9200, "elasticsearch", Seen(
        "http", "Elasticsearch REST API", "6.8.23",
        "name: es-a; cluster: prod; Lucene 7.7.3"), "6.8.23",
        name="es-a", cluster="prod", lucene="7.7.3"),
    _case(30, 2375, "docker", Seen("docker", "Docker", "24.0.7", "API 1.43"), "24.0.7",
          api="1.43"),
    _case(31, 27017, "mongodb", Seen("mongodb", "MongoDB", "3.6.23"), "3.6.23"),
    _case(32, 11211, "memcached", Seen("memcached", "Memcached", "1.4.15"), "1.4.15"),
    _case(33, 5432, "postgresql", Seen("postgresql", "PostgreSQL DB", "9.4.12"), "9.4.12"),
    _case(34, 5432, "postgresql", Seen("postgresql", "PostgreSQL DB", "15"), "15"),
]


def _case_id(case: tuple[ServiceSpec, Seen]) -> str:
    spec, _seen = case
    return f"{spec.kind}-{spec.address.rsplit('.', 1)[1]}"


def _nmap(endpoints: Sequence[tuple[str, int]], *, detect: bool,
          scripts: str | None = None) -> dict[tuple[str, int], Port]:
    """Run the real nmap over ``endpoints`` (loopback only) and parse its XML."""
    assert NMAP is not None
    addresses = sorted({a for a, _p in endpoints}, key=ipaddress.ip_address)
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8") for a in addresses)
    ports = ",".join(str(p) for p in sorted({p for _a, p in endpoints}))
    command = [NMAP, "-n", "-sT", "-Pn", *(["-sV"] if detect else []),
               *(["--script", scripts] if scripts else []),
               "--host-timeout", "60s", "--min-hostgroup", "64",
               "-p", ports, *addresses, "-oX", "-"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    found: dict[tuple[str, int], Port] = {}
    for host in ET.fromstring(result.stdout).iter("host"):
        address = host.find("address")
        assert address is not None
        for port in host.iter("port"):
            state, service = port.find("state"), port.find("service")
            assert state is not None
            found[(address.get("addr", ""), int(port.get("portid", "0")))] = Port(
                state.get("state", ""), dict(service.attrib) if service is not None else {},
                {x.get("id", ""): x.get("output", "") for x in port.iter("script")})
    return found


@pytest.fixture(scope="module")
def detected() -> dict[tuple[str, int], Port]:
    if NMAP is None:
        pytest.skip("nmap is not installed (apt install nmap)")
    with LabServices([spec for spec, _seen in CASES]) as lab:
        return _nmap(lab.endpoints, detect=True, scripts="ftp-anon")


def test_every_kind_has_a_detection_case() -> None:
    assert {spec.kind for spec, _seen in CASES} == KINDS


@needs_nmap
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_nmap_identifies_the_service(case: tuple[ServiceSpec, Seen],
                                     detected: dict[tuple[str, int], Port]) -> None:
    spec, seen = case
    port = detected[(spec.address, spec.port)]
    assert port.state == "open"
    service = port.service
    assert (service.get("name"), service.get("product"), service.get("version")) == (
        seen.name, seen.product, seen.version), service
    if seen.extrainfo is not None:
        assert service.get("extrainfo") == seen.extrainfo, service
    assert service.get("method") == "probed", service


@needs_nmap
def test_nmap_ftp_anon_reports_anonymous_login_only_where_allowed(
        detected: dict[tuple[str, int], Port]) -> None:
    allowed = detected[("127.0.250.23", 2121)].scripts.get("ftp-anon", "")
    assert allowed.startswith("Anonymous FTP login allowed (FTP code 230)")
    assert " pub" in allowed                              # the passive LIST worked
    assert "ftp-anon" not in detected[("127.0.250.2", 2121)].scripts


# ------------------------------------------------------------------ lifecycle


def _refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_close_stops_one_listener_and_the_port_refuses() -> None:
    specs = [ServiceSpec("127.0.250.200", 0, "http"), ServiceSpec("127.0.250.201", 0, "ssh")]
    with LabServices(specs) as lab:
        (http_addr, http_port), (ssh_addr, ssh_port) = lab.endpoints
        assert http_port != 0 and ssh_port != 0
        lab.close(http_addr, http_port)
        assert lab.endpoints == [(ssh_addr, ssh_port)]
        assert _refused(http_addr, http_port)
        with socket.create_connection((ssh_addr, ssh_port), timeout=2) as client:
            assert client.recv(64).startswith(b"SSH-2.0-OpenSSH_7.4")
        lab.close(http_addr, http_port)                   # again: nothing to do
        with pytest.raises(LookupError, match="127.0.250.202:1"):
            lab.close("127.0.250.202", 1)


@needs_nmap
def test_nmap_sees_the_closed_port_after_close() -> None:
    specs = [ServiceSpec("127.0.250.203", 18080, "http"),
             ServiceSpec("127.0.250.204", 18080, "http")]
    with LabServices(specs) as lab:
        endpoints = lab.endpoints
        before = _nmap(endpoints, detect=False)
        lab.close("127.0.250.203", 18080)
        after = _nmap(endpoints, detect=False)
    assert before[("127.0.250.203", 18080)].state == "open"
    assert after[("127.0.250.203", 18080)].state == "closed"
    assert after[("127.0.250.204", 18080)].state == "open"


def test_stop_is_idempotent_and_closes_open_connections() -> None:
    lab = LabServices([ServiceSpec("127.0.250.205", 0, "http")])
    lab.stop()                                            # never started: nothing to do
    with lab:
        ((address, port),) = lab.endpoints
        client = socket.create_connection((address, port), timeout=5)
        started = time.monotonic()
        lab.stop()
        lab.stop()
        assert time.monotonic() - started < 2
        assert lab.endpoints == []
        try:
            assert client.recv(64) == b""                 # the server side closed
        except ConnectionResetError:
            pass
        finally:
            client.close()
    assert _refused(address, port)                        # __exit__ after stop(): fine


def test_a_taken_endpoint_raises_a_clear_error_and_releases_the_others() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.250.210", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        lab = LabServices([ServiceSpec("127.0.250.211", port, "ssh"),
                           ServiceSpec("127.0.250.210", port, "redis")])
        with pytest.raises(LabError, match=f"127.0.250.210:{port}"):
            lab.start()
        assert lab.endpoints == []
    with socket.socket() as again:                        # the first listener was released
        again.bind(("127.0.250.211", port))


def test_two_labs_on_one_endpoint_conflict() -> None:
    with LabServices([ServiceSpec("127.0.250.212", 0, "redis")]) as first:
        ((address, port),) = first.endpoints
        with pytest.raises(LabError, match=f"{address}:{port}"):
            LabServices([ServiceSpec(address, port, "mysql")]).start()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"address": "10.0.0.1"}, "not a loopback"),
    ({"address": "localhost"}, "not an IP address"),
    ({"kind": "gopher"}, "Unknown lab service kind"),
    ({"port": 70000}, "out of range"),
    ({"options": {"colour": "red"}}, "Unknown option"),
    ({"kind": "postgresql", "version": "13.4"}, "choose one of"),
    ({"version": "1.0\r\nX-Injected: yes"}, "printable text"),
    ({"options": {"title": "x" * 201}}, "printable text"),
])
def test_bad_specs_are_refused(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"address": "127.0.250.220", "port": 1, "kind": "http"}
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ServiceSpec(**fields)  # type: ignore[arg-type]


def test_duplicate_endpoints_are_refused() -> None:
    spec = ServiceSpec("127.0.250.221", 4000, "http")
    with pytest.raises(ValueError, match="127.0.250.221:4000"):
        LabServices([spec, ServiceSpec("127.0.250.221", 4000, "ssh")])


def test_importing_the_lab_starts_nothing_and_loads_no_textual() -> None:
    code = ("import sys, threading\nimport scanner.lab\n"
            "print(threading.active_count(), 'textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=REPO).stdout.split()
    assert out == ["1", "False"]


def test_handlers_answer_without_nmap() -> None:
    """A quick protocol check that needs no nmap: banners and two request/replies."""
    specs = [ServiceSpec("127.0.250.230", 0, "ssh"), ServiceSpec("127.0.250.231", 0, "redis"),
             ServiceSpec("127.0.250.232", 0, "http", options={"title": "Admin & Co"})]
    with LabServices(specs) as lab:
        ssh, redis, http = lab.endpoints
        with socket.create_connection(ssh, timeout=5) as client:
            assert client.recv(100) == b"SSH-2.0-OpenSSH_7.4\r\n"
        with socket.create_connection(redis, timeout=5) as client:
            client.sendall(b"*1\r\n$4\r\ninfo\r\n")
            assert b"# Server\r\nredis_version:6.0.5\r\n" in client.recv(4096)
        with socket.create_connection(http, timeout=5) as client:
            client.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = b""
            while chunk := client.recv(4096):
                reply += chunk
        assert reply.startswith(b"HTTP/1.0 200 OK\r\nServer: nginx/1.14.0\r\n")
        assert b"<title>Admin &amp; Co</title>" in reply
