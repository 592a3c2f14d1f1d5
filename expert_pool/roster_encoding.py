"""The text of a CSV roster, whatever Excel or WPS saved it as in a Chinese office.

Excel's "CSV UTF-8" writes UTF-8 with a BOM; its plain "CSV (逗号分隔)", and WPS's, write
the system's code page, which on Chinese Windows is GBK (code page 936). GB18030 is a
superset of GBK, so such a file is read as GB18030. ``decode`` tries, in order:

1. a UTF-8 BOM: UTF-8 (strictly);
2. valid UTF-8: UTF-8. Never a guess: ASCII and UTF-8 text stay exact;
3. valid GB18030 that reads as Chinese: GB18030;
4. anything else is refused, the hint naming ``--encoding`` and charset-normalizer's
   guess of the encoding.

``--encoding ENC`` (``encoding=``) skips the detection and decodes strictly with ENC.

Step 3 is where detection is needed: the bytes of other legacy encodings (Big5,
Shift_JIS, Windows-1252) often decode as GB18030 too, into nonsense. Measured on
generated GBK rosters of one to six rows (Chinese names, units, cities, skills, notes;
a third with a GBK-only character such as 镕): charset-normalizer's ``from_bytes`` named
another encoding first (cp932, cp949, utf_16_be) for 34 of 2,000 of them, 1.7%, so its
verdict alone does not serve short files. Two signals that do, on 3,000 such files
against Big5, Shift_JIS and Windows-1252 files read as GB18030: charset-normalizer's mess
ratio of the decoded text (genuine at most 0.086; others 0.12 to 2.7), and the share of
the non-ASCII characters that GB2312 holds (its 6,763 common hanzi and the usual
punctuation: genuine at least 0.91; others at most 0.56). A file is taken as GB18030
when either signal says so (``MESS_LIMIT``, ``GB2312_SHARE``); none of the 3,000
genuine files failed both.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from garrison.errors import DocumentError, GarrisonError, Problem
from garrison.i18n import _
from garrison.org.queries import suggest

MESS_LIMIT = 0.1
GB2312_SHARE = 0.8
COMMON = ("utf-8", "gb18030", "gbk", "gb2312", "big5", "utf-16")
"""Encodings an office meets, for "did you mean" on a mistyped ``--encoding``."""
_GB = {"gb18030", "gbk", "gb2312", "hz"}


def check_encoding(name: str) -> str:
    """The codec for ``--encoding NAME`` (``utf-8-sig`` for UTF-8, so a BOM is dropped)."""
    try:
        codec = codecs.lookup(name.strip()).name
    except LookupError as exc:
        raise GarrisonError(
            _("--encoding {e!r}: unknown encoding{hint}").format(
                e=name, hint=suggest(name.strip().lower(), COMMON)),
            hint=_("Use e.g. --encoding gb18030 (GBK files too), utf-8 or big5, or leave "
                   "--encoding out to detect it.")) from exc
    return "utf-8-sig" if codec in {"utf-8", "utf-8-sig"} else codec


def decode(raw: bytes, name: str, encoding: str | None) -> str:
    """The file's text; ``DocumentError`` (with its line where the bytes go wrong) when
    it is not text in the given or a detected encoding."""
    if raw.startswith(b"PK\x03\x04"):
        raise DocumentError([Problem(name, None, _(
            "this is an Excel workbook, not CSV text: give the file the .xlsx extension "
            "and import it again"))])
    if encoding is not None:
        return _strict(raw, name, encoding, hint=_(
            "Give the file's real encoding with --encoding, or leave --encoding out to "
            "detect it."))
    if b"\x00" in raw:
        raise DocumentError([Problem(name, None, _(
            "binary file, not CSV text (UTF-16? save it as 'CSV UTF-8')"))])
    if raw.startswith(codecs.BOM_UTF8):
        return _strict(raw, name, "utf-8-sig", hint=_(
            "The file starts like UTF-8 but is not: save it again as 'CSV UTF-8'."))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as not_utf8:
        return _gb18030(raw, name, not_utf8)


def _strict(raw: bytes, name: str, encoding: str, *, hint: str) -> str:
    skip = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" and raw.startswith(
        codecs.BOM_UTF8) else 0
    label = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        return raw[skip:].decode(label)
    except UnicodeDecodeError as exc:
        pos = exc.start + skip
        raise DocumentError([Problem(name, _line(raw, pos), _(
            "not {enc} text (byte {pos})").format(enc=label, pos=pos))], hint=hint) from exc


def _gb18030(raw: bytes, name: str, not_utf8: UnicodeDecodeError) -> str:
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        pos = max(exc.start, not_utf8.start)  # where the likelier reading went wrong
        raise DocumentError([Problem(name, _line(raw, pos), _(
            "not UTF-8 or GB18030 text (byte {pos})").format(pos=pos))],
            hint=_encoding_hint(raw)) from exc
    if reads_as_chinese(text):
        return text
    raise DocumentError([Problem(name, None, _(
        "not UTF-8, and read as GB18030 (GBK) the text comes out garbled"))],
        hint=_encoding_hint(raw))


def reads_as_chinese(text: str) -> bool:
    """Whether GB18030-decoded text is what it seems (see the module docstring)."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return True
    if mess_ratio(text, maximum_threshold=1.0) < MESS_LIMIT:
        return True
    common = sum(1 for c in wide if _in_gb2312(c))
    return common / len(wide) >= GB2312_SHARE


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _line(raw: bytes, pos: int) -> int:
    return raw[:pos].count(b"\n") + 1


def _encoding_hint(raw: bytes) -> str:
    best = from_bytes(raw).best()
    guess = best.encoding if best is not None and best.encoding not in _GB else None
    if guess is not None:
        return _("Give the file's encoding with --encoding (it may be {enc}: --encoding "
                 "{enc}), or save it from Excel as 'CSV UTF-8'.").format(enc=guess)
    return _("Give the file's encoding with --encoding (e.g. --encoding big5), or save it "
             "from Excel as 'CSV UTF-8'.")
