"""CSV exports rendered by the database.

The CSV exporter (``export/csv_format.py``) turns ``ExportRow``s into cells in
Python: about 25 microseconds a row, most of it parsing and re-formatting four
timestamps and guarding a dozen text cells. With 100,000 findings that is longer
than the office's three-second budget for the whole export. Here the database
renders each cell exactly as that exporter would -- formula-looking text prefixed
with ``'`` (``neutralise``), timestamps as ISO 8601 UTC to the second, ``overdue`` as
yes/no, the rule's CVSS vector and CWE when the finding has none, service, product
and version from the evidence -- and ``csv.writer.writerows`` writes the cursor's
rows as they come. ``tests/garrison/findings/test_csv_sql.py`` holds the two roads to
byte-identical files.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from garrison.findings.export.base import COLUMNS, FORMULA_START, LEADING_BLANKS
from garrison.findings.export.csv_format import open_csv, yes_no
from garrison.findings.listing import Dialect, FindingFilter, bind_time, where_sql
from garrison.findings.queries import dialect, unit_ids
from garrison.vocab import OPEN_STATES


def neutralise_sql(expr: str, d: Dialect) -> str:
    """``neutralise(expr)`` in SQL: a leading ``'`` when the text could run as a formula.

    The same rule as ``neutralise`` (a ``FORMULA_START`` first or after
    ``LEADING_BLANKS``), on code points: ``unicode()`` in SQLite, ``ascii()`` in
    PostgreSQL (the code point, in a UTF-8 database). Only a cell whose first character
    is a formula start or a blank is looked at twice (trimmed of its blanks): testing
    every cell that way made a 100,000-row export half as slow again. SQLite's
    ``unicode()`` is NULL for a text starting with NUL (as for ''), so NUL is told apart
    from '' by comparison; PostgreSQL text cannot hold a NUL."""
    starts = [ord(c) for c in sorted(FORMULA_START) if c != "\0"]
    first = ", ".join(str(c) for c in [*starts, *map(ord, LEADING_BLANKS)])
    codes = ", ".join(map(str, starts))
    if d == "sqlite":
        trimmed = "ltrim({x}, char({b}))".format(
            x=expr, b=", ".join(str(ord(c)) for c in LEADING_BLANKS))
        look = f"coalesce(unicode({expr}), 0) IN (0, {first})"
        test = (f"unicode({trimmed}) IN ({codes}) OR "
                f"(unicode({trimmed}) IS NULL AND {trimmed} <> '')")
    else:
        trimmed = f"ltrim({expr}, {' || '.join(f'chr({ord(c)})' for c in LEADING_BLANKS)})"
        look, test = f"ascii({expr}) IN ({first})", f"ascii({trimmed}) IN ({codes})"
    return (f"CASE WHEN {look} THEN CASE WHEN {test} THEN '''' || {expr} ELSE {expr} END "
            f"ELSE {expr} END")


def _stamp(expr: str, d: Dialect) -> str:
    """``iso_utc(expr)``: ``2026-11-26T18:10:58Z`` (SQLite keeps naive UTC text)."""
    if d == "sqlite":
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expr})"
    return f"""to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def _evidence(key: str, d: Dialect) -> str:
    if d == "sqlite":
        return f"json_extract(finding.evidence, '$.{key}')"
    return f"(finding.evidence ->> '{key}')"


def column_sql(d: Dialect) -> dict[str, str]:
    """Each ``COLUMNS`` key as the SQL of its CSV cell (NULL is written as empty)."""
    text = {key: neutralise_sql(expr, d) for key, expr in {
        "unit_code": "unit.code", "unit_name": "unit.name", "address": "finding.address",
        "service": _evidence("service", d), "product": _evidence("product", d),
        "version": _evidence("version", d), "rule_id": "finding.rule_id",
        "title": "finding.title", "severity": "finding.severity",
        "cvss_vector": "coalesce(finding.cvss_vector, rule.cvss_vector)",
        "cwe": "coalesce(finding.cwe, rule.cwe)", "status": "finding.status",
        "owner": "finding.owner", "source": "finding.source"}.items()}
    port = "CAST(finding.port AS TEXT)" if d == "sqlite" else "finding.port::text"
    return {
        **text,
        "id": "finding.id",
        "protocol_port": f"CASE WHEN finding.port IS NULL THEN NULL ELSE "
                         f"coalesce(finding.protocol, '') || '/' || {port} END",
        "first_seen": _stamp("finding.first_seen", d),
        "last_seen": _stamp("finding.last_seen", d),
        "due_at": _stamp("finding.due_at", d),
        "status_changed_at": _stamp("finding.status_changed_at", d),
        "overdue": "CASE WHEN finding.status IN (:c_open0, :c_open1) AND finding.due_at "
                   "IS NOT NULL AND finding.due_at < :c_now THEN :c_yes ELSE :c_no END",
    }


def write_csv(session: Session, f: FindingFilter, path: Path, now: datetime,
              batch: int = 5000) -> int:
    """Write the findings matching ``f`` to ``path`` as CSV; return how many."""
    d = dialect(session)
    where, params = where_sql(f, now, unit_ids=unit_ids(session, f), dialect=d)
    cells = column_sql(d)
    select = ", ".join(cells[key] for key, _header in COLUMNS)
    sql = (f"SELECT {select} FROM finding JOIN unit ON finding.unit_id = unit.id "
           f"LEFT JOIN rule ON rule.id = finding.rule_id WHERE {where} ORDER BY finding.id")
    params |= {"c_open0": OPEN_STATES[0].value, "c_open1": OPEN_STATES[1].value,
               "c_now": bind_time(now, d), "c_yes": yes_no(True), "c_no": yes_no(False)}
    raw: Any = session.connection().connection.dbapi_connection
    count = 0
    out, writer = open_csv(path)
    with out:
        if d == "sqlite":
            cursor = raw.cursor()
        else:  # a server-side cursor: the rows stream in batches, not all at once
            cursor = raw.cursor(name="garrison_csv_export")
            cursor.itersize = batch
            sql = _pyformat(sql)
        try:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(batch):
                writer.writerows(rows)
                count += len(rows)
        finally:
            cursor.close()
    return count


def _pyformat(sql: str) -> str:
    """``:name`` placeholders as psycopg's ``%(name)s`` (and a literal ``%`` doubled)."""
    import re

    sql = sql.replace("%", "%%")
    return re.sub(r"(?<![:\w]):([a-z_][a-z0-9_]*)", r"%(\1)s", sql)
