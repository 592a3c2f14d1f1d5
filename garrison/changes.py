"""Has another process changed the database? For screens that follow changes live.

``ChangeWatcher(url).wait(timeout)`` returns True as soon as another connection has
committed a change, False after ``timeout`` seconds without one. On SQLite it polls
``PRAGMA data_version`` on a read-only connection of its own (the number changes when
any other connection commits); on PostgreSQL it LISTENs on ``garrison_changes``, which
the triggers of migration 0008 notify whenever an audit event or a drill event is
written (every user action writes one). Standard library and the DB-API driver only:
a TUI can watch without loading the ORM.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any
from urllib.parse import quote, unquote

CHANNEL = "garrison_changes"
POLL = 0.25
"""Seconds between two looks at SQLite's data_version."""


class ChangeWatcher:
    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None
        self._version: int | None = None

    def _open(self) -> None:
        if self.url.startswith("sqlite:///"):
            path = unquote(self.url[len("sqlite:///"):].split("?", 1)[0])
            if not path or path == ":memory:" or not os.path.isfile(path):
                return
            uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=1, check_same_thread=False)
            self._version = self._data_version()
        elif self.url.startswith("postgresql+psycopg://"):
            import psycopg

            self._conn = psycopg.connect("postgresql://" + self.url.split("://", 1)[1],
                                         autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {CHANNEL}")

    def _data_version(self) -> int:
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def wait(self, timeout: float) -> bool:
        """True when another connection committed a change within ``timeout`` seconds."""
        if self._conn is None:
            try:
                self._open()
            except Exception:  # noqa: BLE001 - no database yet, server away: try later
                self.close()
            if self._conn is None:
                time.sleep(timeout)
                return False
        try:
            if self.url.startswith("sqlite"):
                return self._wait_sqlite(timeout)
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except Exception:  # noqa: BLE001 - a lost connection: reopen on the next call
            self.close()
            return False

    def _wait_sqlite(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._data_version()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL, left))

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
        self._conn = None
