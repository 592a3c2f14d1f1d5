"""Stream nmap XML into frozen results, one host at a time, in constant memory.

Safety: every trick a hostile XML file can play (entity declarations, a "billion
laughs" bomb, external entities, DTD retrieval) has to live in the prolog, before
the root element. ``defusedxml`` checks the prolog with its guarded parser and
refuses any of them; the body is then parsed by the C ElementTree parser, which
cannot see a declaration the prolog did not have and never fetches anything. That
keeps defusedxml's guarantees at the C parser's speed (defusedxml's own pure-Python
parser is twice as slow on a 100 MB file).

Results are NamedTuples rather than frozen dataclasses: as immutable, and several
times cheaper to build, which matters at 400,000 ports per file. Most of a big file is
the same ``<port>`` text over and over: ``NmapXmlReader`` parses each distinct one once
(see there), which halves the cost of reading.

Completeness: python-nmap drops some CPEs (it keeps the last one per service) and
all structured script output; this reader keeps every ``<cpe>`` and turns
``<elem>``/``<table>`` into JSON-able data.

Interrupted nmap runs leave files that end mid-host: every host that was complete
is returned and ``run.complete`` is False. Any other syntax error is an error.
"""

from __future__ import annotations

import bisect
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

import defusedxml
import defusedxml.ElementTree as DET

from garrison.errors import GarrisonError
from garrison.i18n import _

_PROLOG_CHUNK = 64 * 1024
_PROLOG_LIMIT = 1024 * 1024


class NmapXmlError(GarrisonError):
    """The file is not usable nmap XML: malformed, hostile, or something else."""


class Script(NamedTuple):
    id: str
    output: str
    data_json: str | None = None
    """Structured output (``<elem>``/``<table>``) as JSON text, when present. Text keeps
    results hashable, so equal ports on many hosts share one cache entry downstream."""

    @property
    def data(self) -> Any:
        return None if self.data_json is None else json.loads(self.data_json)


class PortResult(NamedTuple):
    protocol: str
    port: int
    state: str
    reason: str | None = None
    name: str | None = None
    product: str | None = None
    version: str | None = None
    extrainfo: str | None = None
    tunnel: str | None = None
    method: str | None = None
    """``probed`` when version detection identified it, ``table`` for a guess by port."""
    cpes: tuple[str, ...] = ()
    scripts: tuple[Script, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state == "open"


class HostResult(NamedTuple):
    address: str
    family: int
    state: str
    reason: str | None = None
    mac: str | None = None
    vendor: str | None = None
    hostname: str | None = None
    os_guess: str | None = None
    os_accuracy: int | None = None
    os_cpes: tuple[str, ...] = ()
    ports: tuple[PortResult, ...] = ()
    scripts: tuple[Script, ...] = ()
    starttime: int | None = None
    """When nmap began with this host (epoch seconds, from ``<host starttime>``)."""
    endtime: int | None = None
    """When nmap was done with it: the host's observation time in an import."""

    @property
    def is_up(self) -> bool:
        return self.state == "up"


class PortRanges:
    """A set of ports as sorted, merged ranges: ``1-1024,3306`` -> fast membership."""

    __slots__ = ("_highs", "_lows")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        self._lows = [lo for lo, _hi in merged]
        self._highs = [hi for _lo, hi in merged]

    @classmethod
    def parse(cls, text: str) -> PortRanges:
        ranges = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            lo, _sep, hi = part.partition("-")
            ranges.append((int(lo), int(hi or lo)))
        return cls(ranges)

    def __contains__(self, port: object) -> bool:
        if not isinstance(port, int):
            return False
        i = bisect.bisect_right(self._lows, port) - 1
        return i >= 0 and port <= self._highs[i]

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in zip(self._lows, self._highs, strict=True))

    def spans(self) -> list[tuple[int, int]]:
        """The merged ``(low, high)`` ranges."""
        return list(zip(self._lows, self._highs, strict=True))

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}-{hi}"
                        for lo, hi in zip(self._lows, self._highs, strict=True))


