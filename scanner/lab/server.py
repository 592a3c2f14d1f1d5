"""The engine: one background thread runs an asyncio loop serving every listener."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType

from garrison.i18n import _
from scanner.lab.binary_protocols import _mongodb, _mysql, _postgresql, _vnc
from scanner.lab.conn import (
    READ_LIMIT,
    SESSION_TIMEOUT,
    START_TIMEOUT,
    _bind,
    _Closed,
    _Conn,
    _endpoint,
    _Handler,
)
from scanner.lab.http_protocols import _docker, _elasticsearch, _http
from scanner.lab.spec import KINDS, LabError, ServiceSpec
from scanner.lab.text_protocols import _ftp, _memcached, _redis, _smtp, _ssh, _telnet

log = logging.getLogger("scanner.lab")  # the package's logger, as before the split


@dataclass(eq=False)
class _Listener:
    spec: ServiceSpec
    endpoint: tuple[str, int]
    server: asyncio.Server | None = None
    sessions: set[asyncio.Task[None]] = field(default_factory=set)
    closed: bool = False


class LabServices:
    """Serve :class:`ServiceSpec` listeners from one background thread.

    ``start()`` binds every listener before it returns; ``stop()`` closes them and
    every open connection (idempotent); ``close(address, port)`` stops just one.
    Use it as a context manager to start and stop.
    """

    def __init__(self, specs: Sequence[ServiceSpec]) -> None:
        seen: set[tuple[str, int]] = set()
        for spec in specs:
            key = (spec.address, spec.port)
            if spec.port and key in seen:
                raise ValueError(_("Two lab services on {endpoint}.").format(
                    endpoint=_endpoint(*key)))
            seen.add(key)
        self._specs = tuple(specs)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listeners: dict[tuple[str, int], _Listener] = {}
        self._served: set[tuple[str, int]] = set()
        self._serial = 0

    # -------------------------------------------------------------- public API

    @property
    def specs(self) -> tuple[ServiceSpec, ...]:
        return self._specs

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """The ``(address, port)`` of every listener being served now, in spec order.

        Empty before ``start()`` and after ``stop()``; a spec with port 0 shows the
        port the system chose.
        """
        with self._lock:
            return list(self._listeners)

    def start(self) -> None:
        """Bind every listener, then return; raise :class:`LabError` if one cannot bind."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(_("The lab services are already running."))
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=_run_loop, args=(loop,), name="garrison-lab",
                                      daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._open_all(), loop).result(START_TIMEOUT)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Close every listener and open connection and end the thread; idempotent."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_all(), loop).result(START_TIMEOUT)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(START_TIMEOUT)

    def close(self, address: str, port: int) -> None:
        """Stop the one listener on ``address:port`` and its connections.

        A no-op for an endpoint that is not being served (not started, stopped,
        closed already); ``LookupError`` for an endpoint this lab never had.
        """
        key = (str(ipaddress.ip_address(address)), port)
        with self._lock:
            loop = self._loop
            listener = self._listeners.pop(key, None)
        if listener is None or loop is None:
            if key not in self._served and not any((s.address, s.port) == key
                                                   for s in self._specs):
                raise LookupError(_("No lab service on {endpoint}.").format(
                    endpoint=_endpoint(*key)))
            return
        asyncio.run_coroutine_threadsafe(_close_listener(listener), loop).result(START_TIMEOUT)

    def __enter__(self) -> LabServices:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------ inside the loop

    async def _open_all(self) -> None:
        for spec in self._specs:
            try:
                sock = _bind(spec.address, spec.port)
            except OSError as exc:
                raise LabError(
                    _("Cannot listen on {endpoint} for the {kind} lab service: {reason}").format(
                        endpoint=_endpoint(spec.address, spec.port), kind=spec.kind,
                        reason=exc.strerror or exc),
                    hint=_("Another program (or another lab) already uses that address and "
                           "port: stop it, or choose another address in 127.0.0.0/8."),
                ) from exc
            listener = _Listener(spec, (spec.address, int(sock.getsockname()[1])))
            try:
                listener.server = await asyncio.start_server(
                    functools.partial(self._session, listener), sock=sock, limit=READ_LIMIT)
            except BaseException:
                sock.close()
                raise
            with self._lock:
                self._listeners[listener.endpoint] = listener
                self._served.add(listener.endpoint)

    async def _close_all(self) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
            self._listeners.clear()
        await asyncio.gather(*(_close_listener(x) for x in listeners))

    async def _session(self, listener: _Listener, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if listener.closed or task is None:
            writer.close()
            return
        listener.sessions.add(task)
        self._serial += 1
        conn = _Conn(reader, writer, listener.spec, self._serial)
        try:
            await asyncio.wait_for(_HANDLERS[listener.spec.kind](conn), SESSION_TIMEOUT)
        except (_Closed, TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a handler bug must not kill the loop; nmap just sees a close
            log.debug("lab %s session failed", listener.spec.kind, exc_info=True)
        finally:
            listener.sessions.discard(task)
            writer.close()


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    finally:
        loop.close()


async def _close_listener(listener: _Listener) -> None:
    listener.closed = True
    if listener.server is not None:
        listener.server.close()
    sessions = list(listener.sessions)
    for task in sessions:
        task.cancel()
    await asyncio.gather(*sessions, return_exceptions=True)
    if listener.server is not None:
        await listener.server.wait_closed()


_HANDLERS: Mapping[str, _Handler] = MappingProxyType({
    "ssh": _ssh, "ftp": _ftp, "telnet": _telnet, "http": _http, "redis": _redis,
    "mysql": _mysql, "vnc": _vnc, "smtp": _smtp, "elasticsearch": _elasticsearch,
    "docker": _docker, "mongodb": _mongodb, "memcached": _memcached,
    "postgresql": _postgresql,
})
assert set(_HANDLERS) == KINDS
