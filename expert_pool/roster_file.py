"""Expert roster files -> ``ExpertRecord``s, with every problem placed in the file.

Pure parsing: nothing here touches the database. The service upserts the records by
``key`` and resolves ``home_unit`` codes to units itself.

Three formats, by extension:

- ``.csv``, what an office keeps in Excel or WPS: UTF-8 (with or without the BOM of
  Excel's "CSV UTF-8") or GBK/GB18030 (their plain "CSV"), detected
  (``roster_encoding``; ``encoding=`` forces one), comma-separated, a header row of
  English or Chinese column names in any order (``roster_table``). Problems are
  ``file:line``, the physical line the row starts on (and the row Excel shows, when a
  cell above runs over several lines and the two differ);
- ``.xlsx``: the first worksheet, the same table (``roster_xlsx``). Problems are
  ``file:sheet!row`` with the row number Excel shows;
- ``.yaml``/``.yml``: ``experts:``, a list of mappings with the English names
  (``roster_yaml``).

Every format validates each expert (a row, an item) with the same pydantic model,
``roster_row.ExpertRow`` (as the org files and the playbooks are validated), and turns
its errors into ``Problem(file, line, message)``s. Either way the whole file is checked
before anything is returned: ``DocumentError`` lists every problem of every row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import count
from pathlib import Path

from expert_pool.roster_encoding import check_encoding, decode
from expert_pool.roster_fields import ExpertRecord as ExpertRecord
from expert_pool.roster_fields import key_for as key_for
from expert_pool.roster_row import record_from_values as record_from_values
from expert_pool.roster_table import Layout, Row, TableSyntax, read_table
from garrison.errors import GarrisonError, Problem
from garrison.i18n import _

MAX_BYTES = 20 * 1024 * 1024
"""A province's pool is a few thousand rows, well under a megabyte; 20 MB is a wrong file."""

CSV_SUFFIXES = (".csv",)
XLSX_SUFFIXES = (".xlsx",)
YAML_SUFFIXES = (".yaml", ".yml")
_OTHER_SHEETS = {".xls", ".xlsm", ".xlsb", ".et", ".ods", ".numbers"}


def load_roster(path: Path, *, encoding: str | None = None) -> list[ExpertRecord]:
    """Read a ``.csv``, ``.xlsx``, ``.yaml`` or ``.yml`` roster; ``encoding`` (CSV only)
    skips the detection.

    Raises ``DocumentError`` listing every problem in the file, and ``GarrisonError`` for
    a file that is missing, too big or of another kind.
    """
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES + YAML_SUFFIXES:
        hint = _("In Excel or WPS choose Save As > 'Excel Workbook (*.xlsx)' or 'CSV UTF-8'."
                 ) if suffix in _OTHER_SHEETS else None
        raise GarrisonError(_("{path}: a roster must be a .csv, .xlsx, .yaml or .yml file, "
                              "not {suffix!r}").format(path=path, suffix=suffix or path.name),
                            hint=hint)
    if encoding is not None and suffix not in CSV_SUFFIXES:
        raise GarrisonError(_("{path}: --encoding applies to CSV files only").format(
            path=path), hint=_("Leave --encoding out for this file."))
    codec = check_encoding(encoding) if encoding is not None else None
    raw = _read_bytes(path)
    if suffix in CSV_SUFFIXES:
        return _load_csv(raw, str(path), codec)
    if suffix in XLSX_SUFFIXES:
        from expert_pool.roster_xlsx import load_xlsx

        return load_xlsx(raw, str(path))
    from expert_pool.roster_yaml import load_yaml_roster

    return load_yaml_roster(path, MAX_BYTES)


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError as exc:
        raise GarrisonError(_("{path}: no such file").format(path=path)) from exc
    except IsADirectoryError as exc:
        raise GarrisonError(_("{path}: is a directory, not a file").format(path=path)) from exc
    except PermissionError as exc:
        raise GarrisonError(_("{path}: permission denied").format(path=path)) from exc
    if len(raw) > MAX_BYTES:
        raise GarrisonError(
            _("{path}: the file is larger than {mb} MB; a roster is far smaller").format(
                path=path, mb=MAX_BYTES // (1024 * 1024)),
            hint=_("Check that you picked the right file, or split it."))
    return raw


# ------------------------------------------------------------------ CSV


def _load_csv(raw: bytes, name: str, encoding: str | None) -> list[ExpertRecord]:
    text = decode(raw, name, encoding)
    shown: dict[int, int] = {}

    def at(line: int | None, message: str) -> Problem:
        if line in shown:  # a cell above ran over several lines: Excel counts one row
            message += _(" (row {n} in Excel and WPS)").format(n=shown[line])
        return Problem(name, line, message)

    return read_table(_rows(text, shown), Layout(at=at, spill=_spill, pad=False))


def _rows(text: str, shown: dict[int, int]) -> Iterator[Row]:
    """(physical start line, cells) for every row; blank rows are skipped. ``shown``
    gets the row number Excel shows for each row whose start line differs from it."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    for number in count(1):
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise TableSyntax(end + 1, str(exc)) from exc
        start, end = end + 1, reader.line_num
        if start != number:
            shown[start] = number
        if any(cell.strip() for cell in row):
            yield start, row


def _spill(cells: list[str], width: int) -> str:
    return _("the row has {n} cells but the header has {m} columns (a value with a comma in "
             "it must be in double quotes)").format(n=len(cells), m=width)