@dataclass
class RunInfo:
    """What the ``<nmaprun>`` said about itself; filled in while reading."""

    args: str | None = None
    version: str | None = None
    start: int | None = None
    scan_types: dict[str, str] = field(default_factory=dict)
    """protocol -> nmap scan type (``syn``, ``connect``, ``udp`` ...)."""
    ports: dict[str, PortRanges] = field(default_factory=dict)
    """protocol -> ports the run covered (from ``<scaninfo>``)."""
    complete: bool = False
    """False until ``<runstats><finished>``; stays False for an interrupted nmap."""
    exit: str | None = None
    summary: str | None = None

    @property
    def version_detection(self) -> bool:
        return self.args is not None and any(
            flag in self.args.split() for flag in ("-sV", "-A", "--version-all"))


class _RootReached(Exception):
    pass


class _StopAtRoot:
    """A parser target that stops at the first start tag, remembering it and where it was."""

    root: str | None = None
    attrib: dict[str, str] = {}  # noqa: RUF012 - replaced per instance in start()
    offset = 0

    def __init__(self, expat: Any) -> None:
        self.expat = expat

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.root, self.attrib = tag, dict(attrib)
        self.offset = self.expat.CurrentByteIndex
        raise _RootReached

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def close(self) -> None:
        pass


class Prolog(NamedTuple):
    """What comes before the first element's content: its name, attributes and place."""

    root: str
    attrib: dict[str, str]
    offset: int
    """Byte offset of the root element's start tag."""
    plain: bool
    """UTF-8 and no internal DTD subset: any element of the body parses alone as it does
    in place (no declared defaults or encoding to inherit), so ``NmapXmlReader`` may cut
    ``<port>`` elements out and parse each distinct one once."""


