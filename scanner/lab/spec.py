"""What a lab service is: the kinds, their defaults and options, and :class:`ServiceSpec`."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from garrison.errors import GarrisonError
from garrison.i18n import _

KINDS: frozenset[str] = frozenset({
    "ssh", "ftp", "telnet", "http", "redis", "mysql", "vnc", "smtp", "elasticsearch",
    "docker", "mongodb", "memcached", "postgresql",
})

#: The version each kind announces when a spec gives none (``None``: the protocol
#: carries no product version; for ``vnc`` it is the RFB protocol version).
DEFAULT_VERSIONS: Mapping[str, str | None] = MappingProxyType({
    "ssh": "7.4",
    "ftp": "3.0.3",
    "telnet": None,
    "http": "1.14.0",
    "redis": "6.0.5",
    "mysql": "5.7.33",
    "vnc": "3.8",
    "smtp": None,
    "elasticsearch": "7.10.2",
    "docker": "20.10.5",
    "mongodb": "4.4.6",
    "memcached": "1.6.9",
    "postgresql": "12.5",
})

#: Each kind's usual port: the one on which nmap sends that protocol's probe first.
DEFAULT_PORTS: Mapping[str, int] = MappingProxyType({
    "ssh": 22, "ftp": 21, "telnet": 23, "http": 80, "redis": 6379, "mysql": 3306,
    "vnc": 5900, "smtp": 25, "elasticsearch": 9200, "docker": 2375, "mongodb": 27017,
    "memcached": 11211, "postgresql": 5432,
})

#: The options each kind understands, with their defaults.
OPTIONS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "ssh": {"software": "OpenSSH"},
    "ftp": {"anonymous": "no"},
    "telnet": {"banner": ""},
    "http": {"server": "", "title": "Welcome"},          # server "" -> "nginx/<version>"
    "redis": {},
    "mysql": {},
    "vnc": {"auth": "vnc"},                               # "vnc" (password) or "none"
    "smtp": {"hostname": "mail.lab.example", "os": "Debian"},
    "elasticsearch": {"name": "lab-node-1", "cluster": "elasticsearch", "lucene": "8.7.0"},
    "docker": {"api": "1.41", "os": "linux", "kernel": "5.10.0"},
    "mongodb": {},
    "memcached": {},
    "postgresql": {},
})

#: PostgreSQL reveals its version only through the source line of the error it
#: reports for an unsupported protocol; nmap knows these lines. version ->
#: (postmaster.c line, whether the error carries the 9.6+ "V" field).
POSTGRESQL_LINES: Mapping[str, tuple[int, bool]] = MappingProxyType({
    "9.4.12": (2002, False),
    "9.5.25": (2016, False),
    "9.6.24": (2063, True),
    "12.5": (2092, True),
    "14.0": (2114, True),
    "15": (2194, True),
})


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LabError(GarrisonError):
    """A lab listener could not be opened (the message names the address:port)."""


@dataclass(frozen=True)
class ServiceSpec:
    """One fake service: where it listens, what it is, which version it announces.

    ``address`` must be a loopback address; ``port`` 0 lets the system choose (see
    :attr:`LabServices.endpoints`). ``version`` falls back to :data:`DEFAULT_VERSIONS`
    and is ignored by kinds whose protocol carries none (telnet). ``options`` are
    checked against :data:`OPTIONS` (e.g. http ``server``/``title``, ftp
    ``anonymous``, ssh ``software``, vnc ``auth``, docker ``api``).
    """

    address: str
    port: int
    kind: str
    version: str | None = None
    options: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        try:
            ip = ipaddress.ip_address(self.address)
        except ValueError:
            raise ValueError(_("Lab address {address!r} is not an IP address.").format(
                address=self.address)) from None
        if not ip.is_loopback:
            raise ValueError(_("Lab address {address} is not a loopback address: the lab "
                               "listens on 127.0.0.0/8 or ::1 only.").format(address=ip))
        if self.kind not in KINDS:
            raise ValueError(_("Unknown lab service kind {kind!r}; known: {known}.").format(
                kind=self.kind, known=", ".join(sorted(KINDS))))
        if not 0 <= self.port <= 65535:
            raise ValueError(_("Lab port {port} is out of range 0-65535.").format(port=self.port))
        unknown = sorted(set(self.options) - set(OPTIONS[self.kind]))
        if unknown:
            raise ValueError(_("Unknown option(s) {unknown} for a {kind} lab service; "
                               "known: {known}.").format(
                unknown=", ".join(unknown), kind=self.kind,
                known=", ".join(sorted(OPTIONS[self.kind])) or "-"))
        for value in (self.version or "", *self.options.values()):
            if len(value) > 200 or _CONTROL.search(value):
                raise ValueError(_("A lab version or option must be printable text of at most "
                                   "200 characters, not {value!r}.").format(value=value))
        object.__setattr__(self, "address", str(ip))
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        announced = self.announced_version
        if self.kind == "postgresql" and announced not in POSTGRESQL_LINES:
            raise ValueError(_("nmap cannot tell PostgreSQL {version} apart; choose one of "
                               "{known}.").format(version=announced,
                                                  known=", ".join(POSTGRESQL_LINES)))
        if self.kind == "vnc" and not re.fullmatch(r"\d{1,3}\.\d{1,3}", announced or ""):
            raise ValueError(_("A VNC version is the RFB protocol version, like 3.8."))

    @property
    def announced_version(self) -> str | None:
        """The version this service announces: the spec's, or the kind's default."""
        return self.version if self.version is not None else DEFAULT_VERSIONS[self.kind]

    def option(self, name: str) -> str:
        """The value of option ``name``, or the kind's default."""
        return self.options.get(name, OPTIONS[self.kind][name])
