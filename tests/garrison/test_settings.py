"""Settings: defaults, environment, precedence, and one clear line for every bad value.

Every setting a user can give (``--db``, ``--actor``, each ``GARRISON_*`` variable) is
paired here with bad values and the exact message each must produce, run through the
real CLI: exit code 2, the variable, the value, the expected form, no traceback, and
nothing written or sent.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

import pytest

from garrison.errors import SettingsError
from garrison.settings import Settings, default_db_path
from scanner.settings import ScannerSettings
from tests.conftest import FIXTURES, REPO, CliRunner
from tests.garrison.helpers import import_file, snapshot
from tests.scanner.fakes import fake_nmap

DB_FORM = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST[:PORT]/DATABASE"
SLA_FORM = ('a JSON object of days to fix by severity (critical, high, medium, low, info), '
            'each at least 1 or null for no deadline, e.g. {"critical": 5, "info": null}')
VIEWERS_FORM = 'a JSON list of actor names, e.g. ["zhang.wei", "li.na"]'
CLOCK_FORM = ("system, fixed:TIME, from:TIME (an ISO time such as 2026-11-26T09:00:00+08:00) "
              "or offset:SECONDS")
NMAP_FORM = "the name of nmap on PATH or the path of the nmap program"
PORT = "the port must be a number from 1 to 65535"

KERNEL = ("findings", "summary")
SCAN = ("scan", "run", "--unit", "hz-jw", "--dry-run")
IMPORT = ("scan", "import", str(FIXTURES / "nmap" / "two_hosts_sv.xml"), "--unit", "hz-jw")

#: (variable, value, command, message after "error: "). ``{tmp}`` is a test's directory,
#: which holds a file ``a-file``.
BAD: list[tuple[str, str, tuple[str, ...], str]] = [
    ("GARRISON_DB", "mysql://x/y", KERNEL,
     f"GARRISON_DB='mysql://x/y': unsupported database; expected {DB_FORM}"),
    ("GARRISON_DB", "postgresql://u:secret@db:port/g", KERNEL,
     f"GARRISON_DB='postgresql://u:***@db:port/g': {PORT}; expected {DB_FORM}"),
    ("GARRISON_DB", "postgresql://db:70000/g", KERNEL,
     f"GARRISON_DB='postgresql://db:70000/g': {PORT}; expected {DB_FORM}"),
    ("GARRISON_DB", "postgresql+psycopg2://db/g", KERNEL,
     "GARRISON_DB='postgresql+psycopg2://db/g': unsupported driver 'postgresql+psycopg2'; "
     f"expected {DB_FORM}"),
    ("GARRISON_DB", "sqlite:garrison.db", KERNEL,
     f"GARRISON_DB='sqlite:garrison.db': not a database URL; expected {DB_FORM}"),
    ("GARRISON_ACTOR", "  ", KERNEL,
     "GARRISON_ACTOR='  ': expected a name for the audit trail (not blank)"),
    ("GARRISON_LOCK_WAIT", "soon", KERNEL,
     "GARRISON_LOCK_WAIT='soon': expected a number above 0 and at most 86400, e.g. 60.0"),
    ("GARRISON_LOCK_WAIT", "0", KERNEL,
     "GARRISON_LOCK_WAIT='0': expected a number above 0 and at most 86400, e.g. 60.0"),
    ("GARRISON_SLA_DAYS", "{critical: 5}", KERNEL,
     f"GARRISON_SLA_DAYS='{{critical: 5}}': not JSON; expected {SLA_FORM}"),
    ("GARRISON_SLA_DAYS", '{"urgent": 3}', KERNEL,
     f"GARRISON_SLA_DAYS='{{\"urgent\": 3}}': unknown severity 'urgent'; expected {SLA_FORM}"),
    ("GARRISON_SLA_DAYS", '{"high": 0}', KERNEL,
     f"GARRISON_SLA_DAYS='{{\"high\": 0}}': high: 0 days; expected {SLA_FORM}"),
    ("GARRISON_SLA_DAYS", '{"high": "soon"}', KERNEL,
     f"GARRISON_SLA_DAYS='{{\"high\": \"soon\"}}': expected {SLA_FORM}"),
    ("GARRISON_SLA_DAYS", "[7, 30]", KERNEL,
     f"GARRISON_SLA_DAYS='[7, 30]': expected {SLA_FORM}"),
    ("GARRISON_MLPS_TIGHTEN_FROM", "6", KERNEL,
     "GARRISON_MLPS_TIGHTEN_FROM='6': expected a whole number from 1 to 5"),
    ("GARRISON_MLPS_FACTOR", "0", KERNEL,
     "GARRISON_MLPS_FACTOR='0': expected a number above 0 and at most 1, e.g. 0.5"),
    ("GARRISON_MLPS_FACTOR", "half", KERNEL,
     "GARRISON_MLPS_FACTOR='half': expected a number above 0 and at most 1, e.g. 0.5"),
    ("GARRISON_ACCEPTED_RISK_MAX_DAYS", "0", KERNEL,
     "GARRISON_ACCEPTED_RISK_MAX_DAYS='0': expected a whole number from 1 to 3650"),
    ("GARRISON_CONTACT_VIEWERS", "zhang.wei", ("experts", "list"),
     f"GARRISON_CONTACT_VIEWERS='zhang.wei': not JSON; expected {VIEWERS_FORM}"),
    ("GARRISON_CONTACT_VIEWERS", '{"zhang.wei": true}', ("experts", "list"),
     f"GARRISON_CONTACT_VIEWERS='{{\"zhang.wei\": true}}': expected {VIEWERS_FORM}"),
    ("GARRISON_CLOCK", "tomorrow", KERNEL,
     f"GARRISON_CLOCK='tomorrow': expected {CLOCK_FORM}"),
    ("GARRISON_CLOCK", "fixed:26/11/2026", ("findings", "list"),
     f"GARRISON_CLOCK='fixed:26/11/2026': expected {CLOCK_FORM}"),
    ("GARRISON_TIMEZONE", "Asia/Beijing", ("experts", "match", "--skill", "web"),
     "GARRISON_TIMEZONE='Asia/Beijing': unknown time zone; expected an IANA time zone name "
     "such as Asia/Shanghai"),
    ("GARRISON_NMAP", "/no/such/nmap", SCAN,
     f"GARRISON_NMAP='/no/such/nmap': no such program; expected {NMAP_FORM}"),
    ("GARRISON_NMAP", "", SCAN, f"GARRISON_NMAP='': empty; expected {NMAP_FORM}"),
    ("GARRISON_RULES_DIR", "{tmp}/no-rules", ("scan", "rules"),
     "GARRISON_RULES_DIR='{tmp}/no-rules': no such directory; expected a directory of rule "
     "packs (*.yaml)"),
    ("GARRISON_RULES_DIR", "{tmp}/a-file", IMPORT,
     "GARRISON_RULES_DIR='{tmp}/a-file': not a directory; expected a directory of rule "
     "packs (*.yaml)"),
    ("GARRISON_MISSED_RUNS", "0", SCAN,
     "GARRISON_MISSED_RUNS='0': expected a whole number from 1 to 100"),
    ("GARRISON_BATCH_SIZE", "0", SCAN,
     "GARRISON_BATCH_SIZE='0': expected a whole number from 1 to 65536"),
    ("GARRISON_BATCH_SIZE", "1e3", IMPORT,
     "GARRISON_BATCH_SIZE='1e3': expected a whole number from 1 to 65536"),
    ("GARRISON_SCAN_PARALLEL", "9", SCAN,
     "GARRISON_SCAN_PARALLEL='9': expected a whole number from 1 to 8"),
    ("GARRISON_SCAN_PARALLEL", "-1", SCAN,
     "GARRISON_SCAN_PARALLEL='-1': expected a whole number from 1 to 8"),
    ("GARRISON_MAX_ADDRESSES", "abc", SCAN,
     "GARRISON_MAX_ADDRESSES='abc': expected a whole number from 1 to 16777216"),
    ("GARRISON_MAX_ADDRESSES", "0", IMPORT,
     "GARRISON_MAX_ADDRESSES='0': expected a whole number from 1 to 16777216"),
    ("GARRISON_PLAYBOOKS_DIR", "{tmp}/a-file", ("drill", "list"),
     "GARRISON_PLAYBOOKS_DIR='{tmp}/a-file': not a directory; expected a directory of "
     "playbooks (*.yaml)"),
    ("GARRISON_SKILLS_FILE", "{tmp}/skills.yaml", ("experts", "skills"),
     "GARRISON_SKILLS_FILE='{tmp}/skills.yaml': no such file; expected a YAML file of extra "
     "skills"),
    ("GARRISON_SKILLS_FILE", "{tmp}", ("experts", "skills"),
     "GARRISON_SKILLS_FILE='{tmp}': not a file; expected a YAML file of extra skills"),
]


def _hint(name: str) -> str:
    return f"Correct {name}, or unset it for the default, and run the command again."


@pytest.mark.parametrize(("var", "value", "command", "message"), BAD,
                         ids=[f"{v}={x!r}" for v, x, _c, _m in BAD])
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    var: str, value: str, command: tuple[str, ...], message: str,
) -> None:
    (tmp_path / "a-file").write_text("not a directory\n")
    monkeypatch.setenv(var, value.replace("{tmp}", str(tmp_path)))
    result = cli(*command)
    assert result.err.splitlines() == ["error: " + message.replace("{tmp}", str(tmp_path)),
                                       _hint(var)]
    assert result.code == 2
    assert result.out == ""
    assert not (tmp_path / "default.db").exists()  # GARRISON_DB of conftest: never created


def test_every_setting_has_a_bad_value_case_and_a_form_of_its_own() -> None:
    """A new setting without its row in BAD (or without an expected form) fails here."""
    covered = {var for var, _v, _c, _m in BAD}
    for cls in (Settings, ScannerSettings):
        for field in cls.model_fields:
            assert cls.env_name(field) in covered, field
            assert cls.expected_form(field) != "a valid value", field
    assert {"GARRISON_PLAYBOOKS_DIR", "GARRISON_SKILLS_FILE"} <= covered


def test_a_bad_option_is_named_by_the_option_and_its_password_masked(cli: CliRunner) -> None:
    result = cli("findings", "summary", db_url="postgresql+psycopg://li:s3cret@db:54x2/g")
    assert result.err.splitlines() == [
        f"error: --db='postgresql+psycopg://li:***@db:54x2/g': {PORT}; expected {DB_FORM}",
        "Correct --db and run the command again."]
    assert result.code == 2
    blank = cli("--actor", " ", "findings", "summary")
    assert blank.err.splitlines()[0] == (
        "error: --actor=' ': expected a name for the audit trail (not blank)")
    assert blank.code == 2


def test_variables_are_read_in_any_case_and_named_in_upper_case(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("garrison_batch_size", "many")
    result = cli(*SCAN)
    assert result.err.splitlines()[0] == (
        "error: GARRISON_BATCH_SIZE='many': expected a whole number from 1 to 65536")
    assert result.code == 2


@pytest.mark.parametrize("command", [SCAN[:-1], IMPORT])
def test_a_scanner_command_checks_its_settings_before_writing_or_sending(
    cli: CliRunner, sqlite_settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...],
) -> None:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    script, record = fake_nmap(tmp_path)
    monkeypatch.setenv("GARRISON_NMAP", str(script))
    monkeypatch.setenv("GARRISON_BATCH_SIZE", "0")
    before = snapshot(sqlite_settings)
    result = cli(*command, db_url=sqlite_settings.db)
    assert result.code == 2, result.err
    assert snapshot(sqlite_settings) == before  # no run, no audit event, nothing
    assert not record.exists()  # the fake nmap never ran, not even `nmap -V`


def test_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "GARRISON_SCAN_PARALLEL": "lots",
           "GARRISON_DB": f"sqlite:///{tmp_path / 'g.db'}"}
    garrison = Path(sys.executable).with_name("garrison")
    result = subprocess.run([str(garrison), *SCAN], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: GARRISON_SCAN_PARALLEL='lots': expected a whole number from 1 to 8",
        _hint("GARRISON_SCAN_PARALLEL")]
    assert not (tmp_path / "g.db").exists()


def test_a_bad_database_that_parses_is_still_exit_3(cli: CliRunner) -> None:
    """Exit 2 is for the setting's form; a well-formed URL of a server that is not there
    is "the database cannot be opened", exit 3."""
    result = cli("findings", "summary", db_url="postgresql+psycopg://u:p@127.0.0.1:1/g")
    assert result.code == 3
    assert result.err.startswith("error: cannot open the database "
                                 "postgresql+psycopg://u:***@127.0.0.1:1/g: ")


# ------------------------------------------------------------------ in Python


def test_defaults_are_a_sqlite_file_in_the_data_dir_and_the_os_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GARRISON_DB")
    monkeypatch.delenv("GARRISON_ACTOR")
    settings = Settings()
    assert settings.db == f"sqlite:///{default_db_path()}"
    assert "xdg-data" in settings.db  # under XDG_DATA_HOME (platformdirs), set by conftest
    assert settings.actor == getpass.getuser()


def test_environment_and_explicit_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARRISON_DB", "postgres://u:p@db/garrison")
    assert Settings().db == "postgresql+psycopg://u:p@db/garrison"
    assert Settings(db="sqlite:///x.db").db == "sqlite:///x.db"  # the option wins
    monkeypatch.setenv("GARRISON_SLA_DAYS", '{"critical": 5, "info": null}')
    monkeypatch.setenv("GARRISON_CONTACT_VIEWERS", '["zhang.wei"]')
    monkeypatch.setenv("GARRISON_SCAN_PARALLEL", "8")
    settings = Settings()
    assert settings.sla_days == {"critical": 5, "info": None}
    assert settings.contact_viewers == ["zhang.wei"]
    assert ScannerSettings().scan_parallel == 8
    assert ScannerSettings().nmap == "nmap"  # the default is looked up only when scanning


def test_bad_values_given_in_python_raise_settings_error() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(db="mysql://x")
    assert caught.value.message == f"--db='mysql://x': unsupported database; expected {DB_FORM}"
    assert caught.value.exit_code == 2
    with pytest.raises(SettingsError) as caught:
        ScannerSettings(batch_size=0)
    assert caught.value.message == (
        "GARRISON_BATCH_SIZE='0': expected a whole number from 1 to 65536")
