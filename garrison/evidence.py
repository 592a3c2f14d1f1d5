"""Is an export what Garrison wrote? Checked against the database's own record of it.

Every export -- findings, the audit trail, the expert roster -- is written with
``FILE.manifest.json`` beside it and an audit event (``findings.exported``,
``audit.exported``, ``experts.exported``) whose payload holds the file's SHA-256 and
row count. The manifest travels with the file: whoever can edit the file can recompute
it. The event sits in the hash chain, where an edit breaks the chain. So
``verify_export`` takes the event as the truth and the manifest as a claim to check:

- the file's SHA-256 is an event's: ``ok`` when the manifest agrees with that event
  (and the chain verifies: else ``chain_broken``), ``manifest_altered`` when it does
  not, ``manifest_missing`` when there is none;
- it is no event's, but the manifest's SHA-256 or the file's name leads to one:
  ``file_changed`` (also when the manifest was recomputed to match the changed file);
- nothing leads to an event: ``no_event`` -- an export of another database, or a forgery.

Events are found by the SHA-256 in their payload: canonical JSON has no whitespace, so
``"sha256":"<hex>"`` is an exact substring of the payload text (one ``LIKE`` query over
the export events, found by the indexed action), then parsed and compared here.

The whole chain is verified with every check: an edit of the event row breaks its own
hash, or, with the hash recomputed, the next row's link. A rewrite of the event and
every row after it is caught only against a later anchor: the manifest of an audit
export made afterwards and kept where the database's administrators cannot write
(``verify-export --anchor``).

``verify_audit_file`` is the offline counterpart for ``garrison audit verify --file``.
"""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, or_, select

from garrison import audit
from garrison.canonical import format_timestamp, sha256_file
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.models import AuditEvent

EXPORT_KINDS = {
    "findings.exported": "garrison-findings-export",
    "audit.exported": "garrison-audit-export",
    "experts.exported": "garrison-experts-export",
}
"""The audit action of each export and the ``kind`` its manifest carries."""


class Verdict(enum.StrEnum):
    ok = "ok"
    file_changed = "file_changed"
    manifest_altered = "manifest_altered"
    manifest_missing = "manifest_missing"
    no_event = "no_event"
    chain_broken = "chain_broken"


@dataclass(frozen=True, slots=True)
class ExportEvent:
    """The audit event that records an export."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]

    @property
    def sha256(self) -> str | None:
        value = self.payload.get("sha256")
        return value if isinstance(value, str) else None

    def names(self, name: str) -> bool:
        """Whether the event's subject (``file:NAME`` or ``file:PATH``) names ``name``."""
        file = self.subject.removeprefix("file:")
        return file == name or file.endswith("/" + name)

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                "subject": self.subject, "payload": self.payload}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A field where the manifest and the event disagree."""

    field: str
    manifest: Any
    event: Any


@dataclass(frozen=True, slots=True)
class ExportVerification:
    file: Path
    manifest_file: Path
    sha256: str
    manifest: dict[str, Any] | None
    event: ExportEvent | None
    mismatch: Mismatch | None
    chain: audit.VerifyReport
    verdict: Verdict
    database: str
    anchors: tuple[audit.Anchor, ...]
    """Anchors given besides the manifest's own head."""
    file_rows: int | None = None
    """Rows counted in a changed file, where that is cheap and certain (CSV, JSON Lines)."""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.ok

    def as_json(self) -> dict[str, Any]:
        from garrison.evidence_messages import explain

        problem, hint = explain(self) if not self.ok else (None, None)
        return {"ok": self.ok, "verdict": self.verdict.value, "file": str(self.file),
                "sha256": self.sha256, "manifest": self.manifest,
                "event": self.event.as_json() if self.event else None,
                "problem": problem, "hint": hint,
                "file_problem": None if self.verdict is Verdict.chain_broken else problem,
                "chain_problem": self.chain.problem,
                "chain": {"ok": self.chain.ok, "rows": self.chain.rows,
                          "head_seq": self.chain.head_seq, "broken_seq": self.chain.broken_seq}}


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest's content; a missing file is the caller's ``OSError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise GarrisonError(
            _("{m}: not a Garrison manifest ({err})").format(m=path, err=exc),
            hint=_("Use the .manifest.json written beside the export.")) from exc
    return data


def verify_export(session: Session, *, path: Path, database: str,
                  anchors: Sequence[audit.Anchor]) -> ExportVerification:
    """Check an export against the audit event that recorded it, and the chain (which
    must also hold the manifest's head and every one of ``anchors``)."""
    actual = sha256_file(path)
    manifest_file = audit.manifest_path(path)
    manifest = read_manifest(manifest_file) if manifest_file.exists() else None
    claimed = str(manifest.get("sha256", "")) if manifest else ""
    events = _candidates(session, hashes={actual, claimed} - {""}, name=path.name)
    verdict, event = _match(events, actual=actual, manifest=manifest, name=path.name)
    mismatch = _mismatch(manifest, event) if manifest and event else None
    own = _anchor(manifest) if verdict is Verdict.ok else None
    chain = audit.verify(session, anchors=[*anchors, *([own] if own else [])])
    if verdict is Verdict.ok and not chain.ok:
        verdict = Verdict.chain_broken
    rows = _count_rows(path, event) if event and verdict is Verdict.file_changed else None
    return ExportVerification(path, manifest_file, actual, manifest, event, mismatch, chain,
                              verdict, database, tuple(anchors), rows)


