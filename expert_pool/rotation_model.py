"""What the on-call planner takes and gives: people, a requirement, a rotation.

``Person`` is an expert as the planner sees them (skills with levels, busy periods);
``Requirement`` is what every shift needs (people per shift, required skills, rest
between two shifts of one person); ``Rotation`` is a plan -- the crew of every shift,
everyone's load and its spread over the eligible people (see ``expert_pool.rotation``
for what "eligible" and "spread" mean); ``Infeasible`` is the refusal, every missing
thing named (``expert_pool.rotation_diagnose`` writes the reasons).

Pure data: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from expert_pool.rotation_shifts import Shift, instant
from garrison.errors import GarrisonError
from garrison.i18n import _, ngettext

__all__ = ["Infeasible", "Person", "Requirement", "Rotation"]

_REASONS_SHOWN = 10


@dataclass(frozen=True)
class Person:
    """An expert who can be put on call."""

    id: int
    name: str
    skills: Mapping[str, int]
    """Skill -> level 1..3."""
    busy: tuple[tuple[datetime, datetime], ...] = ()
    """Periods ``[start, end)`` the person cannot be called (aware datetimes)."""


@dataclass(frozen=True)
class Requirement:
    """What every shift of the rotation needs."""

    per_shift: int = 1
    skills: tuple[tuple[str, int], ...] = ()
    """Each ``(skill, min level)`` must be held by at least one person on every shift."""
    rest: timedelta = timedelta(0)
    """The least time off between two shifts of the same person: a shift counts as
    overlapping any shift that starts less than ``rest`` after it ends (so with 12-hour
    shifts and ``rest`` of 8 h, nobody works a day shift and the night after it)."""


@dataclass
class Rotation:
    """A plan: who is on every shift, and the load it gives each person."""

    shifts: list[Shift]
    crew: list[list[int]]
    """``crew[i]``: the ids of the people on ``shifts[i]`` (ascending)."""
    load: dict[int, int]
    """Person id -> number of shifts, for every person given (0 included)."""
    eligible: frozenset[int] | None = field(default=None)
    """The people the spread is computed over (see ``expert_pool.rotation``); ``None``:
    everyone in ``load``."""

    @property
    def spread(self) -> int:
        """``max(load) - min(load)`` over the eligible people (0 when there are none)."""
        ids = self.load.keys() if self.eligible is None else self.eligible
        counts = [self.load[i] for i in ids]
        return max(counts) - min(counts) if counts else 0

    @property
    def unavailable(self) -> list[int]:
        """Ids of the people who could take no shift at all (ascending)."""
        if self.eligible is None:
            return []
        return sorted(i for i in self.load if i not in self.eligible)

    def on_call(self, at: datetime) -> list[int]:
        """The ids on the shift(s) covering ``at`` (``starts <= at < ends``)."""
        moment = instant(at)
        out: list[int] = []
        for shift, crew in zip(self.shifts, self.crew, strict=True):
            if instant(shift.starts) <= moment < instant(shift.ends):
                out.extend(i for i in crew if i not in out)
        return out


class Infeasible(GarrisonError):
    """No plan meets the request; ``reasons`` says exactly what is missing."""

    def __init__(self, reasons: Sequence[str], *, hint: str | None = None) -> None:
        self.reasons: list[str] = list(reasons)
        shown = self.reasons[:_REASONS_SHOWN]
        more = len(self.reasons) - len(shown)
        if more:
            shown.append(ngettext("... and {n} more problem", "... and {n} more problems",
                                  more).format(n=more))
        super().__init__(
            "\n".join(shown),
            hint=hint or _("Ask for fewer people per shift or fewer (or lower) required "
                           "skills, or add experts to the pool."))
