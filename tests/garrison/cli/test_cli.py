"""The ``garrison`` command line, through its real entry point."""

from __future__ import annotations

import json
from pathlib import Path

from garrison.db import SCHEMA_HEAD
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import plain_sql, snapshot

GOOD = str(FIXTURES / "org" / "good_small.yaml")


def test_help_lists_every_command_group(cli: CliRunner) -> None:
    result = cli("--help")
    assert result.code == 0
    for name in ["init", "demo", "org", "scope", "scan", "assets", "findings", "drill",
                 "experts", "tui", "audit"]:
        assert f" {name} " in result.out


def test_version(cli: CliRunner) -> None:
    from garrison import __version__

    assert cli("--version").out == f"garrison {__version__}\n"


def test_init_is_idempotent(cli: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    first = cli("init", db_url=url)
    assert first.code == 0 and first.out.startswith(f"Created the Garrison schema {SCHEMA_HEAD}")
    second = cli("init", db_url=url)
    assert second.code == 0 and f"is up to date (schema {SCHEMA_HEAD})" in second.out


def test_org_import_then_list_as_json(cli: CliRunner, settings: Settings) -> None:
    result = cli("org", "import", GOOD, db_url=settings.db)
    assert result.code == 0, result.err
    assert "+ unit zj-jst" in result.out and "+ scope hz-jw 127.0.1.0/24" in result.out
    again = cli("org", "import", GOOD, db_url=settings.db)
    assert again.out.startswith("No changes: 2 units already match")
    tree = json.loads(cli("org", "list", "--json", db_url=settings.db).out)
    assert tree[0]["code"] == "zj-jst"
    assert tree[0]["units"][0]["code"] == "hz-jw"
    assert tree[0]["units"][0]["scopes"][0]["cidr"] == "127.0.1.0/24"


def test_bad_org_file_exits_1_lists_problems_and_writes_nothing(
    cli: CliRunner, settings: Settings
) -> None:
    cli("org", "import", GOOD, db_url=settings.db)
    before = snapshot(settings)
    bad = FIXTURES / "org" / "bad_cidr_and_date.yaml"
    result = cli("org", "import", str(bad), db_url=settings.db)
    assert result.code == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == (f"error: {bad}:7: units[0].scopes[0].cidr: '127.0.0.300' is not a "
                        "valid IPv4 address")
    assert f"{bad}:10: units[0].scopes[3].valid_until: invalid date 'next year'" in result.err
    assert lines[-1] == ("Nothing was written. Fix the problems above and run the command "
                         "again.")
    assert "Traceback" not in result.err
    assert snapshot(settings) == before


def test_scope_check_exit_codes_and_json(cli: CliRunner, settings: Settings) -> None:
    cli("org", "import", GOOD, db_url=settings.db)
    ok = cli("scope", "check", "127.0.1.10", "--unit", "hz-jw", db_url=settings.db)
    assert ok.code == 0
    assert ok.out == "allowed 127.0.1.10: 127.0.1.10 is inside scope 127.0.1.0/24 [HZ-2026-03]\n"
    refused = cli("scope", "check", "0177.0.0.1", "--unit", "hz-jw", db_url=settings.db)
    assert refused.code == 4
    assert refused.out.startswith("refused 0177.0.0.1: '0177.0.0.1' is a legacy numeric form")
    assert refused.err.startswith("error: 1 of 1 targets refused for hz-jw; the refusal is in "
                                  "the audit trail.")
    as_json = cli("scope", "check", "--unit", "hz-jw", "--json", "--", "127.0.1.0/24",
                  "-oN/etc/x", db_url=settings.db)
    assert as_json.code == 4
    verdicts = json.loads(as_json.out)
    assert [(v["target"], v["allowed"]) for v in verdicts] == [("127.0.1.0/24", True),
                                                              ("-oN/etc/x", False)]
    assert verdicts[0]["addresses"] == 256 and verdicts[0]["scopes"][0]["cidr"] == "127.0.1.0/24"
    log = json.loads(cli("audit", "log", "--action", "scope.refused", "--json",
                         db_url=settings.db).out)
    assert [e["subject"] for e in log] == ["target:-oN/etc/x", "target:0177.0.0.1"]


def test_scope_list_json(cli: CliRunner, settings: Settings) -> None:
    cli("org", "import", GOOD, db_url=settings.db)
    scopes = json.loads(cli("scope", "list", "--unit", "hz-jw", "--json", db_url=settings.db).out)
    assert scopes == [{"unit": "hz-jw", "cidr": "127.0.1.0/24", "authorized_by": "HZ-2026-03",
                       "valid_from": None, "valid_until": None, "max_rate": None,
                       "state": "active"}]
    unknown = cli("scope", "list", "--unit", "hz-jx", db_url=settings.db)
    assert unknown.code == 1
    assert unknown.err.splitlines() == ["error: unknown unit 'hz-jx' (did you mean 'hz-jw'?)",
                                        "`garrison org list` shows every unit code."]


def test_audit_verify_passes_then_names_the_edited_row(
    cli: CliRunner, settings: Settings
) -> None:
    assert cli("audit", "verify", db_url=settings.db).code == 0  # fresh database
    cli("org", "import", GOOD, db_url=settings.db)
    ok = cli("audit", "verify", db_url=settings.db)
    assert ok.code == 0 and ok.out.startswith("OK 5 audit rows verified")
    plain_sql(settings, "UPDATE auditevent SET subject = 'unit:nothing-to-see' WHERE seq = 3")
    broken = cli("audit", "verify", db_url=settings.db)
    assert broken.code == 5
    assert broken.err.startswith("error: audit chain broken at row seq=3: row seq=3 "
                                 "(org.unit.created by tester at ")
    as_json = json.loads(cli("audit", "verify", "--json", db_url=settings.db).out)
    assert as_json["ok"] is False and as_json["broken_seq"] == 3


def test_audit_export_and_verify_the_file_and_anchor(
    cli: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    cli("org", "import", GOOD, db_url=settings.db)
    out = tmp_path / "audit.jsonl"
    exported = cli("audit", "export", "-o", str(out), db_url=settings.db)
    assert exported.code == 0 and f"Wrote 5 rows to {out}" in exported.out
    manifest = out.with_name("audit.jsonl.manifest.json")
    assert cli("audit", "verify", "--file", str(out)).code == 0
    assert cli("audit", "verify", "--anchor", str(manifest), db_url=settings.db).code == 0
    plain_sql(settings, "DELETE FROM auditevent WHERE seq >= 5")
    truncated = cli("audit", "verify", "--anchor", str(manifest), db_url=settings.db)
    assert truncated.code == 5
    assert "the chain ends at seq=4 but the anchor names seq=5" in truncated.err


def test_bad_database_url_is_one_clear_error(cli: CliRunner) -> None:
    result = cli("org", "list", db_url="mysql://x/y")
    assert result.code == 2  # a bad setting (tests/garrison/test_settings.py has them all)
    assert result.err.splitlines()[0] == (
        "error: --db='mysql://x/y': unsupported database; expected sqlite:///PATH or "
        "postgresql+psycopg://USER:PASSWORD@HOST[:PORT]/DATABASE")


def test_commands_use_garrison_db_from_the_environment(
    cli: CliRunner, tmp_path: Path, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    path = tmp_path / "env.db"
    monkeypatch.setenv("GARRISON_DB", f"sqlite:///{path}")
    monkeypatch.setenv("GARRISON_ACTOR", "auditor-li")
    result = cli("org", "import", GOOD)
    assert result.code == 0 and path.exists()
    assert "Initialised a new Garrison database" in result.err
    log = json.loads(cli("audit", "log", "--json", "-n", "1").out)
    assert log[0]["actor"] == "auditor-li"
    other = cli("--actor", "officer-wang", "scope", "check", "10.0.0.1", "--unit", "hz-jw")
    assert other.code == 4
    assert json.loads(cli("audit", "log", "--json", "-n", "1").out)[0]["actor"] == "officer-wang"


def test_demo_refuses_to_mix_into_a_real_database(cli: CliRunner, settings: Settings) -> None:
    cli("org", "import", str(FIXTURES / "org" / "good_small.yaml"), db_url=settings.db)
    plain_sql(settings, "UPDATE unit SET code = 'real-unit' WHERE code = 'hz-jw'")
    result = cli("demo", db_url=settings.db)
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "error: this database already holds 1 units that are not part of the demo "
        "(e.g. real-unit); the demo would be mixed into it")


def test_unwritable_or_missing_paths_are_one_clear_error(
    cli: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    missing_dir = tmp_path / "no-such-dir" / "audit.jsonl"
    result = cli("audit", "export", "-o", str(missing_dir), db_url=settings.db)
    assert (result.code, result.err) == (
        1, f"error: cannot write {missing_dir}: No such file or directory\n"
        "Choose a writable file in an existing directory with -o.\n")
    result = cli("audit", "verify", "--file", str(tmp_path / "nope.jsonl"))
    assert (result.code, result.err) == (
        1, f"error: {tmp_path / 'nope.jsonl'}: No such file or directory\n")
