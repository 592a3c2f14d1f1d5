"""``assets list/show``, ``scan list/show/diff`` as typed: the summary line before the
table, pages with ``--limit``/``--after``, ``--json`` paged the same way, gone assets;
and ``findings show`` saying its asset is gone. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.garrison.helpers import load_demo_org
from tests.scanner.fakes import nmap_xml
from tests.scanner.listing_data import HZ_ORDER, build


@pytest.fixture
def province(settings: Settings) -> tuple[Settings, dict[str, int]]:
    return settings, build(settings)


def test_assets_list_summarises_then_pages(cli: CliRunner,
                                           province: tuple[Settings, dict[str, int]]) -> None:
    settings, _ids = province
    first = cli("assets", "list", "--unit", "hz-jw", "--limit", "3", db_url=settings.db)
    lines = first.out.splitlines()
    assert lines[0] == ("10 assets in hz-jw and below: 8 up, 1 down, 1 gone; showing 1-3 "
                        "(next: --after hz-jw/10.0.0.1)")
    assert [line.split()[1:3] for line in lines if line.startswith("│")] == [
        ["hz-cg", "│"], ["hz-cg", "│"], ["hz-jw", "│"]]
    second = cli("assets", "list", "--unit", "hz-jw", "--limit", "3", "--after",
                 "hz-jw/10.0.0.1", db_url=settings.db)
    assert second.out.splitlines()[0] == (
        "10 assets in hz-jw and below: 8 up, 1 down, 1 gone; showing 4-6 "
        "(next: --after hz-jw/127.0.1.10)")
    last = cli("assets", "list", "--unit", "hz-jw", "--after", "hz-jw/127.0.1.100",
               db_url=settings.db)
    assert last.out.splitlines()[0] == (
        "10 assets in hz-jw and below: 8 up, 1 down, 1 gone; showing 8-10")
    beyond = cli("assets", "list", "--unit", "hz-jw", "--after", "hz-jw/fd00::10",
                 db_url=settings.db)
    assert beyond.out == ("10 assets in hz-jw and below: 8 up, 1 down, 1 gone; nothing after "
                          "hz-jw/fd00::10\n")


def test_the_summary_line_is_never_wrapped(
        cli: CliRunner, province: tuple[Settings, dict[str, int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A narrow terminal must not cut the ``--after`` to copy in two."""
    settings, _ids = province
    monkeypatch.setenv("COLUMNS", "40")
    first = cli("assets", "list", "--limit", "1", db_url=settings.db).out.splitlines()[0]
    assert first == ("11 assets in every unit: 9 up, 1 down, 1 gone; showing 1-1 "
                     "(next: --after hz-cg/127.0.1.10)")


def test_assets_list_filters_say_what_they_matched(
        cli: CliRunner, province: tuple[Settings, dict[str, int]]) -> None:
    settings, _ids = province
    ssh = cli("assets", "list", "--service", "tcp/22", "--text", "hz-jw", db_url=settings.db)
    assert ssh.out.splitlines()[0] == (
        "2 assets in every unit matching 'hz-jw' with service 'tcp/22': 1 up, 1 gone; "
        "showing 1-2")
    none = cli("assets", "list", "--unit", "nb-jw", "--state", "gone", db_url=settings.db)
    assert none.out == "No assets in nb-jw and below in state gone.\n"
    markup = cli("assets", "list", "--text", "[b]x", db_url=settings.db)
    assert markup.out == "No assets in every unit matching '[b]x'.\n"
    typo = cli("assets", "list", "--state", "goen", db_url=settings.db)
    assert typo.code == 1
    assert typo.err.splitlines() == ["error: unknown state 'goen' (did you mean 'gone'?)",
                                     "Use one of: up, down, gone."]
    bad = cli("assets", "list", "--after", "127.0.1.2", db_url=settings.db)
    assert bad.code == 1
    assert bad.err.splitlines() == [
        "error: --after '127.0.1.2' is not UNIT/ADDRESS (e.g. hz-jw/127.0.0.50)",
        "Copy it from the \"next:\" of the page before."]


