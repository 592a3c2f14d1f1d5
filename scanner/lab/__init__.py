"""Loopback lab services that the real ``nmap -sV`` identifies.

A :class:`LabServices` opens real TCP listeners on loopback addresses and answers
just enough of each protocol that nmap's version detection reports the service
name, product and version chosen in a :class:`ServiceSpec`. The test suite scans
them, and ``garrison demo`` uses them to populate a demo inventory.

One background thread runs an asyncio event loop serving every listener. Each
handler is a small request/response state machine; every read is bounded in size
(:data:`READ_LIMIT`) and time (:data:`IDLE_TIMEOUT`), and every session in time
(:data:`SESSION_TIMEOUT`), so nmap's many probes never hang. Input a handler does
not understand ends the session at once: nmap then moves on to its next probe
instead of waiting for a reply that never comes.

Listeners only ever bind loopback addresses (any ``127.x.y.z`` works on Linux
without setup); the lab never sends traffic anywhere else. Importing this module
starts nothing.

Which nmap probe reaches a service depends on the port: nmap sends a protocol's
probe first on that protocol's usual port and sends rare probes (rarity 8: redis,
mongodb, memcached, docker) *only* there. Use the usual ports (6379, 27017,
11211, 2375, ...) for those kinds; :data:`DEFAULT_PORTS` lists them.
"""

from __future__ import annotations

from scanner.lab.conn import (
    IDLE_TIMEOUT,
    MAX_COMMANDS,
    PARTIAL_TIMEOUT,
    READ_LIMIT,
    SESSION_TIMEOUT,
    START_TIMEOUT,
)
from scanner.lab.server import LabServices
from scanner.lab.spec import (
    DEFAULT_PORTS,
    DEFAULT_VERSIONS,
    KINDS,
    OPTIONS,
    POSTGRESQL_LINES,
    LabError,
    ServiceSpec,
)

__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_VERSIONS",
    "IDLE_TIMEOUT",
    "KINDS",
    "MAX_COMMANDS",
    "OPTIONS",
    "PARTIAL_TIMEOUT",
    "POSTGRESQL_LINES",
    "READ_LIMIT",
    "SESSION_TIMEOUT",
    "START_TIMEOUT",
    "LabError",
    "LabServices",
    "ServiceSpec",
]
