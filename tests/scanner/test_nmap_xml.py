"""The streaming nmap XML reader: completeness, hostile files, interrupted runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scanner.nmap_xml import HostResult, NmapXmlError, NmapXmlReader, PortRanges
from tests.conftest import FIXTURES

NMAP = FIXTURES / "nmap"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "libnmap"


def _read(path: Path) -> tuple[NmapXmlReader, list[HostResult]]:
    reader = NmapXmlReader(path)
    return reader, list(reader.hosts())


def test_every_cpe_and_structured_script_output_is_kept() -> None:
    reader, hosts = _read(NMAP / "two_hosts_sv.xml")
    up, down = hosts
    assert (up.address, up.state, up.hostname) == ("127.0.1.10", "up", "portal.hz.example")
    assert (down.address, down.state) == ("127.0.1.11", "down")
    ssh, https, redis = up.ports
    assert ssh.cpes == ("cpe:/a:openbsd:openssh:7.4", "cpe:/o:linux:linux_kernel")
    assert (ssh.name, ssh.product, ssh.version, ssh.method) == ("ssh", "OpenSSH", "7.4", "probed")
    assert (https.tunnel, redis.state, redis.method) == ("ssl", "closed", "table")
    (cert,) = https.scripts
    assert cert.id == "ssl-cert" and cert.output.startswith("Subject: commonName=portal")
    assert cert.data == {  # structured output, kept as JSON text
        "subject": {"commonName": "portal.hz.example"},
        "extensions": [{"name": "X509v3 Subject Alternative Name",
                        "value": "DNS:portal.hz.example"}],
        "sig_algo": "sha256WithRSAEncryption",
    }
    assert reader.run.complete and reader.run.version == "7.93"
    assert reader.run.version_detection
    assert str(reader.run.ports["tcp"]) == "22,443,6379"


def test_python_nmap_keeps_fewer_cpes_than_we_do() -> None:
    """The reason we parse ourselves: python-nmap keeps one CPE per service."""
    import nmap

    scanner = nmap.PortScanner.__new__(nmap.PortScanner)
    scanner._scan_result = {}
    result = scanner.analyse_nmap_xml_scan((NMAP / "two_hosts_sv.xml").read_text())
    assert result["scan"]["127.0.1.10"]["tcp"][22]["cpe"] == "cpe:/o:linux:linux_kernel"


def test_port_ranges() -> None:
    ranges = PortRanges.parse("1-1024,1433,3306,8000-8100,1020-1030")
    assert str(ranges) == "1-1030,1433,3306,8000-8100"
    assert 22 in ranges and 1030 in ranges and 1433 in ranges and 8050 in ranges
    assert 1031 not in ranges and 65535 not in ranges and "22" not in ranges
    assert len(ranges) == 1030 + 2 + 101


def test_a_file_cut_short_yields_its_complete_hosts(tmp_path: Path) -> None:
    text = (NMAP / "two_hosts_sv.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(text[: text.index(b'<address addr="127.0.1.11"') + 10])
    reader, hosts = _read(cut)
    assert [h.address for h in hosts] == ["127.0.1.10"]
    assert reader.run.complete is False


# Every hostile or broken file, paired with the exact error it must produce.
BAD = [
    ("entity_bomb.xml", "{f}: declares XML entities ('lol'); refused (an entity bomb or an "
     "external-entity attack)"),
    ("external_entity.xml", "{f}: declares XML entities ('secret'); refused (an entity bomb or "
     "an external-entity attack)"),
    ("malformed_middle.xml", "{f}:9: not well-formed XML (mismatched tag); nothing was imported"),
    ("not_nmap.xml", "{f}: not nmap XML output (the root element is <report>, not <nmaprun>)"),
]


@pytest.mark.parametrize(("name", "message"), BAD)
def test_hostile_and_broken_files_are_refused(name: str, message: str) -> None:
    path = NMAP / name
    with pytest.raises(NmapXmlError) as err:
        _read(path)
    assert err.value.message == message.format(f=path)


def test_garbage_and_empty_input() -> None:
    with pytest.raises(NmapXmlError) as err:
        list(NmapXmlReader(io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00"), name="x.png").hosts())
    assert err.value.message == "x.png:1: not well-formed XML (not well-formed (invalid token))"
    with pytest.raises(NmapXmlError) as err:
        list(NmapXmlReader(io.BytesIO(b""), name="empty.xml").hosts())
    assert err.value.message == "empty.xml:1: not well-formed XML (no element found)"


CORPUS_EXPECTED = {
    # file: (hosts, up, ports, cpes, scripts, os guesses)
    "1_os_banner_scripts.xml": (1, 1, 8, 0, 6, 0),
    "2_hosts_version.xml": (2, 2, 9, 0, 0, 1),
    "dionaea_scan.xml": (1, 1, 16, 3, 55, 1),
    "full_sudo6.xml": (256, 4, 12, 5, 23, 3),
    "os_scan6.xml": (256, 3, 11, 0, 0, 3),
    "test_osclass.xml": (1, 1, 7, 0, 0, 1),
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_real_nmap_output_from_the_corpus(name: str) -> None:
    reader, hosts = _read(CORPUS / name)
    summary = (
        len(hosts), sum(1 for h in hosts if h.state == "up"),
        sum(len(h.ports) for h in hosts),
        sum(len(p.cpes) for h in hosts for p in h.ports),
        sum(len(p.scripts) for h in hosts for p in h.ports) + sum(len(h.scripts) for h in hosts),
        sum(1 for h in hosts if h.os_guess),
    )
    assert summary == CORPUS_EXPECTED[name]
    assert reader.run.complete


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_every_corpus_file_reads_or_fails_clearly() -> None:
    for path in sorted(CORPUS.glob("*.xml")):
        reader = NmapXmlReader(path)
        if path.name.startswith("defused_"):
            with pytest.raises(NmapXmlError):
                list(reader.hosts())
        else:
            assert list(reader.hosts()), path.name
