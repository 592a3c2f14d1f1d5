"""Line-oriented handlers: ssh, ftp (with passive LIST), telnet, smtp, redis, memcached."""

from __future__ import annotations

import asyncio
import time

from scanner.lab.conn import IDLE_TIMEOUT, MAX_COMMANDS, READ_LIMIT, _bind, _Closed, _Conn
from scanner.lab.spec import ServiceSpec


async def _ssh(c: _Conn) -> None:
    await c.send(f"SSH-2.0-{c.spec.option('software')}_{c.spec.announced_version}\r\n")
    if not (await c.recv()).startswith(b"SSH-"):
        await c.send("Protocol mismatch.\r\n")


async def _ftp(c: _Conn) -> None:
    """vsftpd: a banner, login (anonymous when allowed) and a passive LIST."""
    anonymous = c.spec.option("anonymous").lower() in {"yes", "true", "1"}
    await c.send(f"220 (vsFTPd {c.spec.announced_version})\r\n")
    user, logged_in = "", False
    passive: _Passive | None = None
    try:
        for _n in range(MAX_COMMANDS):
            verb, _sp, arg = (await c.line()).decode("latin-1").strip().partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                await c.send("221 Goodbye.\r\n")
                return
            if verb == "USER":
                user = arg
                reply = ("530 Can't change to another user.\r\n" if logged_in
                         else "331 Please specify the password.\r\n")
            elif verb == "PASS":
                logged_in = anonymous and user.lower() in {"anonymous", "ftp"}
                reply = "230 Login successful.\r\n" if logged_in else "530 Login incorrect.\r\n"
            elif verb in {"FEAT", "SYST", "HELP", "NOOP"} or not logged_in:
                reply = _FTP_ANYTIME.get(verb, "530 Please login with USER and PASS.\r\n")
            elif verb in {"PASV", "EPSV"}:
                if passive is not None:
                    passive.close()
                passive = await _Passive.open(c.spec.address)
                reply = (f"229 Entering Extended Passive Mode (|||{passive.port}|)\r\n"
                         if verb == "EPSV" else
                         "227 Entering Passive Mode ({},{},{}).\r\n".format(
                             c.spec.address.replace(".", ","), passive.port >> 8,
                             passive.port & 0xFF))
            elif verb in {"LIST", "NLST"}:
                if passive is None:
                    reply = "425 Use PORT or PASV first.\r\n"
                else:
                    await c.send("150 Here comes the directory listing.\r\n")
                    listing = _FTP_LISTING if verb == "LIST" else "pub\r\n"
                    ok = await passive.send(listing.encode())
                    passive = None
                    reply = ("226 Directory send OK.\r\n" if ok
                             else "425 Failed to establish connection.\r\n")
            else:
                reply = _FTP_COMMANDS.get(verb, "500 Unknown command.\r\n")
            await c.send(reply)
    finally:
        if passive is not None:
            passive.close()


_FTP_ANYTIME = {
    "FEAT": "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n UTF8\r\n211 End\r\n",
    "SYST": "215 UNIX Type: L8\r\n",
    "HELP": "214 Help OK.\r\n",
    "NOOP": "200 NOOP ok.\r\n",
}
_FTP_COMMANDS = {
    "PWD": '257 "/" is the current directory\r\n',
    "CWD": "250 Directory successfully changed.\r\n",
    "TYPE": "200 Switching to Binary mode.\r\n",
    "PORT": "500 Illegal PORT command.\r\n",
    "RETR": "550 Failed to open file.\r\n",
    "STOR": "553 Could not create file.\r\n",
}
_FTP_LISTING = "drwxr-xr-x    2 0        0            4096 Jan 01  2024 pub\r\n"


