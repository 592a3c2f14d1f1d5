"""The HTTP family: an nginx-like web server, the Elasticsearch root, the Docker API."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

from scanner.lab.conn import READ_LIMIT, _Closed, _Conn
from scanner.lab.spec import ServiceSpec


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    protocol: str           # "HTTP/1.0", "HTTP/1.1", or another ("RTSP/1.0")


_REQUEST_START = re.compile(rb"[A-Z]{1,16}(?: |\Z)")
_REQUEST_LINE = re.compile(rb"([A-Z]{1,16}) (\S{1,4096}) ([A-Z]{1,10}/\d\.\d)\r?\n")


async def _request(c: _Conn) -> _Request:
    """The next request head; anything that is not one ends the session."""
    data = b""
    while b"\n\r\n" not in data and b"\n\n" not in data:
        data += await (c.more() if data else c.recv())
        if not _REQUEST_START.match(data) or len(data) > READ_LIMIT:
            raise _Closed
    match = _REQUEST_LINE.match(data)
    if match is None:
        raise _Closed
    method, path, protocol = (g.decode("ascii") for g in match.groups())
    return _Request(method, path.split("?", 1)[0], protocol)


def _response(protocol: str, status: int, headers: Sequence[tuple[str, str]],
              body: bytes = b"", *, head: bool = False) -> bytes:
    lines = [f"{protocol} {status} {HTTPStatus(status).phrase}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body)


def _http_date() -> str:
    return formatdate(usegmt=True)


def _answer_protocol(request: _Request) -> str:
    return "HTTP/1.0" if request.protocol == "HTTP/1.0" else "HTTP/1.1"


async def _http(c: _Conn) -> None:
    """nginx-like: a page with a <title> on /, 404 elsewhere, Server on every answer."""
    server = c.spec.option("server") or f"nginx/{c.spec.announced_version}"
    title = html.escape(c.spec.option("title"))
    r = await _request(c)
    if not r.protocol.startswith("HTTP/"):
        status, page = 400, _nginx_error(400, server)
    elif r.method == "OPTIONS":
        await c.send(_response(_answer_protocol(r), 200, [
            ("Server", server), ("Date", _http_date()), ("Content-Length", "0"),
            ("Allow", "GET, HEAD, OPTIONS"), ("Connection", "close")]))
        return
    elif r.method not in {"GET", "HEAD"}:
        status, page = 405, _nginx_error(405, server)
    elif r.path in {"/", "/index.html"}:
        status, page = 200, (f"<!DOCTYPE html>\n<html>\n<head>\n<title>{title}</title>\n"
                             f"</head>\n<body>\n<h1>{title}</h1>\n</body>\n</html>\n").encode()
    else:
        status, page = 404, _nginx_error(404, server)
    await c.send(_response(_answer_protocol(r), status, [
        ("Server", server), ("Date", _http_date()), ("Content-Type", "text/html"),
        ("Content-Length", str(len(page))), ("Connection", "close")],
        page, head=r.method == "HEAD"))


def _nginx_error(status: int, server: str) -> bytes:
    line = f"{status} {HTTPStatus(status).phrase}"
    return (f"<html>\r\n<head><title>{line}</title></head>\r\n<body bgcolor=\"white\">\r\n"
            f"<center><h1>{line}</h1></center>\r\n<hr><center>{html.escape(server)}</center>\r\n"
            "</body>\r\n</html>\r\n").encode()


async def _elasticsearch(c: _Conn) -> None:
    """The Elasticsearch REST root: the JSON banner with version.number and the tagline."""
    r = await _request(c)
    if not r.protocol.startswith("HTTP/"):
        return
    if r.method in {"GET", "HEAD"} and r.path == "/":
        status, body = 200, _es_banner(c.spec)
    elif r.method == "OPTIONS":
        await c.send(_response(r.protocol, 200, [
            ("allow", "HEAD,GET"), ("content-type", "text/plain; charset=UTF-8"),
            ("content-length", "0")]))
        return
    else:
        body = json.dumps({"error": f"no handler found for uri [{r.path}] and method "
                                    f"[{r.method}]"}).encode()
        status = 400
    await c.send(_response(r.protocol, status, [
        ("content-type", "application/json; charset=UTF-8"),
        ("content-length", str(len(body)))], body, head=r.method == "HEAD"))


def _es_banner(spec: ServiceSpec) -> bytes:
    lines = [
        "{",
        f'  "name" : "{spec.option("name")}",',
        f'  "cluster_name" : "{spec.option("cluster")}",',
        '  "cluster_uuid" : "bGFiLWNsdXN0ZXItdXVpZA",',
        '  "version" : {',
        f'    "number" : "{spec.announced_version}",',
        '    "build_flavor" : "default",',
        '    "build_type" : "docker",',
        '    "build_hash" : "747e1cc71def077253878a59143c1f785afa92b9",',
        '    "build_date" : "2021-01-13T00:42:12.435326Z",',
        '    "build_snapshot" : false,',
        f'    "lucene_version" : "{spec.option("lucene")}",',
        '    "minimum_wire_compatibility_version" : "6.8.0",',
        '    "minimum_index_compatibility_version" : "6.0.0-beta1"',
        "  },",
        '  "tagline" : "You Know, for Search"',
        "}",
    ]
    return ("\n".join(lines) + "\n").encode()


async def _docker(c: _Conn) -> None:
    """The Docker Engine API: /version, /_ping, OPTIONS; Go-style 404 elsewhere."""
    r = await _request(c)
    proto = _answer_protocol(r)
    if not r.protocol.startswith("HTTP/"):
        await c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     b"Connection: close\r\n\r\n400 Bad Request")
        return
    version, api, ostype = c.spec.announced_version, c.spec.option("api"), c.spec.option("os")
    engine = [("Api-Version", api), ("Docker-Experimental", "false"), ("Ostype", ostype),
              ("Server", f"Docker/{version} ({ostype})"), ("Date", _http_date())]
    path = re.sub(r"^/v\d+\.\d+(?=/)", "", r.path)
    if r.method == "OPTIONS":
        await c.send(_response(proto, 200, [*engine, ("Content-Length", "0")]))
        return
    if r.method in {"GET", "HEAD"} and path == "/version":
        body = json.dumps({
            "Platform": {"Name": "Docker Engine - Community"},
            "Version": version, "ApiVersion": api, "MinAPIVersion": "1.12",
            "GitCommit": "363e9a8", "GoVersion": "go1.13.15", "Os": ostype, "Arch": "amd64",
            "KernelVersion": c.spec.option("kernel"),
            "BuildTime": "2021-03-02T20:16:15.000000000+00:00",
        }, separators=(",", ":")).encode() + b"\n"
        ctype = "application/json"
    elif r.method in {"GET", "HEAD"} and path == "/_ping":
        body, ctype = b"OK", "text/plain; charset=utf-8"
    else:
        body = b'{"message":"page not found"}\n'
        await c.send(_response(proto, 404, [
            ("Content-Type", "application/json"), ("Date", _http_date()),
            ("Content-Length", str(len(body)))], body))
        return
    headers = [engine[0], ("Content-Type", ctype), *engine[1:],
               ("Content-Length", str(len(body)))]
    await c.send(_response(proto, 200, headers, body, head=r.method == "HEAD"))
