"""Shared fixtures: isolated settings on SQLite and on a real PostgreSQL server.

PostgreSQL tests need ``GARRISON_TEST_PG``: a URL of a role that may create
databases, e.g. ``postgresql+psycopg://garrison:garrison@127.0.0.1/postgres``.
``make test`` runs pytest through ``tests/pgcluster.py``, which starts a throwaway
server and sets it (``.ci/run`` sets it to the system's server). Each test gets a fresh
database cloned from a migrated template. Without a server those tests are left out,
with the reason in one line at the start and the end of the run; with
``GARRISON_TEST_REQUIRE_PG=1`` a missing or unreachable server stops the run instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from garrison import db
from garrison.settings import Settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_ENV = "GARRISON_TEST_PG"

TEST_NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
"""The suite's "now": every Garrison the tests start (in this process or a child) runs on
a clock that starts here and moves on in real time, whatever the system's date is. CI
also runs the suite with the system clock a year ahead (faketime), which catches any
test or code path that reads the system's date instead."""
TEST_CLOCK = f"offset:{(TEST_NOW - datetime.now(UTC)).total_seconds():.3f}"
"""``GARRISON_CLOCK`` for the suite: one offset for the whole run, so every process
agrees on the time (a drill engine and the command that answers it)."""


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never touch the developer's real database or data directory; pin the clock."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("GARRISON_DB", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.setenv("GARRISON_ACTOR", "tester")
    monkeypatch.setenv("GARRISON_CLOCK", TEST_CLOCK)
    monkeypatch.setenv("COLUMNS", "200")
    yield
    db.dispose_engines()


# ------------------------------------------------------------------ SQLite


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    settings = Settings(db=f"sqlite:///{path}", actor="tester")
    db.upgrade(settings)
    db.dispose_engines()
    return path


def _sqlite_settings(tmp_path: Path, template: Path) -> Settings:
    path = tmp_path / "garrison.db"
    shutil.copy(template, path)
    return Settings(db=f"sqlite:///{path}", actor="tester")


# ------------------------------------------------------------------ PostgreSQL


# Whether the PostgreSQL tests can run is decided once, at collection. Without a server
# they are left out (deselected) and the run says why in one line, in the header and at
# the end, instead of one "SKIPPED" line per test; with GARRISON_TEST_REQUIRE_PG=1 (set
# by tests/pgcluster.py and .ci/run) the run stops at once instead.

PG_SKIP_ENV = "GARRISON_TEST_PG_SKIP"
"""Why tests/pgcluster.py could not start a server (it sets this and leaves PG_ENV unset)."""
_PG_NOTE = pytest.StashKey[str]()


def _require_pg() -> bool:
    return os.environ.get("GARRISON_TEST_REQUIRE_PG") == "1"


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "(a URL SQLAlchemy cannot read)"


@functools.cache
def _pg_problem() -> str | None:
    """Why the PostgreSQL tests cannot run here; None when the server answers."""
    url = os.environ.get(PG_ENV)
    if not url:
        return os.environ.get(PG_SKIP_ENV) or (
            f"{PG_ENV} is not set (`make test` starts a throwaway server: docs/storage.md)")
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"PostgreSQL at {PG_ENV}={_masked(url)} is unreachable: {detail}"
    return None


def _needs_pg(item: pytest.Item) -> bool:
    return (item.get_closest_marker("pg") is not None
            or "_pg_admin" in getattr(item, "fixturenames", ()))


def pytest_report_header() -> str:
    url = os.environ.get(PG_ENV)
    return f"PostgreSQL: {_masked(url)}" if url else (
        f"PostgreSQL: none: {os.environ.get(PG_SKIP_ENV) or f'{PG_ENV} is not set'}")


@pytest.hookimpl(trylast=True)  # after -k/-m: count only the tests chosen
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needing = [item for item in items if _needs_pg(item)]
    problem = _pg_problem() if needing else None
    if problem is None:
        return
    if _require_pg():
        pytest.exit(f"GARRISON_TEST_REQUIRE_PG=1 but {problem}",
                    returncode=pytest.ExitCode.USAGE_ERROR)
    config.hook.pytest_deselected(items=needing)
    left_out = set(map(id, needing))
    items[:] = [item for item in items if id(item) not in left_out]
    noun = "test" if len(needing) == 1 else "tests"
    config.stash[_PG_NOTE] = f"{len(needing)} PostgreSQL {noun} left out: {problem}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    note = config.stash.get(_PG_NOTE, None)
    if note:
        terminalreporter.write_line(note, yellow=True, bold=True)


@pytest.fixture(scope="session")
def _pg_admin() -> Iterator[sa.Engine]:
    problem = _pg_problem()
    if problem is not None:  # only for a test the collection did not recognise as one
        if _require_pg():
            pytest.fail(problem)
        pytest.skip(problem)
    engine = sa.create_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _pg_url(database: str) -> str:
    return make_url(os.environ[PG_ENV]).set(database=database).render_as_string(
        hide_password=False)


@pytest.fixture(scope="session")
def _pg_template(_pg_admin: sa.Engine) -> Iterator[str]:
    name = f"garrison_tpl_{os.getpid()}"
    with _pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db.upgrade(Settings(db=_pg_url(name), actor="tester"))
    db.dispose_engines()
    yield name
    _drop_database(_pg_admin, name)


def _drop_database(admin: sa.Engine, name: str) -> None:
    """Drop a test database. The server's own processes (autovacuum) may sit in it for a
    moment, and a role without superuser cannot terminate those: retry, then leave it
    (its name carries this process's id) rather than fail the run."""
    import time
    import warnings

    for attempt in range(10):
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sa.exc.DBAPIError:
            time.sleep(0.2 * (attempt + 1))
    warnings.warn(f"could not drop test database {name}", stacklevel=2)


@pytest.fixture
def pg_settings(_pg_admin: sa.Engine, _pg_template: str) -> Iterator[Settings]:
    name = f"garrison_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    yield Settings(db=_pg_url(name), actor="tester")
    db.dispose_engines()
    _drop_database(_pg_admin, name)


@pytest.fixture
def empty_pg_url(_pg_admin: sa.Engine) -> Iterator[str]:
    """An empty PostgreSQL database (no schema), for init/upgrade tests."""
    name = f"garrison_e_{uuid.uuid4().hex[:12]}"
    with _pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    db.dispose_engines()
    with _pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ------------------------------------------------------------------ both


@pytest.fixture
def sqlite_settings(tmp_path: Path, _sqlite_template: Path) -> Settings:
    return _sqlite_settings(tmp_path, _sqlite_template)


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A migrated, empty database: the same store tests run on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return _sqlite_settings(tmp_path, request.getfixturevalue("_sqlite_template"))
    result: Settings = request.getfixturevalue("pg_settings")
    return result


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema) on each backend, for migration tests."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("empty_pg_url")
    return url


# ------------------------------------------------------------------ CLI


@dataclass
class CliResult:
    code: int
    out: str
    err: str


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Run ``garrison ARGS`` in-process through the real entry point (``main``)."""
    from garrison.cli.main import main

    def run(*args: str, db_url: str | None = None) -> CliResult:
        argv = ["garrison"] + (["--db", db_url] if db_url else []) + list(args)
        monkeypatch.setattr(sys, "argv", argv)
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
