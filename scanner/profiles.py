"""Named scan profiles: nmap arguments built from validated parts, never passed through.

A profile fixes what is scanned (ports, version detection, a short list of safe NSE
scripts). The request may only add validated options: a packet rate (an integer),
reverse DNS on or off, IPv6. Everything else is decided here, so no user or playbook
text ever reaches nmap's command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from garrison.errors import GarrisonError
from garrison.i18n import _
from scanner.ports import port_arguments

SAFE_SCRIPTS = ("ftp-anon", "http-title", "ssl-cert")
UDP_COMMON_PORTS = "53,67,69,123,137,161,500,514,520,1900,4500,5353,11211"
MAX_RATE = 100_000


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    top: int | None = None
    """Scan nmap's ``top`` most common ports plus ``RISKY_PORTS`` (see scanner.ports)."""
    ports: tuple[str, ...] = ()
    """Explicit port selection arguments (``-p-``), when ``top`` is not used."""
    version_detection: bool = False
    scripts: tuple[str, ...] = ()
    udp: bool = False
    discovery: bool = False
    """Hosts only: scapy ARP/ICMP/TCP-SYN as root, ``nmap -sn`` otherwise."""
    host_timeout: str = "15m"
    needs_root: bool = False


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("discovery", _("which hosts are up (no port scan)"), discovery=True,
            host_timeout="2m"),
    Profile("quick", _("top 100 TCP ports and high-risk service ports"), top=100,
            host_timeout="5m"),
    Profile("standard", _("top 1000 TCP ports and high-risk service ports, "
                          "service/version detection, safe scripts"),
            top=1000, version_detection=True, scripts=SAFE_SCRIPTS),
    Profile("full", _("all 65535 TCP ports, service/version detection, safe scripts"),
            ports=("-p-",), version_detection=True, scripts=SAFE_SCRIPTS, host_timeout="60m"),
    Profile("udp-common", _("common UDP services (DNS, NTP, SNMP, IKE, SSDP, memcached ...)"),
            ports=("-p", UDP_COMMON_PORTS), udp=True, needs_root=True, host_timeout="20m"),
)}


class ProfileError(GarrisonError):
    """An unknown profile or an option outside its valid range."""


def get_profile(name: str) -> Profile:
    profile = PROFILES.get(name)
    if profile is None:
        from garrison.words import did_you_mean

        hint = did_you_mean(name, PROFILES)
        raise ProfileError(
            _("unknown scan profile {name!r}{hint}").format(name=name, hint=hint),
            hint=_("Profiles: {names}.").format(names=", ".join(PROFILES)))
    return profile


def check_rate(rate: int | None) -> int | None:
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise ProfileError(_("--rate must be between 1 and {max} packets per second").format(
            max=MAX_RATE))
    return rate


def technique(profile: Profile, *, privileged: bool) -> str:
    """The scan technique nmap will use, named for the report."""
    if profile.discovery:
        return "arp/icmp/tcp-syn (scapy)" if privileged else "ping (nmap -sn, unprivileged)"
    if profile.udp:
        return "udp"
    return "syn" if privileged else "connect"


def nmap_arguments(profile: Profile, *, privileged: bool, resolve: bool, rate: int | None,
                   ipv6: bool) -> list[str]:
    """The argument list for nmap, without targets and without output options."""
    if profile.needs_root and not privileged:
        raise ProfileError(
            _("the {name} profile sends raw packets, which needs the CAP_NET_RAW "
              "capability (root has it unless a container drops it); run with it or pick "
              "another profile").format(name=profile.name))
    args: list[str] = [] if privileged else ["--unprivileged"]
    if profile.discovery:
        args.append("-sn")
    elif profile.udp:
        args.append("-sU")
    else:
        args.append("-sS" if privileged else "-sT")
    args.extend(port_arguments(profile.top) if profile.top else profile.ports)
    if profile.version_detection:
        args.append("-sV")
    if profile.scripts:
        args.append("--script=" + ",".join(profile.scripts))
    args.extend(["-T4", "--max-retries", "2", "--host-timeout", profile.host_timeout])
    if not resolve:
        args.append("-n")
    if rate is not None:
        args.extend(["--max-rate", str(check_rate(rate))])
    if ipv6:
        args.append("-6")
    return args
