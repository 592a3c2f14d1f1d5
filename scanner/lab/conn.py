"""One lab connection: the limits every session keeps, bounded reads, socket helpers."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable

from scanner.lab.spec import ServiceSpec

READ_LIMIT = 16 * 1024      # bytes: one read, one request head, one line
IDLE_TIMEOUT = 10.0         # seconds a session waits for the peer's next message
PARTIAL_TIMEOUT = 2.0       # seconds it waits for the rest of a message once begun
SESSION_TIMEOUT = 60.0      # seconds any one connection may last
MAX_COMMANDS = 64           # requests one connection may make
START_TIMEOUT = 30.0        # seconds start() and stop() wait for the loop thread


class _Closed(Exception):
    """End the session: the peer left, was too slow, or sent something we refuse."""


class _Conn:
    """One client connection with bounded reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 spec: ServiceSpec, serial: int) -> None:
        self.reader = reader
        self.writer = writer
        self.spec = spec
        self.serial = serial
        self.buf = b""

    async def send(self, data: bytes | str) -> None:
        self.writer.write(data.encode() if isinstance(data, str) else data)
        await self.writer.drain()

    async def recv(self) -> bytes:
        """The buffered bytes, or the next chunk the peer sends (never empty)."""
        if self.buf:
            data, self.buf = self.buf, b""
            return data
        return await self._read(IDLE_TIMEOUT)

    async def more(self) -> bytes:
        """The next chunk of a message already begun (a short wait)."""
        return await self._read(PARTIAL_TIMEOUT)

    async def exact(self, n: int) -> bytes:
        if n > READ_LIMIT:
            raise _Closed
        while len(self.buf) < n:
            self.buf += await self._read(PARTIAL_TIMEOUT if self.buf else IDLE_TIMEOUT)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    async def line(self) -> bytes:
        """The next line without its end; refuses over-long lines and binary input."""
        while b"\n" not in self.buf:
            if len(self.buf) > READ_LIMIT or _BINARY.search(self.buf):
                raise _Closed
            self.buf += await self._read(PARTIAL_TIMEOUT if self.buf else IDLE_TIMEOUT)
        line, _sep, self.buf = self.buf.partition(b"\n")
        return line.removesuffix(b"\r")

    async def _read(self, timeout: float) -> bytes:
        try:
            data = await asyncio.wait_for(self.reader.read(READ_LIMIT), timeout)
        except TimeoutError:
            raise _Closed from None
        if not data:
            raise _Closed
        return data


_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]")

_Handler = Callable[[_Conn], Awaitable[None]]


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
