"""The scanner's lists in plain rows: what a user asks for and one page of the answer.

Standard library only. Two roads produce these rows, and one renderer
(``scanner.render``) prints them: the ORM queries (``scanner.queries``,
``scanner.run_queries``: the reference, used by the library and the TUI) and the
CLI's quick path (``scanner.quick``: ``sqlite3`` or ``psycopg`` without loading
SQLAlchemy). The TUI's assets screen also holds these from its start, and paints
before SQLAlchemy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

ASSET_STATES = ("up", "down", "gone")
"""``AssetState``'s values, in the order the summary line counts them."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and where it sits in the whole (``scanner.paging``)."""

    rows: list[T]
    total: int
    """Rows matching the filters, on every page."""
    before: int = 0
    """Matching rows before this page (0 on the first)."""
    counts: dict[str, int] = field(default_factory=dict)
    """Matching rows by state, status or kind (the summary line)."""

    @property
    def first(self) -> int:
        """1-based position of the first row shown."""
        return self.before + 1

    @property
    def last(self) -> int:
        return self.before + len(self.rows)

    @property
    def more(self) -> bool:
        """Are there rows after this page?"""
        return self.last < self.total


# ---------------------------------------------------------------- assets


@dataclass(frozen=True)
class AssetQuery:
    """What the list asks for; every field narrows it."""

    unit: str | None = None
    """This unit and the units under it."""
    text: str | None = None
    """In the address, the hostname, or an open service's name or product."""
    service: str | None = None
    """An open service: a port (``443``, ``tcp/22``) or a name prefix (``ssh``)."""
    state: str | None = None
    """One of ``ASSET_STATES`` (an ``AssetState`` is one)."""


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


# ---------------------------------------------------------------- runs and changes


@dataclass(frozen=True)
class RunLine:
    """A scan or import run as ``scan list`` and ``scan show`` print it."""

    id: int
    unit: str
    """The unit's code."""
    unit_id: int
    kind: str
    profile: str
    technique: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    observed_at: datetime
    observed_until: datetime | None
    targets: list[str]
    command: str
    actor: str
    hosts_total: int
    hosts_done: int
    hosts_up: int
    hosts_skipped: int
    services_seen: int
    batches_done: int
    batches_total: int
    counts: dict[str, int]
    nmap_version: str | None
    source_file: str | None
    source_sha256: str | None
    error: str | None


@dataclass(frozen=True)
class ChangeLine:
    """One change a run recorded."""

    id: int
    run_id: int
    kind: str
    address: str
    protocol: str | None
    port: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True)
class RunChanges:
    """``scan show RUN``: the run, and a page of its changes by address."""

    run: RunLine
    page: Page[ChangeLine]

    @property
    def unit(self) -> str:
        return self.run.unit


@dataclass(frozen=True)
class RunDiff:
    """The changes of the runs observed after ``first`` up to ``last`` (same unit)."""

    first: RunLine
    last: RunLine
    unit: str
    runs: int
    """Runs in between, ``last`` included."""
    page: Page[ChangeLine]
