"""XLSX for auditors: a findings sheet, a summary sheet and the export's context.

Streams with openpyxl's write-only workbook (each row goes to a temporary file as it
is appended), so 100,000 findings do not sit in memory. Every text cell is stored as
a string, never as a formula or an error value: it goes through ``neutralise()`` (so
it cannot start with ``=``), and an error literal such as ``#N/A`` is written as a
cell forced to type ``"s"``. Datetimes are real Excel datetimes (naive UTC).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from garrison import __version__
from garrison.findings.export.base import (
    COLUMNS,
    ExportContext,
    Exporter,
    ExportRow,
    cell,
    neutralise,
)
from garrison.findings.export.csv_format import CONTROL_CHARS, as_utc, text_value, yes_no
from garrison.i18n import _

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
"""Text openpyxl would store as an Excel error value rather than a string."""
SEVERITIES = ("critical", "high", "medium", "low", "info")

#: Typical content width (characters) of each column; headers may be wider.
TYPICAL_WIDTH: dict[str, int] = {
    "id": 10, "unit_code": 14, "unit_name": 30, "address": 18, "protocol_port": 11,
    "service": 14, "product": 20, "version": 14, "rule_id": 24, "title": 50,
    "severity": 10, "cvss_vector": 46, "cwe": 11, "status": 15, "owner": 16,
    "source": 9, "first_seen": 20, "last_seen": 20, "due_at": 20, "overdue": 9,
    "status_changed_at": 20,
}
MAX_WIDTH = 60


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: CJK (wide and full-width) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def excel_datetime(moment: datetime) -> datetime:
    """Excel has no time zones: naive UTC, to the second."""
    return as_utc(moment).replace(tzinfo=None, microsecond=0)


class _Sheet:
    """A write-only sheet whose cells are made safe and typed on the way in."""

    def __init__(self, workbook: Any, title: str, widths: list[int]) -> None:
        from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped, unused-ignore]
        from openpyxl.styles import Font  # type: ignore[import-untyped, unused-ignore]
        from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

        self.ws = workbook.create_sheet(title)
        self.new_cell = WriteOnlyCell
        self.bold = Font(bold=True)
        for index, width in enumerate(widths, 1):  # before any row: write-only mode
            self.ws.column_dimensions[get_column_letter(index)].width = width
        self.ws.freeze_panes = "A2"
        self.last_column = get_column_letter(len(widths))

    def make(self, value: Any, *, bold: bool = False) -> Any:
        """A cell for ``value``. Plain values where openpyxl cannot misread them (numbers,
        text that neither starts with ``=`` after ``neutralise()`` nor is an
        error literal such as ``#N/A``): a styled cell object per value costs three times
        as much to write."""
        if isinstance(value, bool):
            value = yes_no(value)
        elif value is None:
            return None
        if isinstance(value, datetime):
            made = self.new_cell(self.ws, value=excel_datetime(value))
            made.number_format = DATETIME_FORMAT  # openpyxl's default drops the hour's 0
            if bold:
                made.font = self.bold
            return made
        if isinstance(value, int | float):
            if not bold:
                return value
        else:
            text = value if type(value) is str else text_value(value)
            value = CONTROL_CHARS.sub("\ufffd", neutralise(text))
            if not bold and value not in ERROR_CODES:
                return value
        made = self.new_cell(self.ws, value=value)
        if isinstance(value, str):
            made.data_type = "s"  # never a formula ("=") nor an error value ("#N/A")
        if bold:
            made.font = self.bold
        return made

    def append(self, values: Iterable[Any], *, bold: bool = False) -> None:
        self.ws.append([self.make(value, bold=bold) for value in values])


def _widths(headers: list[str], typical: list[int]) -> list[int]:
    pairs = zip(headers, typical, strict=True)
    return [min(max(width, display_width(header) + 2), MAX_WIDTH) for header, width in pairs]


def _write_summary(workbook: Any, context: ExportContext) -> None:
    summary = context.summary
    extra = sorted({s for counts in summary.by_unit_severity.values() for s in counts}
                   - set(SEVERITIES))
    severities = [*SEVERITIES, *extra]
    headers = [_("unit code"), _("unit name"), *severities, _("total"), _("overdue")]
    sheet = _Sheet(workbook, _("summary"),
                   _widths(headers, [14, 30, *(10 for _s in severities), 10, 10]))
    sheet.append(headers, bold=True)
    totals = dict.fromkeys(severities, 0)
    units = sorted(summary.by_unit_severity.keys() | summary.overdue_by_unit.keys())
    for code in units:
        counts = summary.by_unit_severity.get(code, {})
        for severity in severities:
            totals[severity] += counts.get(severity, 0)
        sheet.append([code, summary.unit_names.get(code, ""),
                      *(counts.get(s, 0) for s in severities), sum(counts.values()),
                      summary.overdue_by_unit.get(code, 0)])
    sheet.append([_("total"), "", *totals.values(), sum(totals.values()),
                  sum(summary.overdue_by_unit.values())], bold=True)


def _write_context(workbook: Any, context: ExportContext, count: int) -> None:
    sheet = _Sheet(workbook, _("export"), [24, 60])
    sheet.append([_("field"), _("value")], bold=True)
    sheet.append([_("generator"), f"Garrison {__version__}"])
    sheet.append([_("generated at (UTC)"), context.generated_at])
    sheet.append([_("actor"), context.actor])
    sheet.append([_("findings"), count])
    if not context.filters:
        sheet.append([_("filters"), _("none")])
    for key, value in context.filters.items():
        sheet.append([_("filter: {name}").format(name=key), text_value(value)])


class XlsxExporter(Exporter):
    name = "xlsx"
    suffix = ".xlsx"

    def write(self, rows: Iterable[ExportRow], path: Path, context: ExportContext) -> int:
        # openpyxl is imported here, so only an XLSX export pays for loading it.
        from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]

        workbook = Workbook(write_only=True)
        keys = [key for key, _header in COLUMNS]
        headers = [header for _key, header in COLUMNS]
        sheet = _Sheet(workbook, _("findings"),
                       _widths(headers, [TYPICAL_WIDTH.get(key, 16) for key in keys]))
        sheet.append(headers, bold=True)
        count = 0
        for row in rows:
            sheet.append([cell(row, key) for key in keys])
            count += 1
        sheet.ws.auto_filter.ref = f"A1:{sheet.last_column}{count + 1}"
        _write_summary(workbook, context)
        _write_context(workbook, context, count)
        workbook.save(path)
        return count
