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
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from garrison.settings import Settings

T = TypeVar("T")


def in_thread(name: str, read: Callable[[], T]) -> Future[T]:
    """``read()`` in a thread of its own (a daemon: a read never holds the app open);
    its answer, or what it raised, in the future."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(read())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _dashboard(settings: Settings) -> Any:
    from zoneinfo import ZoneInfo

    from garrison.dashboard import TREND_DAYS, quick_gather

    return quick_gather(settings.db, settings.now(), ZoneInfo(settings.timezone),
                        days=TREND_DAYS)


def start(settings: Settings, screen: str) -> Future[Any] | None:
    """Start reading ``screen``'s first data; None for screens that read on their own."""
    if screen != "dashboard":
        return None
    return in_thread("prefetch", partial(_dashboard, settings))