def test_assets_list_json_pages_like_a_script_would(
        cli: CliRunner, province: tuple[Settings, dict[str, int]]) -> None:
    settings, _ids = province
    seen: list[tuple[str, str]] = []
    after: list[str] = []
    while True:
        page = json.loads(cli("assets", "list", "--unit", "hz-jw", "--json", "--limit", "4",
                              *after, db_url=settings.db).out)
        seen += [(a["unit"], a["address"]) for a in page]
        if len(page) < 4:
            break
        after = ["--after", f"{page[-1]['unit']}/{page[-1]['address']}"]
    assert seen == HZ_ORDER
    (gone,) = json.loads(cli("assets", "list", "--state", "gone", "--json",
                             db_url=settings.db).out)
    assert (gone["open_services"], gone["last_seen_services"], gone["open_findings"]) == (0, 2, 1)


def test_a_gone_asset_shows_services_last_seen_and_findings_gone(
        cli: CliRunner, province: tuple[Settings, dict[str, int]]) -> None:
    settings, ids = province
    listed = cli("assets", "list", "--state", "gone", db_url=settings.db).out
    row = next(line for line in listed.splitlines() if "127.0.1.9" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "hz-jw", "127.0.1.9", "hz-jw-127.0.1.9.example", "gone", "2 last seen", "1",
        "2026-11-20 08:00"]
    shown = cli("assets", "show", "127.0.1.9", db_url=settings.db).out.splitlines()
    assert shown[0] == ("127.0.1.9 (hz-jw) gone since 2026-11-24 09:30; hostname "
                        "hz-jw-127.0.1.9.example; MAC -; OS -")
    services = [line.split("│")[1:3] for line in shown if "tcp/" in line]
    assert [(p.strip(), s.strip()) for p, s in services] == [("tcp/22", "last seen"),
                                                             ("tcp/6379", "last seen")]
    finding = next(line for line in shown if "Weak password" in line)
    assert "open (asset gone)" in finding
    (detail,) = json.loads(cli("assets", "show", "127.0.1.9", "--json", db_url=settings.db).out)
    assert (detail["state"], detail["gone_since"]) == ("gone", "2026-11-24T09:30:00+00:00")
    up = cli("assets", "show", "127.0.1.2", db_url=settings.db).out
    assert "gone" not in up and "last seen" not in up
    finding_text = cli("findings", "show", str(ids["gone_finding"]), db_url=settings.db).out
    assert "where: 127.0.1.9 (asset gone since 2026-11-24)" in finding_text
    finding_json = json.loads(cli("findings", "show", str(ids["gone_finding"]), "--json",
                                  db_url=settings.db).out)
    assert finding_json["asset_gone_since"] == "2026-11-24T09:30:00+00:00"


def test_scan_show_counts_then_pages_changes(cli: CliRunner,
                                             province: tuple[Settings, dict[str, int]]) -> None:
    settings, ids = province
    run = ids["run1"]
    first = cli("scan", "show", str(run), "--limit", "2", db_url=settings.db).out.splitlines()
    summary = next(i for i, line in enumerate(first) if line.startswith("6 changes"))
    page = json.loads(cli("scan", "show", str(run), "--limit", "2", "--json",
                          db_url=settings.db).out)
    assert first[summary] == f"6 changes; showing 1-2 (next: --after {page['changes'][-1]['id']})"
    assert [(c["address"], c["port"]) for c in page["changes"]] == [("127.0.1.2", 443),
                                                                     ("127.0.1.2", 22)]
    assert page["changes_total"] == 6
    rest = json.loads(cli("scan", "show", str(run), "--json", "--after",
                          str(page["changes"][-1]["id"]), db_url=settings.db).out)
    assert [(c["address"], c["port"]) for c in rest["changes"]] == [
        ("127.0.1.10", 80), ("127.0.1.10", 22), ("127.0.1.10", 8080), ("fd00::10", None)]
    bad = cli("scan", "show", str(run), "--after", "99999", db_url=settings.db)
    assert bad.err.splitlines()[0] == "error: --after 99999: change 99999 is not in this list"


