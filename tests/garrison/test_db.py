"""Storage: schema migrations, the schema check, SQLite WAL and concurrent writers."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from garrison import audit, db
from garrison.errors import ConfigError, NoDatabase, SchemaError
from garrison.migrations import head_revision
from garrison.models import metadata
from garrison.settings import Settings
from tests.garrison.helpers import count, plain_sql


def test_schema_head_constant_matches_alembic() -> None:
    assert db.SCHEMA_HEAD == head_revision()


def test_migrations_build_exactly_the_models(settings: Settings) -> None:
    with db.get_engine(settings).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_empty_database_is_initialised_on_first_use(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 'new' / 'g.db'}", actor="t")
    with pytest.raises(NoDatabase):  # a reading command creates nothing
        db.ensure_schema(settings)
    assert not (tmp_path / "new").exists()
    assert db.ensure_schema(settings, create=True) is True  # init, demo, org import
    assert db.schema_state(settings).up_to_date
    assert db.ensure_schema(settings) is False
    empty = tmp_path / "empty.db"
    empty.touch()  # an existing empty file is a new database: initialised on first use
    assert db.ensure_schema(Settings(db=f"sqlite:///{empty}", actor="t")) is True


def test_empty_postgres_database_is_initialised(empty_pg_url: str) -> None:
    settings = Settings(db=empty_pg_url, actor="t")
    assert db.upgrade(settings) == (None, db.SCHEMA_HEAD)
    assert db.upgrade(settings) == (db.SCHEMA_HEAD, db.SCHEMA_HEAD)  # idempotent
    with db.read_session(settings) as session:
        assert audit.verify(session).ok


def test_schema_behind_is_refused_then_upgraded_keeping_the_data(empty_db_url: str) -> None:
    """A database left at the first migration: refused with what to do; init upgrades it."""
    from alembic import command

    from garrison.migrations import alembic_config

    settings = Settings(db=empty_db_url, actor="t")
    with db.get_engine(settings, create=True).begin() as conn:
        command.upgrade(alembic_config(conn), "0001_initial")
        conn.execute(sa.text(
            "INSERT INTO unit (code, name, level, officer_name, created_at, updated_at) "
            "VALUES ('hz-jw', '杭州', 'city', '李娜', '2026-01-01', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO scanrun (unit_id, profile, targets, request, command, actor, status, "
            "started_at, hosts_total, hosts_done, hosts_up, services_seen) VALUES "
            "(1, 'quick', '[]', '{}', 'nmap', 't', 'done', '2026-01-01', 0, 0, 0, 0)"))
    with pytest.raises(SchemaError) as err:
        db.ensure_schema(settings)
    assert err.value.message == (f"the database schema is at 0001_initial, this Garrison needs "
                                 f"{db.SCHEMA_HEAD}")
    assert err.value.hint == "Back up the database, then run `garrison init` to upgrade it."
    assert db.upgrade(settings) == ("0001_initial", db.SCHEMA_HEAD)
    with db.get_engine(settings).connect() as conn:
        row = conn.execute(sa.text("SELECT kind, hosts_skipped, counts FROM scanrun")).one()
    assert (row[0], row[1]) == ("scan", 0) and row[2] in ({}, "{}")


def test_schema_from_a_newer_garrison_is_refused(settings: Settings) -> None:
    plain_sql(settings, "UPDATE alembic_version SET version_num = '0099_later'")
    with pytest.raises(SchemaError) as err:
        db.ensure_schema(settings)
    assert err.value.message == ("the database schema 0099_later is newer than this Garrison "
                                 f"knows ({db.SCHEMA_HEAD})")


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id integer)")
    with pytest.raises(SchemaError) as err:
        db.ensure_schema(Settings(db=f"sqlite:///{path}", actor="t"))
    assert err.value.message == f"sqlite:///{path} holds tables but no Garrison schema version"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_settings: Settings) -> None:
    """SQLite's own busy wait is short: the long, visible wait is garrison.dblock's."""
    from garrison.dblock import SQLITE_BUSY_MS

    with db.get_engine(sqlite_settings).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _hold_write_lock(url: str, ready: multiprocessing.synchronize.Event, seconds: float) -> None:
    settings = Settings(db=url, actor="holder")
    with db.write_session(settings) as session:
        audit.record(session, actor="holder", action="test.hold", subject="lock",
                     at=settings.now())
        ready.set()
        time.sleep(seconds)


def test_a_second_process_waits_for_the_writer_instead_of_failing(
    sqlite_settings: Settings,
) -> None:
    """A scan and the TUI writing at once: the second writer queues, nothing is lost."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(sqlite_settings.db, ready, 1.0))
    holder.start()
    assert ready.wait(20)
    # readers are not blocked by the writer (WAL)
    with db.read_session(sqlite_settings) as session:
        assert audit.verify(session).rows == 0
    started = time.monotonic()
    with db.write_session(sqlite_settings) as session:
        audit.record(session, actor="second", action="test.second", subject="x",
                     at=sqlite_settings.now())
    waited = time.monotonic() - started
    holder.join(20)
    assert holder.exitcode == 0
    assert waited > 0.3  # it really had to wait for the lock
    from garrison.models import AuditEvent

    assert count(sqlite_settings, AuditEvent) == 2
    with db.read_session(sqlite_settings) as session:
        assert [r.actor for r in audit.iter_chain(session)] == ["holder", "second"]
        assert audit.verify(session).ok


def test_unreachable_postgres_says_which_server() -> None:
    settings = Settings(db="postgresql+psycopg://u:secret@127.0.0.1:1/garrison", actor="t")
    with pytest.raises(ConfigError) as err:
        db.ensure_schema(settings)
    assert err.value.message.startswith(
        "cannot open the database postgresql+psycopg://u:***@127.0.0.1:1/garrison: ")
    assert "secret" not in str(err.value)


def test_unusable_sqlite_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError) as err:
        db.get_engine(Settings(db=f"sqlite:///{blocker / 'sub' / 'g.db'}", actor="t"),
                      create=True)
    assert err.value.message == (f"cannot create the database directory {blocker / 'sub'}: "
                                 "Not a directory")


def test_timestamps_round_trip_as_aware_utc(settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    shanghai = timezone(timedelta(hours=8))
    when = datetime(2026, 11, 26, 20, 0, 0, 123456, tzinfo=shanghai)
    with db.write_session(settings) as session:
        audit.record(session, actor="t", action="test.time", subject="x", at=when)
    with db.read_session(settings) as session:
        head = audit.head(session)
    assert head is not None
    assert head.at == when and head.at.tzinfo is not None
    assert head.at.astimezone(UTC).hour == 12
    with pytest.raises(ValueError, match="naive datetime"), db.write_session(settings) as session:
        audit.record(session, actor="t", action="test.time", subject="x",
                     at=datetime(2026, 1, 1))  # naive: refused