def check_prolog(handle: IO[bytes], name: str) -> Prolog:
    """Run the prolog through defusedxml; return the root element's name, attributes
    and offset."""
    parser = DET.DefusedXMLParser(forbid_dtd=False, forbid_entities=True, forbid_external=True)
    expat = parser.parser  # defusedxml's parser is the pure-Python one: its expat is exposed
    target = _StopAtRoot(expat)
    parser.target = target
    seen: dict[str, Any] = {"encoding": None, "subset": False}

    def declaration(_version: str, encoding: str | None, _standalone: int) -> None:
        seen["encoding"] = encoding

    def doctype(_name: str, _system: str | None, _public: str | None, subset: int) -> None:
        seen["subset"] = bool(subset)

    expat.XmlDeclHandler = declaration
    expat.StartDoctypeDeclHandler = doctype
    read = 0
    first = b""
    try:
        while read < _PROLOG_LIMIT:
            chunk = handle.read(_PROLOG_CHUNK)
            if not chunk:
                parser.close()
                break
            if not read:
                first = chunk[:4]
            read += len(chunk)
            parser.feed(chunk)
    except _RootReached:
        assert target.root is not None
        encoding = seen["encoding"]
        plain = (encoding is None or str(encoding).lower() == "utf-8") and not seen["subset"] \
            and b"\x00" not in first and first[:2] not in (b"\xff\xfe", b"\xfe\xff")
        return Prolog(target.root, target.attrib, target.offset, plain)
    except defusedxml.EntitiesForbidden as exc:
        raise NmapXmlError(
            _("{file}: declares XML entities ({name!r}); refused (an entity bomb or "
              "an external-entity attack)").format(file=name, name=exc.name),
            hint=_("nmap never writes entity declarations: this is not an nmap output "
                   "file as nmap wrote it."),
        ) from exc
    except (defusedxml.ExternalReferenceForbidden, defusedxml.DTDForbidden) as exc:
        raise NmapXmlError(
            _("{file}: refers to an external resource; refused").format(file=name),
            hint=_("Import the file nmap wrote with -oX, unedited."),
        ) from exc
    except ET.ParseError as exc:
        raise NmapXmlError(
            _("{file}:{line}: not well-formed XML ({err})").format(
                file=name, line=exc.position[0], err=_expat_message(exc)),
        ) from exc
    if read >= _PROLOG_LIMIT:
        raise NmapXmlError(
            _("{file}: no root element in the first {n} MiB: the prolog (what comes before "
              "<nmaprun>) is far longer than nmap ever writes; refused").format(
                file=name, n=_PROLOG_LIMIT // (1024 * 1024)),
            hint=_("Import the file nmap wrote with -oX, unedited."))
    raise NmapXmlError(_("{file}: no XML root element found").format(file=name))


def _expat_message(exc: ET.ParseError) -> str:
    return str(exc).split(":", 1)[0]


class _Fallback(Exception):
    """Something the fast reader does not handle exactly: read the file the plain way."""


_CHUNK = 1 << 20
_CUT = "garrison-cut-port"
"""The tag of the empty element a cut-out ``<port>`` leaves in the stream (a file that
contains this name is read the plain way, so it cannot be forged)."""
_CUTS = _CUT + "s"
"""... and a cut-out ``<ports>`` element (all of a host's ports)."""
_CUT_NAME = _CUT.encode()  # (a prefix of _CUTS: refusing it refuses both)
_CUT_TAG = b"<" + _CUT_NAME + b"/>"
_CUTS_TAG = b"<" + _CUTS.encode() + b"/>"
_PORT_START = b"<port "
_PORT_END = b"</port>"
_PORTS_START = b"<ports>"
_PORTS_END = b"</ports>"
_HOLD_MAX = 1 << 16
_RUN = frozenset({"host", "scaninfo", "finished"})
_SPECIAL = _RUN | {_CUT, _CUTS}
_ODD_HOST_END = re.compile(rb"</host[ \t\r\n]")
_TRUNCATED = (3, 5, 6)  # expat: no element found, unclosed token, partial character
_CACHE_BYTES = 16 << 20
_REFUSED = PortResult("", -1, "")
"""A port text that is not cut out (it stays in the stream, parsed in place)."""
_REFUSED_SET = (_REFUSED,)
"""A ``<ports>`` text that is not cut out whole (its ports may be, one by one)."""
_BLOCKS_MAX = 4096
_CANON_MAX = 50_000


class NmapXmlReader:
    """Iterate over the hosts of an nmap XML file; ``run`` fills in as it goes.

    Ports equal in value are one shared object. Hosts of a big scan repeat the same
    ``<port>`` text over and over (the same service on many machines), and that is most
    of the file: the fast reader cuts each ``<port>...</port>`` out of the stream, parses
    each distinct text once, and leaves an empty placeholder element in its place, so
    the C parser builds a dozen elements per host instead of forty. It is exact by
    construction -- each port text is parsed on its own (legal: the prolog is
    ``plain``), and the body must hold no comment, CDATA or processing instruction, so
    every ``<`` in it is a tag -- and anything it cannot place exactly (a parse error, a
    host inside another element, a placeholder outside ``<ports>``) sends the whole
    file to the plain ``iterparse`` reader, which skips the hosts already returned.
    Errors are always reported by the plain reader, so their text and lines are the same.
    """

    def __init__(self, source: Path | IO[bytes], *, name: str | None = None) -> None:
        self._source = source
        self.name = name or (str(source) if isinstance(source, Path) else "<stream>")
        self.run = RunInfo()
        self.bytes_read = 0
        self._cache: dict[bytes, PortResult] = {}
        self._cache_bytes = 0
        self._blocks: dict[bytes, tuple[PortResult, ...]] = {}
        """``<ports>`` texts seen twice -> their ports (or ``_REFUSED_SET``)."""
        self._once: set[bytes] = set()
        """``<ports>`` texts seen once: a text seen once is cut port by port (a host of
        its own kind costs no more than that), a second time whole."""
        self._canon: dict[PortResult, PortResult] = {}

    def hosts(self) -> Iterator[HostResult]:
        if isinstance(self._source, Path):
            try:
                with self._source.open("rb") as handle:
                    yield from self._read(handle)
            except FileNotFoundError as exc:
                raise NmapXmlError(_("{file}: no such file").format(file=self.name)) from exc
            except IsADirectoryError as exc:
                raise NmapXmlError(_("{file}: is a directory").format(file=self.name)) from exc
        else:
            yield from self._read(self._source)

    def _read(self, handle: IO[bytes]) -> Iterator[HostResult]:
        prolog = check_prolog(handle, self.name)
        if prolog.root != "nmaprun":
            raise NmapXmlError(
                _("{file}: not nmap XML output (the root element is <{root}>, not "
                  "<nmaprun>)").format(file=self.name, root=prolog.root),
                hint=_("Import a file written by nmap -oX."),
            )
        self._start_run(prolog.attrib)
        handle.seek(0)
        returned = 0
        if prolog.plain:
            counter = _CountingReader(handle)
            try:
                for host in self._read_cut(counter, prolog.offset):
                    returned += 1
                    yield host
                self.bytes_read = counter.count
                return
            except _Fallback:
                pass
            handle.seek(0)
            self.run.scan_types.clear()
            self.run.ports.clear()
            self.run.complete, self.run.exit, self.run.summary = False, None, None
        yield from self._read_events(_CountingReader(handle), skip=returned)

    # ------------------------------------------------------------ the plain reader

    def _read_events(self, counter: _CountingReader, skip: int = 0) -> Iterator[HostResult]:
        canon = self._canon
        try:
            for _event, elem in ET.iterparse(counter, events=("end",)):
                tag = elem.tag
                if tag == "host":
                    if skip:
                        skip -= 1
                    else:
                        yield _host(elem, [], 0, canon)[0]
                    elem.clear()  # the emptied <host> stays under the root: a few bytes
                elif tag == "scaninfo":
                    self._scaninfo(elem)
                elif tag == "finished":
                    self._finished(elem)
        except ET.ParseError as exc:
            self.bytes_read = counter.count
            if not _truncated(exc, counter):
                raise NmapXmlError(
                    _("{file}:{line}: not well-formed XML ({err}); nothing was imported")
                    .format(file=self.name, line=exc.position[0], err=_expat_message(exc)),
                    hint=_("A file cut short by an interrupted nmap is accepted; one with "
                           "damage in the middle is not."),
                ) from exc
            self.run.complete = False
        self.bytes_read = counter.count

    # ------------------------------------------------------------ the fast reader

    def _read_cut(self, counter: _CountingReader, offset: int) -> Iterator[HostResult]:
        parser = ET.XMLParser(target=ET.TreeBuilder())
        starts: list[tuple[str, ET.Element]] = []
        parser._setevents(starts, ("start",))  # type: ignore[attr-defined]  # as XMLPullParser
        root: ET.Element | None = None
        cuts: list[Any] = []  # PortResult, or a tuple of them for a <ports>
        pending = b""  # an unfinished <port ...> at the end of a chunk, held back
        carry = b""  # the body's last bytes, for markers across chunk ends
        ended = 0  # </host> tags in the body
        odd_ends = False
        done = 0  # hosts returned
        at = 0
        while True:
            raw = counter.read(_CHUNK)
            final = not raw
            head = b""
            if at < offset:
                head, raw = raw[:offset - at], raw[offset - at:]
            at += len(head) + len(raw)
            if raw:
                window = carry + raw
                if b"<!" in window or b"<?" in window or _CUT_NAME in window:
                    raise _Fallback  # a comment, CDATA, PI (or our placeholder) in the body
                ended += (carry[-6:] + raw).count(b"</host>")
                odd_ends = odd_ends or _ODD_HOST_END.search(window) is not None
                carry = window[-16:]
            text, pending = self._cut(pending + raw, final, cuts)
            error: ET.ParseError | None = None
            try:
                if head:
                    parser.feed(head)
                if text:
                    parser.feed(text)
                if final:
                    parser.close()
            except ET.ParseError as exc:
                error = exc
            if root is None and starts:
                root = starts[0][1]
            starts.clear()
            if root is None:
                if error is not None or final:
                    raise _Fallback
                continue
            if error is not None and not (final and error.code in _TRUNCATED
                                          and not odd_ends):
                raise _Fallback  # damage: the plain reader says where, in its words
            complete = len(root) if final else len(root) - 1
            used = 0
            for child in root[:complete]:
                cut_inside = error is not None and child is root[-1]
                if child.tag == "host":
                    if cut_inside:
                        if _inner(child, "host"):
                            raise _Fallback
                        if done >= ended:
                            break  # the host the file was cut in: not returned
                    elif error is not None and done >= ended:
                        raise _Fallback
                    host, n = self._host_cut(child, cuts, used)
                    used += n
                    done += 1
                    yield host
                elif cut_inside and any(e.tag in _RUN for e in child.iter()):
                    raise _Fallback  # cut inside: what of it counted is not known here
                else:
                    used += self._other(child)
            del root[:complete]
            del cuts[:used]
            if final:
                self.run.complete = self.run.complete and error is None
                return

    def _host_cut(self, elem: ET.Element, cuts: list[Any], first: int
                  ) -> tuple[HostResult, int]:
        placeholders = 0
        it = elem.iter()
        next(it)
        for inner in it:
            tag = inner.tag
            if tag in _SPECIAL:
                if tag in _RUN:
                    raise _Fallback
                placeholders += 1
        try:
            host, used = _host(elem, cuts, first, self._canon)
        except IndexError:
            raise _Fallback from None
        if used != placeholders:
            raise _Fallback  # a port outside <ports>: its placeholder would mislead
        return host, used

    def _other(self, elem: ET.Element) -> int:
        """A root child other than a host, as the plain reader sees it (``scaninfo`` and
        ``finished`` at any depth, in end order); returns the placeholders in it."""
        special = [e for e in elem.iter() if e.tag in _SPECIAL]
        placeholders = 0
        for e in special:
            if e.tag == _CUT or e.tag == _CUTS:
                placeholders += 1
            elif e.tag == "host" or (len(e) and any(d.tag in _RUN for d in e.iter()
                                                    if d is not e)):
                raise _Fallback  # a host inside, or run elements in each other
        for e in special:
            if e.tag == "scaninfo":
                self._scaninfo(e)
            elif e.tag == "finished":
                self._finished(e)
        return placeholders

    def _cut(self, text: bytes, final: bool, cuts: list[Any]) -> tuple[bytes, bytes]:
        """``text`` with each ``<ports>...</ports>`` seen before replaced by one
        placeholder (its ports, a tuple, appended to ``cuts``), the ``<port>`` elements
        of the others by one each (``_cut_ports``), and what is unfinished at its end,
        held back."""
        parts = text.split(_PORTS_START)
        if len(parts) == 1:
            return self._cut_ports(text, final, cuts)
        out = [self._cut_ports(parts[0], True, cuts)[0]]
        last = len(parts) - 1
        blocks = self._blocks
        for i in range(1, last + 1):
            part = parts[i]
            end = part.find(_PORTS_END)
            if end < 0:
                if i == last:
                    if not final and len(part) < _HOLD_MAX:
                        return b"".join(out), _PORTS_START + part
                    tail, pending = self._cut_ports(part, final, cuts)
                    out.append(_PORTS_START)
                    out.append(tail)
                    return b"".join(out), pending
                out.append(_PORTS_START)
                out.append(self._cut_ports(part, True, cuts)[0])
                continue
            block = part[:end]
            ports = blocks.get(block)
            if ports is None:
                ports = self._block(block)
            if ports is _REFUSED_SET:
                out.append(_PORTS_START)
                out.append(self._cut_ports(part, True, cuts)[0])
                continue
            cuts.append(ports)
            out.append(_CUTS_TAG)
            rest = part[end + 8:]
            out.append(self._cut_ports(rest, True, cuts)[0] if _PORT_START in rest else rest)
        return b"".join(out), b""

    def _block(self, block: bytes) -> tuple[PortResult, ...]:
        """The ports of a ``<ports>`` text seen a second time (parsed alone, kept), or
        ``_REFUSED_SET`` (seen for the first time, or not to be cut out whole)."""
        if block not in self._once:
            if len(self._once) < _BLOCKS_MAX and len(block) < _HOLD_MAX:
                self._once.add(block)
            return _REFUSED_SET
        self._once.discard(block)
        ports = _parse_block(block)
        if ports is not _REFUSED_SET:
            ports = tuple(self._share(p) for p in ports)
        if len(self._blocks) < _BLOCKS_MAX:
            self._blocks[block] = ports
        return ports

    def _cut_ports(self, text: bytes, final: bool, cuts: list[Any]
                   ) -> tuple[bytes, bytes]:
        """``text`` with every ``<port ...>...</port>`` replaced by a placeholder (its
        port appended to ``cuts``), and the unfinished port at its end, held back."""
        pieces = text.split(_PORT_START)
        if len(pieces) == 1:
            return text, b""
        out = [pieces[0]]
        last = len(pieces) - 1
        cache = self._cache
        local: dict[bytes, PortResult] = {}
        append, add = out.append, cuts.append
        for i in range(1, last + 1):
            piece = pieces[i]
            end = piece.find(_PORT_END)
            if end < 0:
                if i == last and not final and len(piece) < _HOLD_MAX:
                    return b"".join(out), _PORT_START + piece
                append(_PORT_START)
                append(piece)
                continue
            end += 7
            key = piece[:end]
            port = cache.get(key)
            if port is None:
                port = local.get(key)
                if port is None:
                    self._resolve(pieces, i, local)
                    port = local[key]
            if port is _REFUSED:
                append(_PORT_START)
                append(piece)
            else:
                add(port)
                append(_CUT_TAG)
                append(piece[end:])
        return b"".join(out), b""

    def _resolve(self, pieces: list[bytes], first: int,
                 local: dict[bytes, PortResult]) -> None:
        """Parse every port text from ``pieces[first:]`` not seen yet, all in one go."""
        keys: dict[bytes, None] = {}
        cache = self._cache
        for piece in pieces[first:]:
            end = piece.find(_PORT_END)
            if end >= 0:
                key = piece[:end + 7]
                if key not in cache and key not in local:
                    keys[key] = None
        found = _parse_ports(list(keys))
        room = self._cache_bytes < _CACHE_BYTES
        for key, port in zip(keys, found, strict=True):
            if port is not _REFUSED:
                port = self._share(port)
            local[key] = port
            if room:
                cache[key] = port
                self._cache_bytes += len(key) + 200
        return

    def _share(self, port: PortResult) -> PortResult:
        canon = self._canon
        known = canon.get(port)
        if known is not None:
            return known
        if len(canon) < _CANON_MAX:
            canon[port] = port
        return port

    # ------------------------------------------------------------ run elements

    def _start_run(self, attrib: dict[str, str]) -> None:
        self.run.args = attrib.get("args")
        self.run.version = attrib.get("version")
        start = attrib.get("start")
        self.run.start = int(start) if start and start.isdigit() else None

    def _finished(self, elem: ET.Element) -> None:
        self.run.complete = True
        self.run.exit = elem.get("exit")
        self.run.summary = elem.get("summary")

    def _scaninfo(self, elem: ET.Element) -> None:
        protocol = elem.get("protocol") or "tcp"
        self.run.scan_types[protocol] = elem.get("type") or "?"
        services = elem.get("services")
        if services:
            try:
                ranges = PortRanges.parse(services)
            except ValueError:
                return
            previous = self.run.ports.get(protocol)
            if previous is not None:
                ranges = PortRanges(previous.spans() + ranges.spans())
            self.run.ports[protocol] = ranges


def _inner(elem: ET.Element, tag: str) -> bool:
    """Does ``elem`` hold an element ``tag`` below itself?"""
    it = elem.iter(tag)
    if elem.tag == tag:
        next(it)
    return next(it, None) is not None


def _parse_block(block: bytes) -> tuple[PortResult, ...]:
    """A ``<ports>`` text parsed alone: its ports, or ``_REFUSED_SET`` when it does not
    parse to one ``<ports>`` element holding only what ports hold."""
    try:
        elem = ET.fromstring(_PORTS_START + block + _PORTS_END)
        if elem.tag != "ports" or any(e.tag in _SPECIAL for e in elem.iter()):
            return _REFUSED_SET
        return tuple(_port(p) for p in elem if p.tag == "port")
    except Exception:  # noqa: BLE001 - raised again, in file order, where it stands
        return _REFUSED_SET


def _parse_ports(keys: list[bytes]) -> list[PortResult]:
    """Port texts (each ``<port `` + key) parsed alone; ``_REFUSED`` for one that does not
    parse to a single ``<port>`` element holding only what ports hold."""
    if not keys:
        return []
    try:
        elems = list(ET.fromstring(b"<r>" + _PORT_START + _PORT_START.join(keys) + b"</r>"))
    except ET.ParseError:
        elems = []
        for key in keys:
            try:
                elems.append(ET.fromstring(_PORT_START + key))
            except ET.ParseError:
                elems.append(ET.Element(_CUT))  # refused below
    if len(elems) != len(keys):
        return [_REFUSED] * len(keys)
    out: list[PortResult] = []
    for elem in elems:
        if elem.tag != "port" or any(e.tag in _SPECIAL for e in elem.iter()):
            out.append(_REFUSED)
            continue
        try:
            out.append(_port(elem))
        except Exception:  # noqa: BLE001 - raised again, in file order, where it stands
            out.append(_REFUSED)
    return out


class _CountingReader:
    """A file wrapper that counts bytes, so a parse error can be placed at the end."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.count = 0
        self.eof = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.count += len(data)
        if not data:
            self.eof = True
        return data


def _truncated(exc: ET.ParseError, counter: _CountingReader) -> bool:
    """An error raised at the very end of the data: the file was cut short."""
    code = getattr(exc, "code", None)
    return counter.eof and code in _TRUNCATED


# ---------------------------------------------------------------- elements


def parse_host(elem: ET.Element) -> HostResult:
    return _host(elem, [], 0, None)[0]


def _host(elem: ET.Element, cuts: list[Any], first: int,
          canon: dict[PortResult, PortResult] | None) -> tuple[HostResult, int]:
    """The host, and how many placeholders of cut-out ports or ``<ports>`` it held
    (``cuts[first:]``: a port each, or a tuple of ports for a whole ``<ports>``)."""
    address, family, mac, vendor = "", 4, None, None
    state, reason = "unknown", None
    hostname = os_guess = None
    os_accuracy: int | None = None
    os_cpes: tuple[str, ...] = ()
    ports: list[PortResult] | tuple[PortResult, ...] = ()
    scripts: tuple[Script, ...] = ()
    used = first
    for child in elem:
        tag = child.tag
        if tag == "address":
            kind = child.get("addrtype")
            if kind == "mac":
                mac, vendor = (child.get("addr") or "").lower() or None, child.get("vendor")
            elif not address or kind == "ipv4":
                address, family = child.get("addr") or "", 6 if kind == "ipv6" else 4
        elif tag == "status":
            state, reason = child.get("state") or "unknown", child.get("reason")
        elif tag == _CUTS:
            ports = cuts[used]
            used += 1
        elif tag == "ports":
            ports = []
            for p in child:
                ptag = p.tag
                if ptag == _CUT:
                    ports.append(cuts[used])
                    used += 1
                elif ptag == "port":
                    port = _port(p)
                    if canon is not None:
                        shared = canon.get(port)
                        if shared is not None:
                            port = shared
                        elif len(canon) < _CANON_MAX:
                            canon[port] = port
                    ports.append(port)
        elif tag == "hostnames":
            first_name = child.find("hostname")
            hostname = first_name.get("name") if first_name is not None else None
        elif tag == "os":
            os_guess, os_accuracy, os_cpes = _os(child)
        elif tag == "hostscript":
            scripts = tuple(_script(s) for s in child if s.tag == "script")
    return HostResult(address, family, state, reason, mac, vendor, hostname, os_guess,
                      os_accuracy, os_cpes, tuple(ports), scripts,
                      _epoch(elem.get("starttime")), _epoch(elem.get("endtime"))), used - first


def _epoch(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _port(elem: ET.Element) -> PortResult:
    state = reason = name = product = version = extrainfo = tunnel = method = None
    cpes: tuple[str, ...] = ()
    scripts: list[Script] = []
    for child in elem:
        tag = child.tag
        if tag == "state":
            state, reason = child.get("state"), child.get("reason")
        elif tag == "service":
            get = child.get
            name, product, version = get("name"), get("product"), get("version")
            extrainfo, tunnel, method = get("extrainfo"), get("tunnel"), get("method")
            cpes = tuple(c.text for c in child if c.tag == "cpe" and c.text)
        elif tag == "script":
            scripts.append(_script(child))
    portid = elem.get("portid") or "0"
    return PortResult(elem.get("protocol") or "tcp", int(portid), state or "unknown", reason,
                      name, product, version, extrainfo, tunnel, method, cpes, tuple(scripts))


def _os(elem: ET.Element) -> tuple[str | None, int | None, tuple[str, ...]]:
    best = None
    best_accuracy = -1
    for match in elem.iter("osmatch"):
        accuracy = int(match.get("accuracy") or 0)
        if accuracy > best_accuracy:
            best, best_accuracy = match, accuracy
    if best is None:
        return None, None, ()
    cpes = tuple(dict.fromkeys(c.text for c in best.iter("cpe") if c.text))
    return best.get("name"), best_accuracy, cpes


_FLAT_JSON: dict[tuple[tuple[str | None, str | None], ...], str] = {}


def _script(elem: ET.Element) -> Script:
    children = list(elem)
    data = None
    if children:
        # most structured output is a flat list of <elem>s, repeated across hosts:
        # its JSON is built once
        if all(c.tag == "elem" for c in children):
            flat = tuple((c.get("key"), c.text) for c in children)
            data = _FLAT_JSON.get(flat)
            if data is None:
                data = json.dumps(_table(children), ensure_ascii=False)
                if len(_FLAT_JSON) < 10_000:
                    _FLAT_JSON[flat] = data
        else:
            data = json.dumps(_table(children), ensure_ascii=False)
    return Script(elem.get("id") or "?", elem.get("output") or "", data)


def _table(children: list[ET.Element]) -> Any:
    keyed: dict[str, Any] = {}
    unkeyed: list[Any] = []
    for child in children:
        value = (child.text or "") if child.tag == "elem" else _table(list(child))
        key = child.get("key")
        if key is None:
            unkeyed.append(value)
        else:
            keyed[key] = value
    if not keyed:
        return unkeyed
    if unkeyed:
        keyed["_items"] = unkeyed
    return keyed
