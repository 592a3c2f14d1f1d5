"""The roster filter (standard library only: the TUI builds it without loading the ORM)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ExpertFilter:
    skills: tuple[tuple[str, int], ...] = ()
    """Every one of these at least at that level."""
    city: str | None = None
    available_at: datetime | None = None
    cert: str | None = None
    """Holds this certification, unexpired (on ``available_at`` or today)."""
    include_retired: bool = False
    text: str | None = None
    """Words in the name or organisation."""
