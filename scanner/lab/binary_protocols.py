"""Binary handlers: vnc (RFB), mysql, mongodb (with a small BSON encoder), postgresql."""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Mapping, Sequence

from scanner.lab.conn import MAX_COMMANDS, READ_LIMIT, _Conn
from scanner.lab.spec import POSTGRESQL_LINES


async def _vnc(c: _Conn) -> None:
    """RFB: the version, then VNC authentication (always fails) or none."""
    major, minor = (int(x) for x in (c.spec.announced_version or "3.8").split("."))
    await c.send(f"RFB {major:03d}.{minor:03d}\n")
    client = await c.exact(12)
    if not re.fullmatch(rb"RFB \d{3}\.\d{3}\n", client):
        return
    no_auth = c.spec.option("auth").lower() == "none"
    old = int(client[8:11]) < 7              # RFB 3.3: the server picks the type
    if old:
        await c.send(struct.pack(">I", 1 if no_auth else 2))
        chosen = 1 if no_auth else 2
    else:
        await c.send(b"\x01" + bytes([1 if no_auth else 2]))
        chosen = (await c.exact(1))[0]
    if chosen == 1 and no_auth:
        if int(client[8:11]) >= 8:
            await c.send(struct.pack(">I", 0))
        await c.exact(1)                    # ClientInit (shared flag)
        name = b"lab"
        pixel = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
        await c.send(struct.pack(">HH", 1024, 768) + pixel + struct.pack(">I", len(name)) + name)
        await c.recv()
        return
    if chosen != 2 or no_auth:
        return
    await c.send(bytes(range(16)))          # the challenge
    await c.exact(16)
    reason = b"Authentication failure"
    await c.send(struct.pack(">I", 1)
                 + (struct.pack(">I", len(reason)) + reason if int(client[8:11]) >= 8 else b""))


async def _mysql(c: _Conn) -> None:
    """MySQL: a protocol-10 greeting, then 'access denied' for any login."""
    salt = b"lab-salt-0123456789a"          # 20 bytes, no NULs
    payload = (b"\x0a" + (c.spec.announced_version or "").encode() + b"\0"
               + struct.pack("<I", c.serial % 0xFFFF + 1) + salt[:8] + b"\0"
               + struct.pack("<H", 0xF7FF) + b"\x21" + struct.pack("<H", 0x0002)
               + struct.pack("<H", 0x81FF) + bytes([21]) + b"\0" * 10 + salt[8:] + b"\0"
               + b"mysql_native_password\0")
    await c.send(struct.pack("<I", len(payload))[:3] + b"\0" + payload)
    head = await c.exact(4)
    size, seq = int.from_bytes(head[:3], "little"), head[3]
    body = await c.exact(size)
    user = body[32:].split(b"\0", 1)[0].decode("latin-1", "replace") if len(body) > 32 else ""
    message = f"Access denied for user '{user}'@'{c.spec.address}' (using password: YES)"
    error = b"\xff" + struct.pack("<H", 1045) + b"#28000" + message.encode()
    await c.send(struct.pack("<I", len(error))[:3] + bytes([(seq + 1) & 0xFF]) + error)


_BsonValue = bool | int | float | str | list["_BsonValue"]


def _bson(doc: Mapping[str, _BsonValue]) -> bytes:
    body = b""
    for key, value in doc.items():
        name = key.encode() + b"\0"
        if isinstance(value, bool):
            body += b"\x08" + name + (b"\x01" if value else b"\x00")
        elif isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        elif isinstance(value, float):
            body += b"\x01" + name + struct.pack("<d", value)
        elif isinstance(value, str):
            text = value.encode() + b"\0"
            body += b"\x02" + name + struct.pack("<i", len(text)) + text
        else:
            body += b"\x04" + name + _bson({str(i): v for i, v in enumerate(value)})
    return struct.pack("<i", len(body) + 5) + body + b"\0"


async def _mongodb(c: _Conn) -> None:
    """MongoDB wire protocol: OP_QUERY and OP_MSG answered with isMaster/buildInfo/status."""
    started = time.monotonic()
    version = c.spec.announced_version or ""
    for _n in range(MAX_COMMANDS):
        size = struct.unpack("<i", await c.exact(4))[0]
        if not 16 < size <= READ_LIMIT:
            return
        request_id, _to, opcode = struct.unpack("<iii", await c.exact(12))
        if opcode not in {2004, 2013}:
            return
        body = await c.exact(size - 16)
        lowered = body.lower()
        doc: dict[str, _BsonValue]
        if b"ismaster" in lowered or b"hello" in lowered:
            doc = {"ismaster": True, "maxBsonObjectSize": 16777216,
                   "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
                   # clock-ok: the lab host's own time
                   "localTime": int(time.time()), "maxWireVersion": 9, "minWireVersion": 0,
                   "readOnly": False, "ok": 1.0}
        elif b"buildinfo" in lowered:
            doc = {"version": version, "gitVersion": "lab", "versionArray":
                   [int(x) for x in version.split(".") if x.isdigit()], "bits": 64,
                   "ok": 1.0}
        else:
            doc = {"host": "lab", "version": version, "process": "mongod", "pid": 1,
                   "uptime": float(int(time.monotonic() - started)), "ok": 1.0}
        if opcode == 2004:      # OP_QUERY -> OP_REPLY
            reply = struct.pack("<iqii", 8, 0, 0, 1) + _bson(doc)
            out_op = 1
        else:                   # OP_MSG -> OP_MSG with one body section
            reply = struct.pack("<I", 0) + b"\0" + _bson(doc)
            out_op = 2013
        await c.send(struct.pack("<iiii", len(reply) + 16, c.serial, request_id, out_op) + reply)


async def _postgresql(c: _Conn) -> None:
    """PostgreSQL's startup: SSL refused, password asked, other protocols refused."""
    line, with_v = POSTGRESQL_LINES[c.spec.announced_version or ""]
    for _n in range(4):
        size = struct.unpack(">i", await c.exact(4))[0]
        if not 8 <= size <= 10000:
            return                        # "invalid length of startup packet": just close
        packet = await c.exact(size - 4)
        code = struct.unpack(">I", packet[:4])[0]
        if code in {80877103, 80877104}:  # SSLRequest, GSSENCRequest
            await c.send(b"N")
            continue
        if code == 80877102:              # CancelRequest
            return
        if code == 196608:                # protocol 3.0: ask for a password, refuse it
            params = packet[4:].split(b"\0")
            user = dict(zip(params[::2], params[1::2], strict=False)).get(b"user", b"")
            await c.send(b"R" + struct.pack(">iI", 12, 5) + b"salt")
            await c.exact(1)
            await c.send(_pg_error([
                ("S", "FATAL"), *([("V", "FATAL")] if with_v else []), ("C", "28P01"),
                ("M", f'password authentication failed for user "{user.decode("latin-1")}"'),
                ("F", "auth.c"), ("L", "330"), ("R", "auth_failed")]))
            return
        await c.send(_pg_error([
            ("S", "FATAL"), *([("V", "FATAL")] if with_v else []), ("C", "0A000"),
            ("M", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: "
                  "server supports 2.0 to 3.0"),
            ("F", "postmaster.c"), ("L", str(line)), ("R", "ProcessStartupPacket")]))
        return


def _pg_error(fields: Sequence[tuple[str, str]]) -> bytes:
    body = b"".join(k.encode() + v.encode("latin-1", "replace") + b"\0" for k, v in fields)
    body += b"\0"
    return b"E" + struct.pack(">i", len(body) + 4) + body