def test_scan_list_and_diff_by_observation(cli: CliRunner,
                                           province: tuple[Settings, dict[str, int]]) -> None:
    settings, ids = province
    run1, run2, run3 = ids["run1"], ids["run2"], ids["run3"]
    listed = cli("scan", "list", "--limit", "2", db_url=settings.db).out.splitlines()
    assert listed[0] == f"3 runs in every unit: 3 done; showing 1-2 (next: --after {run1})"
    assert [line.split("│")[1].strip() for line in listed if line.startswith("│")] == [
        str(run3), str(run1)]
    rest = json.loads(cli("scan", "list", "--json", "--after", str(run1),
                          db_url=settings.db).out)
    assert [(r["id"], r["observed_at"]) for r in rest] == [(run2, "2026-11-01T08:00:00+00:00")]
    page = json.loads(cli("scan", "diff", str(run2), str(run3), "--json", "--limit", "3",
                          db_url=settings.db).out)
    diff = cli("scan", "diff", str(run2), str(run3), "--limit", "3", db_url=settings.db).out
    assert diff.splitlines()[0] == (
        f"7 changes by 2 runs of hz-jw observed after run {run2} (2026-11-01 08:00) up to run "
        f"{run3} (2026-11-10 08:00): 1 asset_appeared, 1 asset_gone, 1 port_closed, "
        f"4 port_opened; showing 1-3 (next: --after {page[-1]['id']})")
    assert [(c["run"], c["address"]) for c in page] == [
        (run1, "127.0.1.2"), (run1, "127.0.1.2"), (run3, "127.0.1.9")]
    tie = cli("scan", "diff", str(run1), str(run3), db_url=settings.db).out
    assert tie.splitlines()[0] == (
        f"1 change by 1 run of hz-jw observed after run {run1} (2026-11-10 08:00) up to run "
        f"{run3} (2026-11-10 08:00): 1 asset_gone; showing 1-1")
    same = cli("scan", "diff", str(run3), str(run3), db_url=settings.db)
    assert same.out == f"No changes between run {run3} and run {run3}.\n"


@pytest.mark.parametrize("args", [["assets", "list"], ["scan", "list"]])
def test_lists_take_fifty_by_default(cli: CliRunner, settings: Settings, args: list[str]
                                     ) -> None:
    from garrison.db import write_session
    from garrison.models import Asset, RunKind, ScanRun, ScanStatus, Unit
    from tests.garrison.helpers import load_demo_org
    from tests.scanner.listing_data import SEEN

    load_demo_org(settings)
    with write_session(settings) as session:
        from sqlmodel import select

        unit = session.exec(select(Unit).where(Unit.code == "hz-jw")).one()
        for i in range(60):
            session.add(Asset(unit_id=unit.id or 0, address=f"127.0.1.{i}", first_seen=SEEN,
                              last_seen=SEEN, last_observed=SEEN))
            session.add(ScanRun(unit_id=unit.id or 0, kind=RunKind.scan, profile="test",
                                actor="t", status=ScanStatus.done, started_at=SEEN,
                                observed_at=SEEN))
    shown = json.loads(cli(*args, "--json", db_url=settings.db).out)
    assert len(shown) == 50
    assert cli(*args, db_url=settings.db).out.splitlines()[0].endswith(
        "showing 1-50 (next: --after hz-jw/127.0.1.49)" if args[0] == "assets" else
        f"showing 1-50 (next: --after {shown[-1]['id']})")


def test_imported_assets_list_in_numeric_order(cli: CliRunner, settings: Settings,
                                               tmp_path: Path) -> None:
    """Through the real import: the inventory stores each address's sort key."""
    load_demo_org(settings)
    scan = tmp_path / "scan.xml"
    scan.write_bytes(nmap_xml([(f"127.0.1.{n}", [(22, "ssh")]) for n in (100, 9, 10, 2)], "22"))
    assert cli("scan", "import", str(scan), "--unit", "hz-jw", db_url=settings.db).code == 0
    listed = json.loads(cli("assets", "list", "--json", db_url=settings.db).out)
    assert [a["address"] for a in listed] == ["127.0.1.2", "127.0.1.9", "127.0.1.10",
                                              "127.0.1.100"]
    (run,) = json.loads(cli("scan", "list", "--json", db_url=settings.db).out)
    shown = json.loads(cli("scan", "show", str(run["id"]), "--json", db_url=settings.db).out)
    assert [c["address"] for c in shown["changes"]] == ["127.0.1.2", "127.0.1.9", "127.0.1.10",
                                                        "127.0.1.100"]
