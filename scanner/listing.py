"""The asset list's vocabulary: what a user asks for and one line of the answer.

Standard library only: the TUI's assets screen holds these from its start, and paints
before SQLAlchemy is imported (``scanner.queries`` runs the search in a worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from garrison.models import AssetState


@dataclass(frozen=True)
class AssetQuery:
    """What the list asks for; every field narrows it."""

    unit: str | None = None
    """This unit and the units under it."""
    text: str | None = None
    """In the address, the hostname, or an open service's name or product."""
    service: str | None = None
    """An open service: a port (``443``, ``tcp/22``) or a name prefix (``ssh``)."""
    state: AssetState | None = None


@dataclass(frozen=True)
class AssetLine:
    id: int
    address: str
    unit: str
    hostname: str | None
    state: str
    open_services: int
    """Services whose last known state is open (for a gone asset: when it was last seen)."""
    open_findings: int
    last_seen: datetime
    first_seen: datetime
    mac: str | None
    os_guess: str | None

    @property
    def gone(self) -> bool:
        return self.state == "gone"

    @property
    def cursor(self) -> str:
        """What ``--after`` takes to start the next page after this row."""
        return f"{self.unit}/{self.address}"
