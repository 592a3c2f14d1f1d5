"""``garrison audit verify --file``: an audit export checked offline, end and bytes included.

A chain alone cannot see its own missing end: a file cut after any row is a valid chain.
With its manifest (beside the file or given with ``--manifest``) the row count, head and
SHA-256 must match too. (Today's check passes the truncated and extended files.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garrison import audit
from garrison.canonical import canonical_json, sha256_file
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.test_audit_evidence import flat

HINT = ("Do not use this file as evidence; export again from the database. `garrison audit "
        "verify-export FILE` also checks the manifest against the database's own record of "
        "the export.")


@pytest.fixture
def exported(cli: CliRunner, settings: Settings, tmp_path: Path) -> Path:
    """An audit export of five rows (the org import), its manifest beside it."""
    assert cli("org", "import", str(FIXTURES / "org" / "good_small.yaml"),
               db_url=settings.db).code == 0
    path = tmp_path / "audit.jsonl"
    assert cli("audit", "export", "-o", str(path), db_url=settings.db).code == 0
    return path


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_rows(path: Path, data: list[dict[str, object]]) -> None:
    path.write_text("".join(canonical_json(r) + "\n" for r in data), encoding="utf-8")


def test_an_intact_file_matches_its_manifest(cli: CliRunner, exported: Path) -> None:
    ok = cli("audit", "verify", "--file", str(exported))
    head = rows(exported)[-1]
    assert (ok.code, ok.err) == (0, "")
    assert flat(ok.out) == (f"OK 5 audit rows verified in {exported}; head seq=5 hash="
                            f"{head['hash']} It matches its manifest "
                            f"{audit.manifest_path(exported)} (rows, head and SHA-256).")


def test_a_truncated_file_names_both_ends(cli: CliRunner, exported: Path) -> None:
    data = rows(exported)
    write_rows(exported, data[:3])
    bad = cli("audit", "verify", "--file", str(exported))
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: audit.jsonl has 3 rows ending at seq=3 (hash {str(data[2]['hash'])[:16]}), "
        f"but its manifest {audit.manifest_path(exported)} records 5 rows ending at seq=5 "
        f"(hash {str(data[4]['hash'])[:16]}): rows were removed from the end {HINT}")
    as_json = json.loads(cli("audit", "verify", "--file", str(exported), "--json").out)
    assert (as_json["ok"], as_json["rows"], as_json["problem"]) == (False, 3, None)
    assert as_json["manifest_problem"].startswith("audit.jsonl has 3 rows ending at seq=3")


def test_an_extended_file_is_caught_though_its_chain_is_valid(
        cli: CliRunner, exported: Path) -> None:
    data = rows(exported)
    last = data[-1]
    extra = {"seq": 6, "at": last["at"], "actor": "mallory", "action": "test.event",
             "subject": "x", "payload": {}, "prev_hash": last["hash"]}
    extra["hash"] = audit.digest(seq=6, at=str(last["at"]), actor="mallory",
                                 action="test.event", subject="x", payload="{}",
                                 prev_hash=str(last["hash"]))
    write_rows(exported, [*data, extra])
    bad = cli("audit", "verify", "--file", str(exported))
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: audit.jsonl has 6 rows ending at seq=6 (hash {str(extra['hash'])[:16]}), "
        f"but its manifest {audit.manifest_path(exported)} records 5 rows ending at seq=5 "
        f"(hash {str(last['hash'])[:16]}): rows were added after the export {HINT}")


def test_changed_bytes_with_an_intact_chain_fail_on_the_hash(
        cli: CliRunner, exported: Path) -> None:
    recorded = sha256_file(exported)
    text = exported.read_text(encoding="utf-8")
    exported.write_text(text.replace('"payload":{', '"payload": {', 1), encoding="utf-8")
    bad = cli("audit", "verify", "--file", str(exported))
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: audit.jsonl was changed after export: SHA-256 {sha256_file(exported)[:16]} "
        f"does not match the manifest's {recorded[:16]} {HINT}")


def test_a_file_apart_from_its_manifest_says_what_it_could_not_check(
        cli: CliRunner, exported: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere.jsonl"
    write_rows(moved, rows(exported)[:4])
    alone = cli("audit", "verify", "--file", str(moved))
    assert alone.code == 0 and flat(alone.out).startswith("OK 4 audit rows verified in ")
    assert flat(alone.err) == ("No manifest beside elsewhere.jsonl: rows removed from its end "
                               "cannot be detected. Keep FILE.manifest.json with the file, or "
                               "give it with --manifest.")
    given = cli("audit", "verify", "--file", str(moved), "--manifest",
                str(audit.manifest_path(exported)))
    assert given.code == 5
    assert flat(given.err).startswith("error: elsewhere.jsonl has 4 rows ending at seq=4 ")


def test_the_wrong_manifest_or_a_manifest_without_a_file_is_refused(
        cli: CliRunner, exported: Path, settings: Settings, tmp_path: Path) -> None:
    findings = tmp_path / "f.csv"
    assert cli("findings", "export", "-f", "csv", "-o", str(findings),
               db_url=settings.db).code == 0
    wrong = cli("audit", "verify", "--file", str(exported), "--manifest",
                str(audit.manifest_path(findings)))
    assert (wrong.code, flat(wrong.err)) == (1, (
        f"error: {audit.manifest_path(findings)} is a manifest of kind garrison-findings-export"
        ", not of an audit export (garrison-audit-export) Give the .manifest.json written "
        "beside the audit export with --manifest."))
    alone = cli("audit", "verify", "--manifest", str(audit.manifest_path(exported)),
                db_url=settings.db)
    assert (alone.code, alone.err) == (1, "error: --manifest goes with --file\nTo check the "
                                          "database against an export's manifest, use --anchor "
                                          "MANIFEST.\n")
    audit.manifest_path(exported).write_text("{not json", encoding="utf-8")
    broken = cli("audit", "verify", "--file", str(exported))
    assert (broken.code, flat(broken.err)) == (1, (
        f"error: {audit.manifest_path(exported)}: not a Garrison manifest (Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1)) Use the .manifest.json "
        "written beside the export."))
