"""The first screen's data, read while the interpreter is still importing the UI.

``garrison tui`` spends about a quarter of a second importing Textual and the screens
before the first screen can ask for anything. The dashboard's read (plain SQL through
``garrison.quickread``) does not need any of that, and SQLite and psycopg release the
interpreter lock while a query runs: started first, in a thread, it runs on the second
CPU while the imports run on the first, and the screen finds its data ready when it
mounts. Only the first read of the first screen is prefetched; the result is the same
function's (``garrison.dashboard.quick_gather``), or ``None`` when the screen must
take its full path.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from garrison.settings import Settings


def _run(future: Future[Any], settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    from garrison.dashboard import TREND_DAYS, quick_gather

    try:
        future.set_result(quick_gather(settings.db, settings.now(),
                                       ZoneInfo(settings.timezone), days=TREND_DAYS))
    except BaseException as exc:  # noqa: BLE001 - the screen takes its full path
        future.set_exception(exc)


def start(settings: Settings, screen: str) -> Future[Any] | None:
    """Start reading ``screen``'s first data; None for screens that read on their own."""
    if screen != "dashboard":
        return None
    future: Future[Any] = Future()
    threading.Thread(target=_run, args=(future, settings), name="prefetch",
                     daemon=True).start()
    return future
