"""``garrison findings export``: write a format, its manifest, and an audit event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from garrison import audit
from garrison.canonical import format_timestamp, sha256_file
from garrison.errors import GarrisonError
from garrison.findings.csv_sql import write_csv
from garrison.findings.export.base import ExportContext, ExportSummary
from garrison.findings.export.registry import get_exporter
from garrison.findings.queries import FindingFilter, export_rows
from garrison.findings.summary import summarise
from garrison.i18n import _


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: Path
    rows: int
    sha256: str
    format: str


def export_findings(session: Session, *, fmt: str, path: Path, filters: FindingFilter,
                    actor: str, database: str, now: datetime) -> ExportResult:
    """Write the findings matching ``filters`` to ``path`` in format ``fmt``.

    The file appears under its name only when complete; beside it goes
    ``PATH.manifest.json`` (filters, row count, SHA-256, the audit chain's head, actor,
    time), and the export is itself an audit event, in the caller's transaction.
    """
    exporter = get_exporter(fmt)
    head = audit.head(session)
    summary = (summarise(session, filters, now=now).for_export() if exporter.needs_summary
               else ExportSummary({}, {}, {}, {}))
    context = ExportContext(generated_at=now, actor=actor, filters=filters.describe(),
                            summary=summary)
    partial = path.with_name(path.name + ".partial")
    try:
        if exporter.name == "csv":  # the same bytes, rendered by the database: csv_sql
            rows = write_csv(session, filters, partial, now)
        else:
            rows = exporter.write(export_rows(session, filters, now=now), partial, context)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise GarrisonError(
            _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror),
            hint=_("Choose a writable file in an existing directory with -o.")) from exc
    partial.replace(path)
    checksum = sha256_file(path)
    manifest = audit.write_manifest(path, {
        "kind": "garrison-findings-export",
        "format": exporter.name,
        "filters": context.filters,
        "rows": rows,
        "sha256": checksum,
        "head_seq": head.seq if head else 0,
        "head_hash": head.hash if head else audit.GENESIS_HASH,
        "actor": actor,
        "created_at": format_timestamp(now),
        "database": database,
    })
    audit.record(session, actor=actor, action="findings.exported", subject=f"file:{path.name}",
                 payload={"format": exporter.name, "rows": rows, "sha256": checksum,
                          "filters": context.filters}, at=now)
    return ExportResult(path, manifest, rows, checksum, exporter.name)
