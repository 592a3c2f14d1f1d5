"""What this process may do on the network: raw sockets or not.

A SYN scan, scapy's ARP/ICMP discovery and UDP scans send raw packets, which Linux
allows to a process holding the ``CAP_NET_RAW`` capability -- not simply to uid 0: root
inside a container started without that capability cannot open a raw socket (nmap
then fails every run with "Couldn't open a raw socket"), and a non-root service can be
given it (``setcap cap_net_raw+ep``, systemd ``AmbientCapabilities``). So the choice
between SYN and connect scans follows the capability, read from the kernel.
"""

from __future__ import annotations

import os
from pathlib import Path

CAP_NET_RAW = 13
"""The capability's bit number (linux/capability.h)."""


def effective_capabilities(status: Path = Path("/proc/self/status")) -> int | None:
    """The ``CapEff`` mask of this process, or None where the kernel does not say."""
    try:
        for line in status.read_text(encoding="ascii").splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        return None
    return None


def raw_sockets_allowed() -> bool:
    """May this process send raw packets (SYN scans, scapy discovery, UDP scans)?"""
    caps = effective_capabilities()
    if caps is None:  # not Linux, or /proc hidden: fall back to the classic rule
        return os.geteuid() == 0
    return bool(caps >> CAP_NET_RAW & 1)
