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


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")
def test_the_real_nmap_corpus_imports(org: Settings) -> None:
    stored = 0
    for path in sorted(CORPUS.glob("*.xml")):
        if path.name.startswith("defused_"):
            with pytest.raises(GarrisonError):
                import_xml(org, path=path, unit_code="lab")
            continue
        report = import_xml(org, path=path, unit_code="lab")
        assert report.hosts_read >= 1, path.name
        stored += report.hosts_stored
    assert stored > 0


def test_ipv6_addresses_are_stored_in_canonical_form(org: Settings, tmp_path: Path) -> None:
    text = (NMAP / "two_hosts_sv.xml").read_text().replace(
        '<address addr="127.0.1.10" addrtype="ipv4"/>',
        '<address addr="0:0:0:0:0:0:0:1" addrtype="ipv6"/>')
    path = tmp_path / "v6.xml"
    path.write_text(text)
    report = import_xml(org, path=path, unit_code="lab")
    assert report.hosts_stored == 2
    assert set(findings(org)) == {("nginx-outdated", "::1", 443)}
