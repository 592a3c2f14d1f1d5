"""Fakes of what belongs to someone else: an nmap binary that records, a scanner back-end."""

from __future__ import annotations

import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from scanner.backends import PortScanner

FAKE_NMAP = """#!/bin/sh
# A stand-in for nmap that records every invocation, answers -V like nmap 7.93,
# and otherwise sleeps (so a test can interrupt a "running scan").
echo "$$ $*" >> "{record}"
if [ "$1" = "-V" ]; then
  echo "Nmap version 7.93 ( https://nmap.org )"
  exit 0
fi
sleep {sleep}
"""


def fake_nmap(tmp_path: Path, *, sleep: int = 30) -> tuple[Path, Path]:
    """(script, record file). The record file exists only once the fake was run."""
    record = tmp_path / "nmap-calls.txt"
    script = tmp_path / "fake-nmap"
    script.write_text(FAKE_NMAP.format(record=record, sleep=sleep))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, record


def nmap_xml(hosts: Sequence[tuple[str, Sequence[tuple[int, str]]]], ports: str) -> bytes:
    """Minimal but complete nmap XML for (address, [(port, service name)]) hosts."""
    body = []
    for address, open_ports in hosts:
        listed = "".join(
            f'<port protocol="tcp" portid="{p}"><state state="open" reason="syn-ack"/>'
            f'<service name="{name}" method="table" conf="3"/></port>' for p, name in open_ports)
        body.append(f'<host><status state="up" reason="syn-ack"/><address addr="{address}" '
                    f'addrtype="ipv4"/><ports>{listed}</ports></host>')
    return (
        '<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap -sS -p {ports}" version="7.93">'
        '<scaninfo type="syn" protocol="tcp" numservices="1" services="{ports}"/>{body}'
        '<runstats><finished time="1" exit="success" summary="done"/></runstats></nmaprun>'
    ).format(ports=ports, body="".join(body)).encode()


class FakeScanner(PortScanner):
    """Answers each batch from a function; records the batches it was asked to scan."""

    def __init__(self, answer: Callable[[Sequence[str]], bytes]) -> None:
        self.answer = answer
        self.calls: list[tuple[list[str], list[str]]] = []

    @property
    def version(self) -> str:
        return "7.93-fake"

    def command(self, targets: Sequence[str], arguments: Sequence[str]) -> list[str]:
        return ["fake-nmap", *arguments, "--", *targets]

    def scan(self, targets: Sequence[str], arguments: Sequence[str], *,
             timeout: float | None = None) -> bytes:
        del timeout  # the fake answers at once
        self.calls.append((list(targets), list(arguments)))
        return self.answer(targets)
