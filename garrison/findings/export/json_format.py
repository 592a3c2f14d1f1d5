"""JSON: one document with the export's context and every finding, streamed.

``{"generator": "garrison", "generated_at": ..., "actor": ..., "filters": {...},
"findings": [...]}``; the array is written one finding (one line) at a time, so the
rows are never all in memory. Each finding carries every ``ExportRow`` field, with
datetimes as ISO 8601 UTC and the evidence as an object.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from garrison.findings.export.base import ExportContext, Exporter, ExportRow
from garrison.findings.export.csv_format import iso_utc


def json_default(value: object) -> object:
    """What ``json`` cannot encode by itself: datetimes, dates, enums, sets."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


ENCODER = json.JSONEncoder(ensure_ascii=False, default=json_default)
_FIELDS = list(ExportRow._fields)


def row_record(row: ExportRow) -> dict[str, Any]:
    """Every field of the row (datetimes stay datetimes: the encoder converts them)."""
    return {name: getattr(row, name) for name in _FIELDS}


def write_array(
    out: TextIO, items: Iterable[Any], encode: Callable[[Any], str], indent: str = ""
) -> int:
    """Write ``[item, item, ...]`` one item per line, keeping only one item in memory."""
    count = 0
    out.write("[")
    for item in items:
        out.write(",\n" if count else "\n")
        out.write(indent + encode(item))
        count += 1
    out.write("\n" + indent[:-2] + "]" if count else "]")
    return count


def records(rows: Iterable[ExportRow]) -> Iterator[dict[str, Any]]:
    return (row_record(row) for row in rows)


class JsonExporter(Exporter):
    name = "json"
    suffix = ".json"

    def write(self, rows: Iterable[ExportRow], path: Path, context: ExportContext) -> int:
        head = {
            "generator": "garrison",
            "generated_at": context.generated_at,
            "actor": context.actor,
            "filters": context.filters,
        }
        with path.open("w", encoding="utf-8") as out:
            out.write("{\n")
            for key, value in head.items():
                out.write(f"  {ENCODER.encode(key)}: {ENCODER.encode(value)},\n")
            out.write('  "findings": ')
            count = write_array(out, records(rows), ENCODER.encode, indent="    ")
            out.write("\n}\n")
        return count
