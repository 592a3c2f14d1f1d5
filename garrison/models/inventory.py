"""What the scanners found: assets, their services, scan runs and changes."""

from __future__ import annotations

import enum
import ipaddress
import socket
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime, enum_type, json_type


class AssetState(enum.StrEnum):
    up = "up"
    down = "down"
    gone = "gone"
    """Missed by N consecutive runs that covered its address."""


def address_key(address: str) -> bytes:
    """An address as its sort key: the IP version (4 or 6), then the address's bytes.

    Bytes compare byte by byte on SQLite and PostgreSQL alike, so IPv4 sorts before
    IPv6 and each in numeric order (127.0.0.2 before 127.0.0.10, which text puts after
    127.0.0.100). ``ValueError`` if ``address`` is not an IP address."""
    try:  # dotted-decimal IPv4, strictly, in C: imports key every host
        return b"\x04" + socket.inet_pton(socket.AF_INET, address)
    except OSError:
        ip = ipaddress.ip_address(address)
        return bytes([ip.version]) + ip.packed


def _address_key_default(context: Any) -> bytes:
    """Fills ``asset.address_key`` on ORM and Core inserts (bulk inserts pass it)."""
    return address_key(context.get_current_parameters()["address"])


class Asset(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("unit_id", "address"),
                      sa.Index("ix_asset_unit_id_address_key", "unit_id", "address_key"))

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")  # indexed by the unique (unit_id, address)
    address: str = Field(max_length=64, index=True)
    address_key: bytes | None = Field(default=None, sa_type=sa.LargeBinary(17), nullable=False,
                                      sa_column_kwargs={"default": _address_key_default})
    """``address_key(address)``: lists sort by it (filled on insert; never None stored)."""
    hostname: str | None = Field(default=None, max_length=255)
    mac: str | None = Field(default=None, max_length=32)
    vendor: str | None = Field(default=None, max_length=200)
    os_guess: str | None = Field(default=None, max_length=200)
    criticality: str | None = Field(default=None, max_length=20)
    protection_level: int | None = Field(default=None, ge=1, le=5)
    """China's MLPS (等级保护) level, 1-5."""
    state: AssetState = Field(default=AssetState.up, sa_type=enum_type(AssetState))
    missed_runs: int = 0
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)
    """When a scan last saw it up (the observation's time, not the import's)."""
    last_observed: datetime = Field(sa_type=UTCDateTime)
    """When the newest run that covered its address looked (up or not): an observation
    older than this is history and does not move the asset's state."""


class Service(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("asset_id", "protocol", "port"),)

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", ondelete="CASCADE")
    # indexed by the unique (asset_id, protocol, port)
    protocol: str = Field(max_length=8)
    port: int = Field(ge=0, le=65535)
    state: str = Field(max_length=20)
    name: str | None = Field(default=None, max_length=100)
    product: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=100)
    extrainfo: str | None = Field(default=None, max_length=300)
    tunnel: str | None = Field(default=None, max_length=20)
    """``ssl`` when nmap saw the service wrapped in TLS."""
    method: str | None = Field(default=None, max_length=10)
    """How nmap named the service: ``probed`` (version detection ran) or ``table``."""
    cpe: list[str] = Field(default_factory=list, sa_type=json_type())
    scripts: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)


class ScanStatus(enum.StrEnum):
    running = "running"
    done = "done"
    interrupted = "interrupted"
    failed = "failed"


class RunKind(enum.StrEnum):
    scan = "scan"
    import_ = "import"


class ScanRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: RunKind = Field(default=RunKind.scan, sa_type=enum_type(RunKind))
    profile: str = Field(max_length=40)
    technique: str | None = Field(default=None, max_length=40)
    """How packets were sent: ``syn`` (root), ``connect``, ``udp``, ``arp``/``icmp``/..."""
    targets: list[str] = Field(default_factory=list, sa_type=json_type())
    request: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    """The serialisable scan request, so a queued agent can run it again."""
    command: str = Field(default="", sa_type=sa.Text)
    """The exact scanner command line(s) that ran."""
    actor: str = Field(max_length=100)
    status: ScanStatus = Field(default=ScanStatus.running, sa_type=enum_type(ScanStatus))
    started_at: datetime = Field(sa_type=UTCDateTime)
    """When Garrison started the run (or the import)."""
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    observed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    """When the network was looked at: the scan's start, or for an import the file's
    own ``<nmaprun start>``. Runs are ordered by it."""
    observed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """The end of the observation (the last host's ``endtime`` for an import)."""
    coverage: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    """What it looked at: ``{"addresses": [CIDR...], "ports": {"tcp": "1-1024,..."}}``;
    an older observation of a covered address and port does not move the present."""
    hosts_total: int = 0
    hosts_done: int = 0
    hosts_up: int = 0
    hosts_skipped: int = 0
    """Imported hosts outside the unit's scopes: counted, not stored."""
    services_seen: int = 0
    batches_total: int = 0
    batches_done: int = 0
    counts: dict[str, int] = Field(default_factory=dict, sa_type=json_type())
    """Changes and finding transitions by kind."""
    nmap_version: str | None = Field(default=None, max_length=20)
    source_file: str | None = Field(default=None, max_length=500)
    source_sha256: str | None = Field(default=None, max_length=64)
    pid: int | None = None
    """Process running the scan, to tell a crashed run from a live one."""
    hostname: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, sa_type=sa.Text)


class ChangeKind(enum.StrEnum):
    asset_appeared = "asset_appeared"
    asset_gone = "asset_gone"
    port_opened = "port_opened"
    port_closed = "port_closed"
    service_changed = "service_changed"


class Change(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="scanrun.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    asset_id: int | None = Field(
        default=None, foreign_key="asset.id", ondelete="SET NULL", index=True
    )
    kind: ChangeKind = Field(sa_type=enum_type(ChangeKind))
    address: str = Field(max_length=64)
    protocol: str | None = Field(default=None, max_length=8)
    port: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_type=json_type())
    after: dict[str, Any] | None = Field(default=None, sa_type=json_type())
    at: datetime = Field(sa_type=UTCDateTime)
    """When it was observed (an import's host time, not the import's)."""
    historical: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    """Seen in an observation older than the inventory's: recorded, not applied."""
