"""Engines, sessions and the schema check.

One transaction per user action: a service function receives a session from
``write_session`` and everything it does, audit events included, commits or rolls
back together.

SQLite runs in WAL mode, and write sessions open with ``BEGIN IMMEDIATE`` so two
processes (a scan and the TUI) queue for the write lock instead of failing with
"database is locked" when a read turns into a write; the wait is visible and bounded
(``garrison.dblock``, ``GARRISON_LOCK_WAIT``). Only commands that may create a database
make a new SQLite file; the others say there is none (``NoDatabase``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from garrison.dblock import SQLITE_BUSY_MS, begin_immediate, busy_error, is_lock_timeout
from garrison.dburl import SCHEMA_HEAD as SCHEMA_HEAD
from garrison.errors import ConfigError, NoDatabase, SchemaError
from garrison.i18n import _
from garrison.settings import Settings

_engines: dict[tuple[str, float], Engine] = {}

WAL_CHECKPOINT_PAGES = 10_000
"""Pages (4 KiB) of write-ahead log after which a commit checkpoints it into the file."""
WAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the write-ahead log file is cut back to after a checkpoint."""
MMAP_BYTES = 256 * 1024 * 1024
"""SQLite reads up to this much of the file through memory mapping instead of a system
call per page (a 65,536-host import read 78,000 pages back: 8% of its time)."""


def display_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _install_sqlite_hooks(engine: Engine, lock_wait: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA cache_size = -65536")  # 64 MiB: big imports touch many index pages
        cur.execute("PRAGMA temp_store = MEMORY")
        # A checkpoint every 40 MB of WAL, not 4 MB: each one waits for fsync twice, and a
        # 65,536-host import made a hundred of them (15% of its time on a busy machine).
        cur.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        cur.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        cur.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")  # reads map the file: no pread
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("garrison_write"):
            begin_immediate(conn, lock_wait)
        else:
            conn.exec_driver_sql("BEGIN")


def _install_pg_hooks(engine: Engine, lock_wait: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:  # a row or advisory lock waits at most this long
            cur.execute(f"SET lock_timeout = {int(lock_wait * 1000)}")
        dbapi_conn.commit()


def _prepare_sqlite_file(path: Path, *, create: bool) -> None:
    """Only a command that may create a database makes a new SQLite file (and its
    directory); any other command on a missing file says so and creates nothing."""
    if path.exists():
        return
    if not create:
        raise NoDatabase(
            _("no database at {path} (run `garrison init`)").format(path=path),
            hint=_("Or point --db / GARRISON_DB at an existing Garrison database."))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # an empty file is a new SQLite database
    except OSError as exc:
        raise ConfigError(
            _("cannot create the database directory {dir}: {err}").format(
                dir=path.parent, err=exc.strerror),
            hint=_("Choose another location with --db sqlite:///PATH or GARRISON_DB."),
        ) from exc


def get_engine(settings: Settings, *, create: bool = False) -> Engine:
    """The (cached) engine for the settings' database URL. A SQLite file that does not
    exist is ``NoDatabase`` unless ``create`` (init, demo, imports that start a
    database)."""
    if settings.is_sqlite:
        path = _sqlite_path(settings.db)
        if path is not None:
            _prepare_sqlite_file(path, create=create)
    key = (settings.db, settings.lock_wait)
    engine = _engines.get(key)
    if engine is not None:
        return engine
    if settings.is_sqlite:
        engine = sa.create_engine(settings.db,
                                  connect_args={"timeout": SQLITE_BUSY_MS / 1000})
        _install_sqlite_hooks(engine, settings.lock_wait)
    else:
        engine = sa.create_engine(
            settings.db, pool_pre_ping=True, connect_args={"connect_timeout": 10}
        )
        _install_pg_hooks(engine, settings.lock_wait)
    _engines[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked workers call this)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def _connect_error(settings: Settings, exc: OperationalError) -> ConfigError:
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return ConfigError(
        _("cannot open the database {url}: {detail}").format(
            url=display_url(settings.db), detail=detail
        ),
        hint=_("Check --db / GARRISON_DB, that the server is running and the credentials."),
    )


@contextmanager
def write_session(settings: Settings) -> Iterator[Session]:
    """A session for one user action: commits on success, rolls back on any error."""
    engine = get_engine(settings).execution_options(garrison_write=True)
    started = time.monotonic()
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        if _is_connect_error(exc):
            raise _connect_error(settings, exc) from exc
        if is_lock_timeout(exc):
            raise busy_error(time.monotonic() - started) from exc
        raise


@contextmanager
def read_session(settings: Settings) -> Iterator[Session]:
    """A session for reading; never commits. A missing SQLite file is ``NoDatabase``."""
    try:
        with Session(get_engine(settings)) as session:
            yield session  # closing rolls back; loaded objects stay readable
    except OperationalError as exc:
        if _is_connect_error(exc):
            raise _connect_error(settings, exc) from exc
        raise


def _is_connect_error(exc: OperationalError) -> bool:
    return bool(exc.connection_invalidated) or "connect" in str(exc.orig).lower() or (
        "unable to open database" in str(exc.orig)
    )


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands relative to this code."""

    current: str | None
    has_tables: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == SCHEMA_HEAD

    @property
    def empty(self) -> bool:
        return self.current is None and not self.has_tables


def schema_state(settings: Settings) -> SchemaState:
    engine = get_engine(settings)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables = set(inspector.get_table_names())
            current = None
            if "alembic_version" in tables:
                current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise _connect_error(settings, exc) from exc
    return SchemaState(current=current, has_tables=bool(tables - {"alembic_version"}))


def ensure_schema(settings: Settings, *, create: bool = False) -> bool:
    """Check the schema before a command uses the database.

    A brand-new, empty database is initialised on the spot (returns True so the
    caller can say so); a SQLite file is created only when ``create`` (commands that
    load data: ``demo``, ``org import``), otherwise a missing file is ``NoDatabase``. A
    database whose schema is behind is refused: upgrading a shared database is an
    administrator's deliberate step (``garrison init``).
    """
    get_engine(settings, create=create)
    state = schema_state(settings)
    if state.up_to_date:
        return False
    if state.empty:
        upgrade(settings)
        return True
    url = display_url(settings.db)
    if state.current is None:
        raise SchemaError(
            _("{url} holds tables but no Garrison schema version").format(url=url),
            hint=_("Point --db at a Garrison database, or at an empty one."),
        )
    from garrison.migrations import is_known_revision

    if is_known_revision(state.current):
        raise SchemaError(
            _("the database schema is at {cur}, this Garrison needs {head}").format(
                cur=state.current, head=SCHEMA_HEAD
            ),
            hint=_("Back up the database, then run `garrison init` to upgrade it."),
        )
    raise SchemaError(
        _("the database schema {cur} is newer than this Garrison knows ({head})").format(
            cur=state.current, head=SCHEMA_HEAD
        ),
        hint=_("Upgrade Garrison to the version that wrote this database."),
    )


def upgrade(settings: Settings) -> tuple[str | None, str]:
    """Create (a SQLite file too) or upgrade the schema to the newest migration;
    idempotent."""
    from garrison.migrations import run_upgrade

    get_engine(settings, create=True)
    before = schema_state(settings).current
    with get_engine(settings).begin() as conn:
        run_upgrade(conn)
    return before, SCHEMA_HEAD
