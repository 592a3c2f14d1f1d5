"""Loaded by every Python process of `make test-year-ahead` (PYTHONPATH points here).

The year-ahead run moves the wall clock with libfaketime but leaves the monotonic clock
alone (FAKETIME_DONT_FAKE_MONOTONIC=1): with a faked monotonic clock every timed wait of
a Python lock (sem_clockwait, which libfaketime 0.9.10 does not intercept) waits a year,
so the first thread join or Event.wait with a timeout hangs the run. Leaving monotonic
real breaks one thing instead: libfaketime shifts the absolute deadline Python 3.11+
gives clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) by the wall clock's offset, and
time.sleep fails with EINVAL (wolfcw/libfaketime#426). This sleeps with select's relative
timeout instead. Nothing here runs outside that make target.
"""

from __future__ import annotations

import os
import select
import time

_real_monotonic = time.monotonic


def _sleep(secs: float) -> None:
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = _real_monotonic() + secs
    while True:
        remaining = deadline - _real_monotonic()
        if remaining <= 0:
            return
        select.select([], [], [], remaining)


if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1" and "faketime" in os.environ.get(
    "LD_PRELOAD", ""
):
    time.sleep = _sleep  # type: ignore[assignment]  # floats are all the suite passes
