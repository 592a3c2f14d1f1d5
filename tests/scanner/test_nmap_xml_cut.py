"""The fast reader (ports cut out of the stream, each distinct one parsed once) returns
exactly what the plain ``iterparse`` reader returns: the same hosts, run facts, errors
and line numbers, for odd files too, wherever its chunks happen to end."""

from __future__ import annotations

import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import scanner.nmap_xml as nx
from tests.conftest import FIXTURES

BASE = (FIXTURES / "nmap" / "two_hosts_sv.xml").read_bytes()
PORT = (b'<port protocol="tcp" portid="9"><state state="open" reason="x"/>'
        b'<service name="a" product="p"><cpe>c1</cpe></service></port>')


def _before(marker: bytes, text: bytes, base: bytes = BASE) -> bytes:
    return base.replace(marker, text + marker, 1)


def _bench(hosts: int) -> bytes:
    """The bench's file (six identical open services per host), ``hosts`` hosts long."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.gen_nmap_xml import generate

    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "b.xml"
        generate(file, hosts)
        return file.read_bytes()


CASES: dict[str, bytes] = {
    "as nmap wrote it": BASE,
    "a port inside a host script": _before(b"<times srtt", b'<hostscript><script id="s" '
                                           b'output="o">' + PORT + b"</script></hostscript>"),
    "a port inside an OS match": _before(b"<times srtt", b'<os><osmatch name="x" '
                                         b'accuracy="9">' + PORT + b"</osmatch></os>"),
    "a port right under the host": _before(b"<times srtt", PORT),
    "a port right under the root": _before(b"<verbose", PORT),
    "two <ports>": _before(b"<times srtt", b"<ports>" + PORT + b"</ports>"),
    "a host in a host": _before(b"<times srtt", b'<host><address addr="1.1.1.1" '
                                b'addrtype="ipv4"/></host>'),
    "a host in another element": _before(b"<verbose", b'<x><host><address addr="1.1.1.1" '
                                         b'addrtype="ipv4"/></host></x>'),
    "an empty port element": BASE.replace(b"<ports>", b'<ports><port protocol="tcp" '
                                          b'portid="5"/>', 1),
    "a newline after <port": BASE.replace(b"<ports><port ", b"<ports><port\n", 1),
    "</port > and </host >": BASE.replace(b"</port>", b"</port >", 1).replace(
        b"</host>", b"</host >", 1),
    "scaninfo and finished in a host": _before(
        b"<times srtt", b'<scaninfo type="udp" protocol="udp" services="53"/>'
                        b'<finished exit="zz"/>'),
    "finished twice, and nested": BASE.replace(
        b"</runstats>", b'<finished exit="outer"><finished exit="inner"/></finished>'
                        b"</runstats>", 1),
    "namespaces": BASE.replace(b"<host starttime", b'<host xmlns="urn:x" starttime', 1)
    .replace(b"<service name", b'<service xmlns="urn:y" name', 1),
    "a namespaced port": BASE.replace(b"<port protocol", b'<port xmlns="urn:x" protocol', 1),
    "declared attribute defaults": BASE.replace(
        b"<!DOCTYPE nmaprun>", b'<!DOCTYPE nmaprun [<!ATTLIST port protocol CDATA "udp">]>',
        1).replace(b'protocol="tcp" portid="22"', b'portid="22"'),
    "Latin-1": BASE.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(
        b'product="OpenSSH"', b'product="Op\xe9nSSH"'),
    "CDATA, comment, PI in the body": _before(b"<verbose", b"<!-- c --><?pi x?>").replace(
        b"sha256WithRSAEncryption", b"<![CDATA[<port x>]]>"),
    "entities and odd whitespace": BASE.replace(
        b'product="OpenSSH"', b'product="Open&amp;SSH &#x4e2d;\t&lt;x&gt;\n"').replace(
        b"\n", b"\r\n"),
    "our placeholder's name": _before(b"<verbose", b"<garrison-cut-port/>"),
    "an external DTD and an unknown entity": BASE.replace(
        b"<!DOCTYPE nmaprun>", b'<!DOCTYPE nmaprun SYSTEM "nmap.dtd">').replace(
        b'product="OpenSSH"', b'product="Open&foo;SSH"'),
    "an unknown entity": BASE.replace(b"<cpe>cpe:/a:openbsd", b"<cpe>&foo;cpe:/a:openbsd"),
    "a port number that is not one": BASE.replace(b'portid="22"', b'portid="2 2"'),
    "damage after a bad port": BASE.replace(b'portid="22"', b'portid="2 2"').replace(
        b"</hostnames>", b"</hostname>"),
}
_SAME = _bench(4)  # the same <ports> text on every host: cut out whole from the second on
CASES.update({
    "repeated <ports>": _SAME,
    "repeated <ports> holding a host": _SAME.replace(
        b"</ports>", b'<host><address addr="1.1.1.1" addrtype="ipv4"/></host></ports>'),
    "repeated <ports> holding finished": _SAME.replace(b"</ports>", b'<finished exit="q"/>'
                                                       b"</ports>"),
    "repeated <ports> in a host script": _SAME.replace(
        b"<times ", b'<hostscript><script id="a" output="b"><ports><port protocol="tcp" '
                    b'portid="7"/></ports></script></hostscript><times '),
    "repeated <ports> with a bad port number": _SAME.replace(b'portid="3306"',
                                                             b'portid="33 06"'),
    "repeated <ports>, namespaced inside": _SAME.replace(
        b"<ports>", b'<ports><x xmlns="urn:q"><port protocol="tcp" portid="3"/></x>'),
    "<ports> under the root, twice": _SAME.replace(
        b"<verbose", b'<ports><port protocol="tcp" portid="7"/></ports>' * 2 + b"<verbose"),
})


def _read(data: bytes, *, cut: bool) -> tuple[Any, ...]:
    reader = nx.NmapXmlReader(io.BytesIO(data), name="f.xml")
    if not cut:
        reader._read_cut = _never  # type: ignore[method-assign,assignment]
    hosts: list[nx.HostResult] = []
    error = None
    try:
        hosts.extend(reader.hosts())
    except Exception as exc:  # noqa: BLE001 - compared, whatever it is
        error = (type(exc).__name__, getattr(exc, "message", str(exc)))
    run = reader.run
    return ([repr(h) for h in hosts], error, run.args, run.version, run.start,
            dict(run.scan_types), {k: str(v) for k, v in run.ports.items()}, run.complete,
            run.exit, run.summary, reader.bytes_read)


def _never(_counter: object, _offset: int) -> Iterator[nx.HostResult]:
    raise nx._Fallback
    yield  # a generator, like the real one


@pytest.fixture(params=[1 << 20, 509, 7], ids=["1MiB", "509B", "7B"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(nx, "_CHUNK", request.param)
    size: int = request.param
    return size


@pytest.mark.usefixtures("chunk")
@pytest.mark.parametrize("name", sorted(CASES))
def test_odd_files_read_as_the_plain_reader_reads_them(name: str) -> None:
    assert _read(CASES[name], cut=True) == _read(CASES[name], cut=False)


def test_a_file_cut_anywhere_reads_as_the_plain_reader_reads_it(chunk: int) -> None:
    data = _bench(3)
    end_of_host = data.index(b"</host>", data.index(b"</host>") + 1) + 7
    ends = {*range(0, len(data), 11 if chunk == 7 else 5),  # everywhere, and each byte
            *range(end_of_host - 40, end_of_host + 40)}       # around a host's end
    for end in sorted(ends):
        assert _read(data[:end], cut=True) == _read(data[:end], cut=False), end


def test_equal_ports_are_one_object_and_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []
    real = nx._parse_ports

    def counting(keys: list[bytes]) -> list[nx.PortResult]:
        parsed.append(len(keys))
        return real(keys)

    monkeypatch.setattr(nx, "_parse_ports", counting)
    hosts = list(nx.NmapXmlReader(io.BytesIO(_bench(300))).hosts())
    assert len(hosts) == 300 and sum(parsed) == 6  # six distinct ports, parsed once each
    assert all(h.ports[i] is hosts[0].ports[i] for h in hosts for i in range(6))
