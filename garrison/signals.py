"""SIGTERM handled like Ctrl-C during long-running work (scans, later drills).

``kill PID`` and ``systemctl stop`` send SIGTERM, which by default ends Python at
once: no ``finally``, so a scan's nmap processes (in their own sessions, so that a
terminal's Ctrl-C reaches Garrison first) would run on, orphaned, and the run would
stay "running" until the next command notices. Inside ``sigterm_interrupts()`` the
signal raises ``Terminated`` -- a ``KeyboardInterrupt`` -- so the same clean-up as
Ctrl-C runs: child processes stopped, the run marked interrupted, exit status 143.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; handled as an interruption."""

    exit_code = 128 + signal.SIGTERM


def _raise_terminated(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise Terminated


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread (elsewhere: no-op,
    only the main thread may set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_deferred(pending: list[int] | None = None) -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM off while inside (the last commit of an action and what
    says it succeeded): a signal arriving then is discarded once the block is done, and
    its number appended to ``pending``, so the work is reported as done, never as
    interrupted after it was committed. Main thread only (elsewhere: no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        arrived = held & signal.sigpending()
        if arrived:
            saved = {s: signal.signal(s, signal.SIG_IGN) for s in arrived}
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)  # delivered to SIG_IGN: gone
            for s, handler in saved.items():
                signal.signal(s, handler)
            if pending is not None:
                pending.extend(sorted(arrived))
        else:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
