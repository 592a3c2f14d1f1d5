"""The product's one source of "now".

Every service that needs the current time (SLA deadlines, overdue, expiry of risk
acceptances, on-call, drills, exports, imports, the audit trail) takes it from a
``Clock`` carried by the settings (``settings.clock``), never from
``datetime.now()``: a layout test keeps it so. Tests pin the clock; CI also runs the
suite with the system clock a year ahead, so no test can depend on today's date.

``GARRISON_CLOCK`` chooses the clock of a process:

- ``system`` (the default): the system's time;
- ``fixed:2026-11-26T09:00:00+08:00``: always that instant (tests, screenshots);
- ``from:2026-11-26T09:00:00+08:00``: starts at that instant when the process
  starts and runs on from there (rehearsals, screenshots);
- ``offset:-691200``: the system's time moved by that many seconds. Every process
  given the same offset agrees on the time, so the test suite pins its date this way
  for the commands it starts in child processes (a drill engine and the terminal that
  answers it must share one clock).

A time without a zone is read in UTC. This module is stdlib-only: the CLI's quick
paths use it without loading pydantic.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from garrison.i18n import _

__all__ = ["Clock", "ClockError", "FixedClock", "ShiftedClock", "SystemClock", "clock_from_env",
           "expected_form", "parse_clock"]

ENV = "GARRISON_CLOCK"


class ClockError(ValueError):
    """``GARRISON_CLOCK`` is not one of the forms this module reads."""


class Clock(ABC):
    """Where "now" comes from. ``now()`` is timezone-aware UTC."""

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""

    def today(self, zone: str | tzinfo = "Asia/Shanghai") -> date:
        """The calendar date now in ``zone`` (scopes and acceptances end on local dates)."""
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
        return self.now().astimezone(tz).date()

    @abstractmethod
    def describe(self) -> str:
        """The ``GARRISON_CLOCK`` text that makes this clock."""

    def __repr__(self) -> str:
        return f"Clock({self.describe()!r})"


class SystemClock(Clock):
    """The system's time (the default in production)."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # the one place the product reads the system clock

    def describe(self) -> str:
        return "system"


class FixedClock(Clock):
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware(at)

    def now(self) -> datetime:
        return self.at

    def describe(self) -> str:
        return f"fixed:{self.at.isoformat()}"


class ShiftedClock(Clock):
    """The system's time moved by a fixed offset: it runs, but from a chosen start."""

    def __init__(self, offset: timedelta, start: datetime | None = None) -> None:
        self.offset, self.start = offset, start

    @classmethod
    def starting_at(cls, at: datetime) -> ShiftedClock:
        at = _aware(at)
        return cls(at - SystemClock().now(), at)

    def now(self) -> datetime:
        return SystemClock().now() + self.offset

    def describe(self) -> str:
        return (f"from:{self.start.isoformat()}" if self.start
                else f"offset:{self.offset.total_seconds():g}")


def _aware(at: datetime) -> datetime:
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at).astimezone(UTC)


def parse_clock(text: str) -> Clock:
    """``system``, ``fixed:ISO-TIME`` or ``from:ISO-TIME`` (see the module docstring)."""
    value = text.strip()
    if value in ("", "system"):
        return SystemClock()
    kind, sep, when = value.partition(":")
    if sep and kind == "offset":
        try:
            return ShiftedClock(timedelta(seconds=float(when)))
        except (ValueError, OverflowError):
            pass
    if sep and kind in ("fixed", "from"):
        try:
            at = datetime.fromisoformat(when.strip())
        except ValueError:
            pass
        else:
            return FixedClock(at) if kind == "fixed" else ShiftedClock.starting_at(at)
    raise ClockError(_("{name}={value!r}: expected {form}").format(
        name=ENV, value=text, form=expected_form()))


def expected_form() -> str:
    """What ``GARRISON_CLOCK`` may say, for error messages."""
    return _("system, fixed:TIME, from:TIME (an ISO time such as 2026-11-26T09:00:00+08:00) "
             "or offset:SECONDS")


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """The clock ``GARRISON_CLOCK`` names (``system`` when unset)."""
    env = os.environ if environ is None else environ
    return parse_clock(env.get(ENV, "system"))
