"""``garrison scan import``: whole or nothing, scope-filtered, hostile files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garrison.errors import GarrisonError
from garrison.settings import Settings
from scanner.importer import import_xml
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import import_file, snapshot
from tests.scanner.helpers import findings

NMAP = FIXTURES / "nmap"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "libnmap"
LAB_ORG = """
units:
  - code: lab
    name: 测试实验室
    level: unit
    officer: {name: 张伟}
    scopes:
      - {cidr: 127.0.1.0/24, authorized_by: T-1}
      - {cidr: 192.168.1.0/24, authorized_by: T-2}
      - {cidr: 10.1.1.0/24, authorized_by: T-3}
      - {cidr: 74.207.244.0/24, authorized_by: T-4}
      - {cidr: "::1", authorized_by: T-5}
"""


@pytest.fixture
def org(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "org.yaml"
    path.write_text(LAB_ORG, encoding="utf-8")
    import_file(settings, path)
    return settings


def _inventory(settings: Settings) -> dict[str, object]:
    snap = snapshot(settings)
    return {k: v for k, v in snap.items() if k != "auditevent"}


def test_import_stores_hosts_services_and_findings(org: Settings) -> None:
    report = import_xml(org, path=NMAP / "two_hosts_sv.xml", unit_code="lab")
    assert (report.hosts_read, report.hosts_stored, report.hosts_up, report.services) == (
        2, 2, 1, 2)
    assert report.counts == {"change.asset_appeared": 1, "finding.new": 1}
    assert findings(org) == {("nginx-outdated", "127.0.1.10", 443): "open"}


@pytest.mark.parametrize("name", ["entity_bomb.xml", "external_entity.xml",
                                  "malformed_middle.xml", "not_nmap.xml"])
def test_bad_files_store_nothing_and_the_refusal_is_audited(
    cli: CliRunner, org: Settings, name: str
) -> None:
    before = _inventory(org)
    result = cli("scan", "import", str(NMAP / name), "--unit", "lab", db_url=org.db)
    assert result.code == 1
    assert result.err.startswith(f"error: {NMAP / name}")
    assert "Traceback" not in result.err
    assert _inventory(org) == before  # no run, no asset, no finding, nothing
    log = json.loads(cli("audit", "log", "-n", "1", "--json", db_url=org.db).out)
    assert log[0]["action"] == "scan.import.refused"
    assert log[0]["payload"]["file"] == str(NMAP / name)


def test_an_incomplete_file_imports_its_complete_hosts(org: Settings, tmp_path: Path) -> None:
    text = (NMAP / "two_hosts_sv.xml").read_bytes()
    cut = tmp_path / "interrupted.xml"
    cut.write_bytes(text[: text.index(b'<address addr="127.0.1.11"')])
    report = import_xml(org, path=cut, unit_code="lab")
    assert (report.complete, report.hosts_stored) == (False, 1)


def test_hosts_outside_the_scopes_are_counted_not_stored(org: Settings, tmp_path: Path) -> None:
    text = (NMAP / "two_hosts_sv.xml").read_text().replace("127.0.1.11", "10.99.0.1")
    path = tmp_path / "mixed.xml"
    path.write_text(text)
    report = import_xml(org, path=path, unit_code="lab")
    assert (report.hosts_read, report.hosts_stored, report.hosts_skipped) == (2, 1, 1)


def test_unknown_unit_and_missing_file(org: Settings, tmp_path: Path) -> None:
    with pytest.raises(GarrisonError, match=r"unknown unit 'lba' \(did you mean 'lab'\?\)"):
        import_xml(org, path=NMAP / "two_hosts_sv.xml", unit_code="lba")
    with pytest.raises(GarrisonError, match="no such file"):
        import_xml(org, path=tmp_path / "nope.xml", unit_code="lab")


CORPUS_STORED = {  # file -> hosts stored for lab (its scopes hold 192.168.1.0/24 and
    # 74.207.244.0/24); in name order, so the later 2014 files meet full_sudo5's run
    "1_hosts_down.xml": 1, "2_hosts.xml": 1, "2_hosts_achange.xml": 1,
    "2_hosts_version.xml": 1, "2_null_hosts.xml": 1, "2_tcp_hosts.xml": 1,
    "full_sudo5.xml": 256, "full_sudo6.xml": 256, "fullscan.xml": 256, "os_scan5.xml": 256,
    "os_scan6.xml": 256}
CORPUS_REFUSED = {  # file -> the start of its one-line refusal
    "defused_et_included.xml": "not nmap XML output (the root element is <root>",
    "defused_et_local_includer.xml": "declares XML entities ('ee'); refused",
    "test_osclass.xml": "test_osclass.xml:14: host 1: 'IP' is not an IPv4 or IPv6 address",
}
"""Every other file: none of its hosts lies in lab's scopes (127.0.0.1, 172.28.1.3 ...)."""


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_the_real_nmap_corpus_imports(org: Settings) -> None:
    older: dict[str, int] = {}
    for path in sorted(CORPUS.glob("*.xml")):
        if path.name in CORPUS_STORED:
            report = import_xml(org, path=path, unit_code="lab")
            assert report.hosts_stored == CORPUS_STORED[path.name], path.name
            older[path.name] = report.older_total
            continue
        with pytest.raises(GarrisonError) as err:
            import_xml(org, path=path, unit_code="lab")
        expected = CORPUS_REFUSED.get(path.name, "lab's active scopes; nothing was imported")
        assert expected in err.value.message, (path.name, err.value.message)
    # the 2014 scans of 192.168.1.0/24 imported after full_sudo5 (22:02) ran before it:
    # what they saw of the hosts it covered is history
    assert older["full_sudo5.xml"] == 0
    assert all(older[n] > 0 for n in ("fullscan.xml", "os_scan5.xml", "os_scan6.xml"))


def test_ipv6_addresses_are_stored_in_canonical_form(org: Settings, tmp_path: Path) -> None:
    text = (NMAP / "two_hosts_sv.xml").read_text().replace(
        '<address addr="127.0.1.10" addrtype="ipv4"/>',
        '<address addr="0:0:0:0:0:0:0:1" addrtype="ipv6"/>')
    path = tmp_path / "v6.xml"
    path.write_text(text)
    report = import_xml(org, path=path, unit_code="lab")
    assert report.hosts_stored == 2
    assert set(findings(org)) == {("nginx-outdated", "::1", 443)}
