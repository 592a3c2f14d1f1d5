"""A roster as a table (a CSV file or a worksheet): a header row, then one expert a row.

The reader of each format gives ``read_table`` the non-blank rows with their numbers
(a CSV row's first physical line; a worksheet row's number as Excel and WPS show it)
and a way to place a problem (``file:line`` or ``file:sheet!row``). Column names are
English or Chinese, in any order. Title rows above the header ("2026年网络安全专家名单",
as offices put on a sheet) are passed over: the header is the first of the first
``HEADER_SEARCH`` rows that names the name column (姓名 or name), else the first row.
Each row's cells are checked as one ``expert_pool.roster_row.ExpertRow``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain

from expert_pool import vocab
from expert_pool.roster_fields import (
    COLUMNS,
    HEADER_TO_FIELD,
    REQUIRED,
    ExpertRecord,
    SeenKeys,
)
from expert_pool.roster_row import check_row
from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.org.queries import suggest

HEADER_SEARCH = 5
Row = tuple[int, list[str]]
At = Callable[[int | None, str], Problem]
"""Makes the problem for a row number (``None``: the whole file) and a message."""


class TableSyntax(Exception):
    """The file stops being a table at ``line`` (a CSV quote never closed)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Layout:
    """How a format lays out its rows."""

    at: At
    spill: Callable[[list[str], int], str]
    """The message for a row with values beyond the header's ``width`` columns (or,
    in CSV, fewer cells than it)."""
    pad: bool
    """Short rows are padded with empty cells (a worksheet's are; a CSV row is not)."""
    rows_word: bool = False
    """Duplicates are reported "also on row N" (a worksheet) rather than "line N"."""


def normalise_header(cell: str) -> str:
    """Lower case, spaces and hyphens as ``_``; spaces between Chinese characters dropped
    (``姓  名``, spaced out to line up in a sheet, is 姓名)."""
    text = re.sub(r"[\s\-]+", "_", cell.strip().lstrip("\ufeff").strip().lower())
    return re.sub(r"(?<=[^\x00-\x7f])_(?=[^\x00-\x7f])", "", text)


def header_columns(cells: list[str], report: Callable[[str], None]) -> dict[str, int] | None:
    """Field -> column index; ``None`` when a required column is missing."""
    columns: dict[str, int] = {}
    seen: dict[str, str] = {}
    known = ", ".join("/".join(aliases[:1] + aliases[-1:]) for aliases in COLUMNS.values())
    for i, cell in enumerate(cells):
        header = normalise_header(cell)
        if not header:
            report(_("column {n} has no name").format(n=i + 1))
            continue
        fieldname = HEADER_TO_FIELD.get(header)
        if fieldname is None:
            report(_("unknown column {h!r}{hint}; known columns: {known}").format(
                h=cell.strip(), hint=suggest(header, HEADER_TO_FIELD), known=known))
            continue
        if fieldname in columns:
            report(_("columns {a} ({first!r}) and {b} ({h!r}) are both the {f} column")
                   .format(a=columns[fieldname] + 1, first=seen[fieldname], b=i + 1,
                           h=cell.strip(), f=fieldname))
            continue
        columns[fieldname] = i
        seen[fieldname] = cell.strip()
    missing = [f for f in REQUIRED if f not in columns]
    for f in missing:
        report(_("required column {f!r} ({zh}) is missing").format(f=f, zh=COLUMNS[f][-1]))
    return None if missing else columns


def _find_header(rows: Iterator[Row]) -> tuple[Row | None, Iterator[Row]]:
    """The header row and the rows after it (see the module docstring)."""
    looked: list[Row] = []
    for row in rows:
        if any(HEADER_TO_FIELD.get(normalise_header(c)) == "name" for c in row[1]):
            return row, rows  # the title rows above it are passed over
        looked.append(row)
        if len(looked) == HEADER_SEARCH:
            break
    if not looked:
        return None, rows
    return looked[0], chain(looked[1:], rows)  # no header found: the first row is it


def read_table(rows: Iterator[Row], layout: Layout) -> list[ExpertRecord]:
    """Every expert of the table, or ``DocumentError`` listing every problem."""
    problems: list[Problem] = []
    records: list[ExpertRecord] = []
    try:
        header, rows = _find_header(rows)
        if header is None:
            raise DocumentError([layout.at(None, _("no experts in the file"))])
        _read_rows(header, rows, layout, problems, records)
    except TableSyntax as exc:
        problems.append(layout.at(exc.line, _(
            "not valid CSV ({err}); the rest of the file was not read").format(err=exc)))
    if not records and not problems:
        problems.append(layout.at(None, _("no experts in the file")))
    if problems:
        raise DocumentError(problems)
    return records


def _read_rows(header: Row, rows: Iterator[Row], layout: Layout, problems: list[Problem],
               records: list[ExpertRecord]) -> None:
    header_line, cells = header
    while cells and not cells[-1].strip():
        cells = cells[:-1]  # Excel leaves empty trailing columns behind
    columns = header_columns(cells, lambda m: problems.append(layout.at(header_line, m)))
    width = len(cells)
    known = vocab.skills()
    seen = SeenKeys(rows=layout.rows_word)
    for line, row in rows:
        if columns is None:
            continue  # without the name columns every row would only repeat it
        record = _row(line, row, width, columns, layout, known, seen, problems)
        if record is not None:
            records.append(record)


def _row(line: int, cells: list[str], width: int, columns: dict[str, int], layout: Layout,
         known: dict[str, vocab.Skill], seen: SeenKeys,
         problems: list[Problem]) -> ExpertRecord | None:
    if layout.pad and len(cells) < width:
        cells = cells + [""] * (width - len(cells))
    if len(cells) > width and not any(c.strip() for c in cells[width:]):
        cells = cells[:width]  # trailing empty cells, as Excel writes them
    if len(cells) != width:
        problems.append(layout.at(line, layout.spill(cells, width)))
        return None

    def cell(fieldname: str) -> str:
        index = columns.get(fieldname)
        return cells[index] if index is not None else ""

    record, messages = check_row({f: cell(f) for f in COLUMNS}, line, seen, known)
    problems.extend(layout.at(line, message) for message in messages)
    return record
