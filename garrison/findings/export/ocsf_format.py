"""OCSF 1.3.0: a JSON array of Vulnerability Finding events (class 2002), streamed.

One event per finding, for a SIEM or a data lake. Times are epoch milliseconds.
Judgement calls (the schema has no exact slot for them):

- ``activity_id`` is 1 Create for a finding seen once, 2 Update once ``last_seen``
  is later than ``first_seen``; ``time`` is ``first_seen`` either way.
- Garrison's statuses map onto OCSF's: ``false_positive`` and ``accepted_risk`` are
  both Suppressed, ``fixed`` and ``verified`` both Resolved; ``status_detail`` keeps
  Garrison's own status so nothing is lost.
- The CVSS vector goes in ``vulnerabilities[0].cvss``; its version comes from the
  ``CVSS:x.y/`` prefix, and the ``base_score`` OCSF requires is computed from a v3.x
  vector (Garrison stores the vector only). Other vectors go without a score.
- What OCSF has no attribute for (unit, owner, deadline, port, service, product,
  version, evidence) is kept in ``unmapped``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from garrison import __version__
from garrison.findings.export.base import ExportContext, Exporter, ExportRow
from garrison.findings.export.csv_format import as_utc
from garrison.findings.export.json_format import ENCODER, write_array

OCSF_VERSION = "1.3.0"
CLASS_UID = 2002
CATEGORY_UID = 2
ACTIVITIES = {1: "Create", 2: "Update"}

#: Garrison severity -> (OCSF severity_id, caption).
SEVERITIES: dict[str, tuple[int, str]] = {
    "info": (1, "Informational"),
    "low": (2, "Low"),
    "medium": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}
#: Garrison status -> (OCSF status_id, caption).
STATUSES: dict[str, tuple[int, str]] = {
    "open": (1, "New"),
    "in_progress": (2, "In Progress"),
    "false_positive": (3, "Suppressed"),
    "accepted_risk": (3, "Suppressed"),
    "fixed": (4, "Resolved"),
    "verified": (4, "Resolved"),
}
OTHER = 99  # OCSF's "Other": the caption then carries the source's own label

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CWE = re.compile(r"^\s*(?:CWE-)?(\d+)\s*(?:[:\-–]\s*(.*\S))?\s*$", re.IGNORECASE)
_CVSS_VERSION = re.compile(r"^CVSS:(\d+\.\d+)/")


def epoch_ms(moment: datetime) -> int:
    return (as_utc(moment) - _EPOCH) // timedelta(milliseconds=1)


def cwe_object(text: str) -> dict[str, str] | None:
    """``CWE-287`` or ``287`` or ``CWE-287: Improper Authentication`` -> OCSF cwe."""
    match = _CWE.match(text)
    if match is None:
        return None
    found = {"uid": f"CWE-{match.group(1)}"}
    if match.group(2):
        found["caption"] = match.group(2)
    return found


#: CVSS v3.x base metric weights (FIRST, CVSS v3.1 specification, section 7.4).
_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PRIVILEGES = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}


def _round_up(value: float) -> float:
    """CVSS v3.1 Roundup: the smallest one-decimal number >= value, float-safe."""
    scaled = round(value * 100_000)
    return scaled / 100_000 if scaled % 10_000 == 0 else (math.floor(scaled / 10_000) + 1) / 10


def cvss3_base_score(vector: str) -> float | None:
    """The base score of a ``CVSS:3.x/...`` vector, or None when it is not a valid one."""
    metrics = dict(part.split(":", 1) for part in vector.split("/")[1:] if ":" in part)
    try:
        scope = metrics["S"]
        w = {key: table[metrics[key]] for key, table in _WEIGHTS.items()}
        privileges = _PRIVILEGES[scope][metrics["PR"]]
    except KeyError:
        return None
    iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"])
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * w["AV"] * w["AC"] * privileges * w["UI"]
    if impact <= 0:
        return 0.0
    total = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    return _round_up(min(total, 10.0))


def cvss_object(vector: str) -> dict[str, Any]:
    match = _CVSS_VERSION.match(vector)
    version = match.group(1) if match else "3.1"
    found: dict[str, Any] = {"vector_string": vector, "version": version}
    score = cvss3_base_score(vector) if version.startswith("3.") else None
    if score is not None:
        found["base_score"] = score
    return found


def _vulnerability(row: ExportRow, severity: str) -> dict[str, Any]:
    vulnerability: dict[str, Any] = {"title": row.title}
    if row.description:
        vulnerability["desc"] = row.description
    vulnerability["severity"] = severity
    cwe = cwe_object(row.cwe) if row.cwe else None
    if cwe is not None:
        vulnerability["cwe"] = cwe
    if row.cvss_vector:
        vulnerability["cvss"] = [cvss_object(row.cvss_vector)]
    if row.remediation:
        vulnerability["remediation"] = {"desc": row.remediation}
    vulnerability["first_seen_time"] = epoch_ms(row.first_seen)
    vulnerability["last_seen_time"] = epoch_ms(row.last_seen)
    return vulnerability


def ocsf_event(row: ExportRow) -> dict[str, Any]:
    """The Vulnerability Finding event for one finding."""
    activity_id = 2 if row.last_seen > row.first_seen else 1
    severity_id, severity = SEVERITIES.get(row.severity, (OTHER, str(row.severity)))
    status_id, status = STATUSES.get(row.status, (OTHER, str(row.status)))
    event: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": "Vulnerability Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": ACTIVITIES[activity_id],
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"Vulnerability Finding: {ACTIVITIES[activity_id]}",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_detail": str(row.status),
        "time": epoch_ms(row.first_seen),
        "message": row.title,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Garrison", "vendor_name": "Garrison", "version": __version__},
            "uid": str(row.id),
        },
        "finding_info": {
            "uid": str(row.id),
            "title": row.title,
            **({"desc": row.description} if row.description else {}),
            "first_seen_time": epoch_ms(row.first_seen),
            "last_seen_time": epoch_ms(row.last_seen),
            "modified_time": epoch_ms(row.status_changed_at),
            "types": [row.rule_id],
            "data_sources": [str(row.source)],
        },
        "vulnerabilities": [_vulnerability(row, severity)],
    }
    if row.address:
        event["resources"] = [
            {"uid": row.address, "type": "Host", "name": row.address, "labels": [row.unit_code]}
        ]
        event["device"] = {"ip": row.address, "type_id": 0}
    event["unmapped"] = {
        "unit_code": row.unit_code,
        "unit_name": row.unit_name,
        "owner": row.owner,
        "due_time": epoch_ms(row.due_at) if row.due_at is not None else None,
        "overdue": row.overdue,
        "port": row.port,
        "protocol": row.protocol,
        "service": row.service,
        "product": row.product,
        "version": row.version,
        "evidence": row.evidence,
    }
    return event


def events(rows: Iterable[ExportRow]) -> Iterator[dict[str, Any]]:
    return (ocsf_event(row) for row in rows)


class OcsfExporter(Exporter):
    name = "ocsf"
    suffix = ".ocsf.json"

    def write(
        self, rows: Iterable[ExportRow], path: Path, context: ExportContext  # noqa: ARG002
    ) -> int:
        """Write the events; OCSF events carry no export-wide context (the manifest does)."""
        with path.open("w", encoding="utf-8") as out:
            count = write_array(out, events(rows), ENCODER.encode, indent="  ")
            out.write("\n")
        return count
