"""CSV for spreadsheets: UTF-8 with a BOM (so Excel shows Chinese), formula-safe cells.

This module also holds the *text form* of a cell that the other formats reuse:
datetimes as ISO 8601 UTC (``2026-11-26T18:10:58Z``), booleans as yes/no, None as an
empty string.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from garrison.findings.export.base import (
    COLUMNS,
    ExportContext,
    Exporter,
    ExportRow,
    neutralise,
)
from garrison.i18n import _

#: Control characters that XML (XLSX, HTML) cannot carry; tab, LF and CR are fine.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, aware; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is UTC:
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC to the second: ``2026-11-26T18:10:58Z``."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def yes_no(flag: bool) -> str:
    return _("yes") if flag else _("no")


def text_value(value: Any) -> str:
    """The text of a cell (or a filter value) as the text formats show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        items = [text_value(v) for v in value]
        return ", ".join(sorted(items) if isinstance(value, set | frozenset) else items)
    return str(value)


def _text(value: str | None) -> str:
    return "" if value is None else neutralise(value)


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _moment(value: datetime | None) -> str:
    return "" if value is None else iso_utc(value)


def column_plan() -> list[Callable[[ExportRow], str]]:
    """One converter per column, chosen once by the column's type (not per cell)."""
    yes, no = yes_no(True), yes_no(False)
    index = {name: i for i, name in enumerate(ExportRow._fields)}
    plan: list[Callable[[ExportRow], str]] = []
    for key, _header in COLUMNS:
        if key == "protocol_port":
            plan.append(lambda r: "" if r.port is None else f"{r.protocol or ''}/{r.port}")
            continue
        i = index[key]
        if key in ("id", "port"):
            plan.append(lambda r, i=i: _number(r[i]))  # type: ignore[misc]
        elif key in ("first_seen", "last_seen", "due_at", "status_changed_at"):
            plan.append(lambda r, i=i: _moment(r[i]))  # type: ignore[misc]
        elif key == "overdue":
            plan.append(lambda r, i=i: yes if r[i] else no)  # type: ignore[misc]
        else:
            plan.append(lambda r, i=i: _text(r[i]))  # type: ignore[misc]
    return plan


def open_csv(path: Path) -> tuple[TextIO, Any]:
    """The file and ``csv.writer`` every CSV export uses (UTF-8 with a BOM, CRLF), with
    the header row written."""
    out = path.open("w", encoding="utf-8-sig", newline="")
    writer = csv.writer(out)
    writer.writerow([neutralise(header) for _key, header in COLUMNS])
    return out, writer


class CsvExporter(Exporter):
    """One header row (``COLUMNS``), then one row per finding; CRLF line ends (Excel).

    Exports from the database take a quicker road to the same bytes:
    ``garrison.findings.csv_sql`` has the database render the cells."""

    name = "csv"
    suffix = ".csv"
    needs_summary = False

    def write(
        self, rows: Iterable[ExportRow], path: Path, context: ExportContext  # noqa: ARG002
    ) -> int:
        """Write the rows; the context has no place in CSV (the export's manifest has it)."""
        plan = column_plan()
        count = 0
        out, writer = open_csv(path)
        with out:
            for row in rows:
                writer.writerow([convert(row) for convert in plan])
                count += 1
        return count