class _Passive:
    """One passive-mode data connection, on the control connection's address."""

    def __init__(self, server: asyncio.Server, port: int,
                 accepted: asyncio.Future[asyncio.StreamWriter]) -> None:
        self.server, self.port, self.accepted = server, port, accepted

    @classmethod
    async def open(cls, address: str) -> _Passive:
        accepted: asyncio.Future[asyncio.StreamWriter] = (
            asyncio.get_running_loop().create_future())

        async def on_connect(_reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
            if accepted.done():
                writer.close()
            else:
                accepted.set_result(writer)

        server = await asyncio.start_server(on_connect, sock=_bind(address, 0))
        return cls(server, int(server.sockets[0].getsockname()[1]), accepted)

    async def send(self, data: bytes) -> bool:
        try:
            writer = await asyncio.wait_for(asyncio.shield(self.accepted), IDLE_TIMEOUT)
            writer.write(data)
            await writer.drain()
            return True
        except (TimeoutError, ConnectionError):
            return False
        finally:
            self.close()

    def close(self) -> None:
        self.server.close()
        if self.accepted.done() and not self.accepted.cancelled():
            self.accepted.result().close()
        else:
            self.accepted.cancel()


_IAC, _SB, _SE = 255, 250, 240


def _strip_telnet(data: bytes) -> bytes:
    """``data`` without telnet commands (IAC sequences and subnegotiations)."""
    out, i = bytearray(), 0
    while i < len(data):
        if data[i] != _IAC:
            out.append(data[i])
            i += 1
        elif i + 1 < len(data) and data[i + 1] == _IAC:
            out.append(_IAC)
            i += 2
        elif i + 1 < len(data) and data[i + 1] == _SB:
            end = data.find(bytes([_IAC, _SE]), i + 2)
            i = len(data) if end < 0 else end + 2
        else:
            i += 3 if i + 1 < len(data) and 251 <= data[i + 1] <= 254 else 2
    return bytes(out)


async def _telnet(c: _Conn) -> None:
    """Linux (netkit) telnetd: DO TTYPE/TSPEED/XDISPLOC/NEW-ENVIRON, then a login."""
    await c.send(b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27")
    await c.recv()                    # the client's answers (or anything) come first
    banner = c.spec.option("banner")
    await c.send((f"{banner}\r\n" if banner else "") + "\r\nlogin: ")
    prompt = "Password: "
    for _n in range(MAX_COMMANDS):
        text = _strip_telnet(await c.recv())
        if b"\n" not in text and b"\r" not in text:
            continue
        await c.send(prompt)
        prompt = "Password: " if prompt != "Password: " else "\r\nLogin incorrect\r\nlogin: "


async def _smtp(c: _Conn) -> None:
    """Postfix smtpd: the banner, EHLO/HELO, and relaying refused."""
    host, version = c.spec.option("hostname"), c.spec.announced_version
    extra = f" ({version}) ({c.spec.option('os')})" if version else ""
    await c.send(f"220 {host} ESMTP Postfix{extra}\r\n")
    for _n in range(MAX_COMMANDS):
        verb, _sp, arg = (await c.line()).decode("latin-1").strip().partition(" ")
        verb = verb.upper()
        if verb == "QUIT":
            await c.send("221 2.0.0 Bye\r\n")
            return
        if verb in {"EHLO", "HELO"} and not arg:
            reply = f"501 Syntax: {verb} hostname\r\n"
        elif verb == "EHLO":
            reply = (f"250-{host}\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
                     "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 DSN\r\n")
        elif verb == "HELO":
            reply = f"250 {host}\r\n"
        elif verb == "RCPT":
            reply = f"554 5.7.1 {arg.partition(':')[2].strip()}: Relay access denied\r\n"
        else:
            reply = _SMTP_REPLIES.get(verb, "502 5.5.2 Error: command not recognized\r\n")
        await c.send(reply)


_SMTP_REPLIES = {
    "MAIL": "250 2.1.0 Ok\r\n",
    "DATA": "554 5.5.1 Error: no valid recipients\r\n",
    "RSET": "250 2.0.0 Ok\r\n",
    "NOOP": "250 2.0.0 Ok\r\n",
    "VRFY": "252 2.0.0 Send some mail, I'll try my best\r\n",
}


async def _redis(c: _Conn) -> None:
    """Redis: RESP or inline commands; INFO carries redis_version."""
    started = time.monotonic()
    for _n in range(MAX_COMMANDS):
        first = await c.line()
        if first.startswith(b"*"):
            args = [await _resp_bulk(c) for _i in range(_count(first[1:], 64))]
        else:
            args = first.split()
        if not args:
            continue
        name = args[0].decode("latin-1").lower()
        if name == "ping":
            await c.send("+PONG\r\n")
        elif name == "quit":
            await c.send("+OK\r\n")
            return
        elif name == "info":
            text = _redis_info(c.spec, int(time.monotonic() - started)).encode()
            await c.send(b"$%d\r\n%s\r\n" % (len(text), text))
        elif name == "get" and len(args) != 2:
            await c.send("-ERR wrong number of arguments for 'get' command\r\n")
        elif name == "get":
            await c.send("$-1\r\n")
        else:
            shown = "".join(f"`{a.decode('latin-1')[:128]}`, " for a in args[1:4])
            await c.send(f"-ERR unknown command `{name[:128]}`, with args beginning with: "
                         f"{shown}\r\n")


async def _resp_bulk(c: _Conn) -> bytes:
    head = await c.line()
    if not head.startswith(b"$"):
        raise _Closed
    data = await c.exact(_count(head[1:], READ_LIMIT) + 2)
    return data[:-2]


def _count(digits: bytes, limit: int) -> int:
    if not digits.isdigit() or int(digits) > limit:
        raise _Closed
    return int(digits)


def _redis_info(spec: ServiceSpec, uptime: int) -> str:
    return ("# Server\r\n"
            f"redis_version:{spec.announced_version}\r\n"
            "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:standalone\r\n"
            "os:Linux 5.10.0 x86_64\r\narch_bits:64\r\nprocess_id:1\r\n"
            f"tcp_port:{spec.port}\r\nuptime_in_seconds:{uptime}\r\n\r\n"
            "# Clients\r\nconnected_clients:1\r\n\r\n"
            "# Keyspace\r\n")


async def _memcached(c: _Conn) -> None:
    """memcached's text protocol: stats, version, quit."""
    started = time.monotonic()
    for _n in range(MAX_COMMANDS):
        words = (await c.line()).split()
        command = words[0].decode("latin-1").lower() if words else ""
        if command == "quit":
            return
        if command == "stats" and len(words) == 1:
            now = int(time.time())  # clock-ok: the lab host's own time
            uptime = int(time.monotonic() - started)
            await c.send(f"STAT pid 1\r\nSTAT uptime {uptime}\r\nSTAT time {now}\r\n"
                         f"STAT version {c.spec.announced_version}\r\n"
                         "STAT pointer_size 64\r\nSTAT curr_connections 2\r\n"
                         "STAT curr_items 0\r\nSTAT threads 4\r\nEND\r\n")
        elif command == "version":
            await c.send(f"VERSION {c.spec.announced_version}\r\n")
        else:
            await c.send("ERROR\r\n")
