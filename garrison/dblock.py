"""Waiting for the database's write lock: visibly, and never for ever.

SQLite has one writer at a time. Write sessions open with ``BEGIN IMMEDIATE``; when
another writer holds the lock, SQLite's own busy handler would sleep silently (its
back-off reaches 100 ms between attempts, so it rarely gets in between the short
transactions of a big import) and then fail with "database is locked" and a traceback.
Instead ``begin_immediate`` polls every few milliseconds, tells the user after half a
second that it is waiting (through the notice a front-end registered with
``on_lock_wait``), and after ``GARRISON_LOCK_WAIT`` seconds gives up with
``DatabaseBusy`` (exit 3) before anything was written.

PostgreSQL writers wait on row and advisory locks instead; ``lock_timeout`` (set on
every connection to the same limit) ends such a wait with SQLSTATE 55P03, which
``write_session`` turns into the same ``DatabaseBusy``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from garrison.errors import DatabaseBusy
from garrison.i18n import _

if TYPE_CHECKING:  # the CLI registers its notice before anything loads SQLAlchemy
    import sqlalchemy as sa

SQLITE_BUSY_MS = 20
"""SQLite's own busy wait for one attempt (and for any statement inside a transaction)."""
POLL_SECONDS = 0.005
NOTE_AFTER = 0.5
"""Seconds of waiting before the user is told (a short wait is not news)."""

LockWaitNotice = Callable[[str], None]
_notice: list[LockWaitNotice] = []


def on_lock_wait(notice: LockWaitNotice | None) -> None:
    """Register how a front-end tells its user that a writer is waiting for the database
    (the CLI prints to stderr, the TUI notifies); ``None`` silences it."""
    _notice[:] = [] if notice is None else [notice]


def busy_error(waited: float) -> DatabaseBusy:
    return DatabaseBusy(
        _("the database is busy: another writer held it for {s:.0f} s, longer than "
          "GARRISON_LOCK_WAIT allows; nothing was written").format(s=waited),
        hint=_("Run the command again when the other one (an import, a scan) has "
               "finished, or set GARRISON_LOCK_WAIT (seconds) to wait longer."))


def _locked(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig)
    return "database is locked" in text or "database is busy" in text


def begin_immediate(conn: sa.Connection, lock_wait: float) -> None:
    """``BEGIN IMMEDIATE`` on SQLite, waiting for another writer up to ``lock_wait`` s."""
    from sqlalchemy.exc import OperationalError

    started = time.monotonic()
    told = False
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if not _locked(exc):
                raise
        waited = time.monotonic() - started
        if waited >= lock_wait:
            raise busy_error(waited)
        if not told and waited >= NOTE_AFTER:
            told = True
            for notice in _notice:
                notice(_("waiting for the database (held by another writer) ..."))
        time.sleep(POLL_SECONDS)


def is_lock_timeout(exc: sa.exc.OperationalError) -> bool:
    """PostgreSQL gave up waiting for a lock (``lock_timeout``), or SQLite found the
    database locked inside a transaction."""
    return getattr(exc.orig, "sqlstate", None) == "55P03" or _locked(exc)