def _candidates(session: Session, *, hashes: set[str], name: str) -> list[ExportEvent]:
    """Export events whose payload holds one of ``hashes`` or whose subject names ``name``."""
    subject = col(AuditEvent.subject)
    found = or_(*(col(AuditEvent.payload).contains(f'"sha256":"{h}"', autoescape=True)
                  for h in sorted(hashes)),
                subject == f"file:{name}", subject.endswith(f"/{name}", autoescape=True))
    rows = session.exec(select(AuditEvent).where(
        col(AuditEvent.action).in_(EXPORT_KINDS), found).order_by(col(AuditEvent.seq))).all()
    return [ExportEvent(e.seq, format_timestamp(e.at), e.actor, e.action, e.subject,
                        _payload(e.payload)) for e in rows]


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:  # an edited row: the chain check names it
        return {}
    return value if isinstance(value, dict) else {}


def _match(events: list[ExportEvent], *, actual: str, manifest: dict[str, Any] | None,
           name: str) -> tuple[Verdict, ExportEvent | None]:
    same_bytes = [e for e in events if e.sha256 == actual]
    if same_bytes:
        event = _closest(same_bytes, manifest)
        if manifest is None:
            return Verdict.manifest_missing, event
        return (Verdict.manifest_altered if _mismatch(manifest, event) else Verdict.ok), event
    claimed = manifest.get("sha256") if manifest else None
    by_claim = [e for e in events if claimed and e.sha256 == claimed]
    by_name = [e for e in events if e.sha256 and e.names(name)]
    if by_claim or by_name:
        return Verdict.file_changed, _closest(by_claim or by_name, manifest)
    return Verdict.no_event, None


def _closest(events: list[ExportEvent], manifest: dict[str, Any] | None) -> ExportEvent:
    """The event the manifest agrees with, else the one made when it says, else the newest."""
    if manifest is not None:
        for event in reversed(events):
            if _mismatch(manifest, event) is None:
                return event
        for event in reversed(events):
            if manifest.get("created_at") == event.at:
                return event
    return events[-1]


def _mismatch(manifest: dict[str, Any], event: ExportEvent) -> Mismatch | None:
    """The first field where the manifest says something the event does not."""
    truth = {**event.payload, "kind": EXPORT_KINDS[event.action], "actor": event.actor,
             "created_at": event.at}
    order = ["sha256", "rows", *sorted(set(truth) - {"sha256", "rows"})]
    for key in order:
        if key in truth and _canon(manifest.get(key)) != _canon(truth[key]):
            return Mismatch(key, manifest.get(key), truth[key])
    head = manifest.get("head_seq")
    if "head_seq" not in truth and not (isinstance(head, int) and 0 <= head < event.seq):
        return Mismatch("head_seq", head, f"< {event.seq}")
    return None


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _count_rows(path: Path, event: ExportEvent) -> int | None:
    try:
        if event.action == "audit.exported":  # JSON Lines
            with path.open(encoding="utf-8") as handle:
                return sum(1 for line in handle if line.strip())
        if event.payload.get("format") == "csv":  # a header, then a record per row
            with path.open(encoding="utf-8-sig", newline="") as handle:
                return max(sum(1 for _row in csv.reader(handle)) - 1, 0)
    except (OSError, ValueError, csv.Error):
        return None
    return None


def _anchor(manifest: dict[str, Any] | None) -> audit.Anchor | None:
    try:
        return audit.Anchor(int(manifest["head_seq"]), str(manifest["head_hash"])) \
            if manifest else None
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class AuditFileCheck:
    """``garrison audit verify --file``: the chain in the file, its end and its bytes."""

    file: Path
    report: audit.VerifyReport
    sha256: str
    manifest_file: Path | None
    manifest: dict[str, Any] | None

    @property
    def problem(self) -> str | None:
        """What the manifest says that the file does not (None without a manifest)."""
        from garrison.evidence_messages import audit_file_problem

        return audit_file_problem(self) if self.manifest is not None else None

    @property
    def ok(self) -> bool:
        return self.report.ok and self.problem is None


def verify_audit_file(path: Path, *, manifest: Path | None,
                      anchors: Sequence[audit.Anchor]) -> AuditFileCheck:
    """Walk the chain in an audit export; check its row count, head and SHA-256 against
    ``manifest``, or the manifest beside the file when there is one."""
    report = audit.verify_rows(audit.read_export(path), anchors=anchors)
    beside = audit.manifest_path(path)
    manifest_file = manifest or (beside if beside.exists() else None)
    content = read_manifest(manifest_file) if manifest_file else None
    if content is not None and content.get("kind") != EXPORT_KINDS["audit.exported"]:
        raise GarrisonError(
            _("{m} is a manifest of kind {kind}, not of an audit export ({want})").format(
                m=manifest_file, kind=content.get("kind"), want=EXPORT_KINDS["audit.exported"]),
            hint=_("Give the .manifest.json written beside the audit export with --manifest."))
    return AuditFileCheck(path, report, sha256_file(path), manifest_file, content)
