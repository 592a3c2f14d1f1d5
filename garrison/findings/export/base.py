"""What every export format receives, and the rules they all follow."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from garrison.i18n import _


class ExportRow(NamedTuple):
    """One finding, flattened for export (columns at least as the auditors asked).

    A NamedTuple, not a dataclass: 100,000 of them are built per export, and a frozen
    dataclass costs several times more to construct."""

    id: int
    unit_code: str
    unit_name: str
    address: str | None
    protocol: str | None
    port: int | None
    service: str | None
    product: str | None
    version: str | None
    rule_id: str
    title: str
    severity: str
    cvss_vector: str | None
    cwe: str | None
    status: str
    owner: str
    source: str
    first_seen: datetime
    last_seen: datetime
    due_at: datetime | None
    overdue: bool
    status_changed_at: datetime
    description: str | None = None
    """The rule's rationale (scan findings) or the finding's own text (manual ones)."""
    remediation: str | None = None
    evidence: dict[str, Any] | None = None


#: (attribute, header) of the tabular formats, in order.
COLUMNS: list[tuple[str, str]] = [
    ("id", _("finding id")),
    ("unit_code", _("unit code")),
    ("unit_name", _("unit name")),
    ("address", _("asset address")),
    ("protocol_port", _("protocol/port")),
    ("service", _("service")),
    ("product", _("product")),
    ("version", _("version")),
    ("rule_id", _("rule")),
    ("title", _("title")),
    ("severity", _("severity")),
    ("cvss_vector", _("CVSS vector")),
    ("cwe", _("CWE")),
    ("status", _("status")),
    ("owner", _("owner")),
    ("source", _("source")),
    ("first_seen", _("first seen (UTC)")),
    ("last_seen", _("last seen (UTC)")),
    ("due_at", _("due (UTC)")),
    ("overdue", _("overdue")),
    ("status_changed_at", _("last status change (UTC)")),
]


def cell(row: ExportRow, key: str) -> Any:
    """A column's value: text, a number, a boolean, a datetime or None."""
    if key == "protocol_port":
        return f"{row.protocol or ''}/{row.port}" if row.port is not None else None
    return getattr(row, key)


@dataclass(frozen=True)
class ExportSummary:
    """Aggregates shown by the HTML report (and available to any format)."""

    by_unit_severity: dict[str, dict[str, int]]
    """unit code -> severity -> findings (in the export)."""
    overdue_by_unit: dict[str, int]
    by_severity: dict[str, int]
    unit_names: dict[str, str]


@dataclass(frozen=True)
class ExportContext:
    generated_at: datetime
    actor: str
    filters: dict[str, Any]
    summary: ExportSummary


FORMULA_START = frozenset(
    "=+-@\t\r\n\0"
    "\uff1d\uff0b\uff0d\uff20"  # full-width ＝ ＋ － ＠, typed by a Chinese input method
    "\ufe66\ufe62\ufe63\ufe6b\ufb29\u207c\u208c\u207a\u208a"  # small, super/subscript
)
"""A cell starting with one of these is run as a formula (or may be): OWASP's list
(``= + - @``, tab, CR, LF), ASVS 1.2.10's NUL, and every character that NFKC folds to
``= + - @`` -- the full-width forms a CJK input method types, which some spreadsheet
programs (WPS, Excel in East Asian locales) fold to ASCII before evaluating."""

LEADING_BLANKS = (
    "\x0b\x0c\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\u200b\ufeff"
)
"""Characters a spreadsheet may strip before it looks for a formula: every Unicode
space (``str.isspace``: the ideographic space U+3000, no-break space U+00A0 ...) other
than tab, CR and LF (which are formula starts themselves), the zero-width space and the
byte-order mark. `` =1+2`` and ``\u3000＝1+2`` are neutralised like ``=1+2``."""


def neutralise(value: str) -> str:
    """Make a cell a spreadsheet would run as a formula inert (OWASP: prefix ``'``).

    A formula start (``FORMULA_START``) first, or after leading ``LEADING_BLANKS``, gets
    the prefix; the text is otherwise unchanged. ``csv_sql._guard`` is the same rule in
    SQL (``tests/garrison/findings/test_csv_sql.py`` checks the two agree)."""
    first = value[:1]
    if first in FORMULA_START or (
            first in LEADING_BLANKS and value.lstrip(LEADING_BLANKS)[:1] in FORMULA_START):
        return "'" + value
    return value


class Exporter(ABC):
    """One export format. ``write`` streams rows to ``path`` and returns how many."""

    name: str
    suffix: str
    needs_summary: bool = True
    """Whether ``write`` reads ``context.summary`` (computing it costs a few queries)."""

    @abstractmethod
    def write(self, rows: Iterable[ExportRow], path: Path, context: ExportContext) -> int: ...
