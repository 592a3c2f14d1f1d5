"""A busy database never crashes a command: writers wait, visibly, then give up cleanly.

Another process holds SQLite's write lock (``BEGIN IMMEDIATE``), as a long import or a
person with the sqlite3 shell would. Before issue 11 a writer died after 10 s with a
SQLAlchemy traceback, and a scope refusal's audit event was lost with it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from garrison import audit, db
from garrison.errors import DatabaseBusy
from garrison.models import AuditEvent, Finding
from garrison.settings import Settings
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import count, import_file

GARRISON = str(Path(sys.executable).with_name("garrison"))
HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


@contextmanager
def write_lock_held(settings: Settings, seconds: float) -> Iterator[subprocess.Popen[str]]:
    path = settings.db.removeprefix("sqlite:///")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path, str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def org(sqlite_settings: Settings) -> Settings:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    return sqlite_settings


def _garrison(settings: Settings, *args: str, wait: float) -> subprocess.CompletedProcess[str]:
    env = {"GARRISON_DB": settings.db, "GARRISON_LOCK_WAIT": str(wait), "PATH": "/usr/bin:/bin",
           "GARRISON_ACTOR": "tester", "COLUMNS": "200"}
    return subprocess.run([GARRISON, *args], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, **env})


def test_a_writer_waits_visibly_then_writes(org: Settings) -> None:
    with write_lock_held(org, 2.0):
        started = time.monotonic()
        done = _garrison(org, "findings", "add", "--unit", "hz-jw", "--title", "弱口令",
                         "--severity", "high", wait=30)
        waited = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "waiting for the database (held by another writer) ..." in done.stderr
    assert waited > 1.5 and count(org, Finding) == 1


def test_a_writer_gives_up_after_the_lock_wait_with_nothing_written(org: Settings) -> None:
    events = count(org, AuditEvent)
    with write_lock_held(org, 30.0):
        done = _garrison(org, "findings", "add", "--unit", "hz-jw", "--title", "弱口令",
                         "--severity", "high", wait=2)
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-2:] == [
        "error: the database is busy: another writer held it for 2 s, longer than "
        "GARRISON_LOCK_WAIT allows; nothing was written",
        "Run the command again when the other one (an import, a scan) has finished, or set "
        "GARRISON_LOCK_WAIT (seconds) to wait longer."]
    assert count(org, Finding) == 0 and count(org, AuditEvent) == events


def test_a_refusal_that_cannot_be_recorded_says_so(org: Settings) -> None:
    events = count(org, AuditEvent)
    with write_lock_held(org, 30.0):
        done = _garrison(org, "scope", "check", "--unit", "hz-jw", "127.0.2.9", wait=1)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-2].startswith(
        "error: the scope guard could not judge and record the targets: the database is busy")
    assert done.stderr.splitlines()[-2].endswith("; nothing was sent")
    assert count(org, AuditEvent) == events
    # and once the database is free, the same refusal is judged and recorded together
    done = _garrison(org, "scope", "check", "--unit", "hz-jw", "127.0.2.9", wait=1)
    assert done.returncode == 4 and count(org, AuditEvent) == events + 1


def test_a_read_is_not_blocked_by_a_writer(org: Settings) -> None:
    with write_lock_held(org, 30.0):
        started = time.monotonic()
        done = _garrison(org, "findings", "list", "--all", wait=1)
        assert done.returncode == 0 and time.monotonic() - started < 10


@pytest.mark.pg
def test_postgresql_gives_up_on_a_held_lock(pg_settings: Settings) -> None:
    """On PostgreSQL a writer waits on the audit chain's lock; lock_timeout ends it."""
    import_file(pg_settings, FIXTURES / "org" / "good_small.yaml")
    quick = pg_settings.model_copy(update={"lock_wait": 1.0})
    holder = db.get_engine(pg_settings).connect()
    try:
        tx = holder.begin()
        holder.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                       {"k": audit._PG_CHAIN_LOCK})
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as err, db.write_session(quick) as session:
            audit.record(session, actor="t", action="test", subject="x", at=quick.now())
        assert 0.8 < time.monotonic() - started < 10
        assert err.value.message.endswith("nothing was written")
        tx.rollback()
    finally:
        holder.close()


# ------------------------------------------------------------------ no database


@pytest.mark.parametrize("command", [
    ["findings", "list"], ["scope", "list"], ["audit", "verify"], ["assets", "list"],
    ["experts", "list"], ["drill", "runs"], ["findings", "add", "--unit", "hz-jw", "--title",
                                             "t", "--severity", "low"]])
def test_a_command_on_a_missing_database_creates_nothing(tmp_path: Path, cli: CliRunner,
                                                         command: list[str]) -> None:
    missing = tmp_path / "no" / "such" / "garrison.db"
    result = cli(*command, db_url=f"sqlite:///{missing}")
    assert result.code == 3
    assert result.err.splitlines() == [
        f"error: no database at {missing} (run `garrison init`)",
        "Or point --db / GARRISON_DB at an existing Garrison database."]
    assert not (tmp_path / "no").exists()


def test_init_and_the_loading_commands_create_it(tmp_path: Path, cli: CliRunner) -> None:
    first = tmp_path / "a" / "garrison.db"
    assert cli("init", db_url=f"sqlite:///{first}").code == 0 and first.is_file()
    second = tmp_path / "b" / "garrison.db"
    result = cli("org", "import", str(FIXTURES / "org" / "good_small.yaml"),
                 db_url=f"sqlite:///{second}")
    assert result.code == 0 and second.is_file()
