"""XLSX rosters: the first worksheet of an Excel or WPS workbook, read like a CSV table.

Same headers (English or Chinese, any order), same checks, same per-row problems. A
problem is placed as ``roster.xlsx:名单!7: ...``: the file, the sheet's name as its tab
shows it and, after ``!`` as in Excel's own ``名单!A7``, the row number Excel and WPS
show (the header is usually row 1; title rows above it are passed over). Cells keep
what Excel stored: numbers typed into a phone column (13812345678) come back as digits,
TRUE/FALSE in 在岗 as yes/no, a date as YYYY-MM-DD, a formula as its last computed
value. openpyxl reads in read-only mode (rows streamed, never the whole sheet); the
dimensions a file declares are not trusted (``reset_dimensions``), as some writers get
them wrong.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from expert_pool.roster_fields import ExpertRecord
from expert_pool.roster_table import Layout, Row, read_table
from garrison.errors import DocumentError, Problem
from garrison.i18n import _


@dataclass(frozen=True, slots=True)
class SheetProblem(Problem):
    """A problem in a worksheet: ``file:sheet!row: message``."""

    sheet: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.sheet}"
        if self.line is not None:
            where += f"!{self.line}"
        return f"{where}: {self.message}"


def load_xlsx(raw: bytes, name: str) -> list[ExpertRecord]:
    """Every expert on the workbook's first worksheet, or ``DocumentError``."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise DocumentError([Problem(name, None, _(
            "not an Excel workbook that can be read ({err})").format(err=exc))],
            hint=_("Open it in Excel or WPS and save it again as 'Excel Workbook "
                   "(*.xlsx)'.")) from exc
    try:
        if not book.worksheets:
            raise DocumentError([Problem(name, None, _("the workbook has no worksheet"))])
        sheet = book.worksheets[0]
        sheet.reset_dimensions()

        def at(row: int | None, message: str) -> Problem:
            return SheetProblem(name, row, message, sheet=sheet.title)

        return read_table(_rows(sheet.iter_rows(values_only=True)),
                          Layout(at=at, spill=_spill, pad=True, rows_word=True))
    finally:
        book.close()


def _rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[Row]:
    for number, values in enumerate(rows, start=1):
        cells = [cell_text(v) for v in values]
        if any(c.strip() for c in cells):
            yield number, cells


def cell_text(value: Any) -> str:
    """A cell as the text a CSV of the same sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time.min else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _spill(cells: list[str], width: int) -> str:
    from openpyxl.utils import get_column_letter

    extra = next(i for i, c in enumerate(cells) if i >= width and c.strip())
    return _("column {col} has a value but no name in the header row").format(
        col=get_column_letter(extra + 1))
