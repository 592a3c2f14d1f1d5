"""The audit trail: append-only, hash-chained, verifiable.

Each row holds a gap-free sequence number, the hash of the previous row and its own
SHA-256 over a canonical serialisation of (seq, at, actor, action, subject,
payload, prev_hash). Editing a row breaks its own hash; deleting or inserting one
breaks the sequence or the next row's ``prev_hash``; rewriting the chain from some
row onwards is caught by checking against a head hash published earlier (an export
manifest): ``verify(..., anchors=[...])``.

Whether an exported file is what the export wrote is ``garrison.evidence``'s question:
it checks the file against the audit event the export recorded here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from garrison.canonical import canonical_json, format_timestamp, sha256_file, sha256_text
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.models import AuditEvent

GENESIS_HASH = "0" * 64
_PG_CHAIN_LOCK = 0x6761_7272  # pg_advisory_xact_lock key serialising appends


@dataclass(frozen=True, slots=True)
class ChainRow:
    """The hashed fields of one audit row, from the database or an export file."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    payload: str
    prev_hash: str
    hash: str

    @classmethod
    def from_event(cls, event: AuditEvent) -> ChainRow:
        return cls(
            seq=event.seq,
            at=format_timestamp(event.at),
            actor=event.actor,
            action=event.action,
            subject=event.subject,
            payload=event.payload,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )

    def computed_hash(self) -> str:
        return digest(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            subject=self.subject,
            payload=self.payload,
            prev_hash=self.prev_hash,
        )

    def as_export(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "payload": json.loads(self.payload),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def digest(
    *, seq: int, at: str, actor: str, action: str, subject: str, payload: str, prev_hash: str
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )
    return sha256_text(body)


def _lock_chain(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    # SQLite: write sessions begin IMMEDIATE, so this transaction already owns the writes.


def head(session: Session) -> AuditEvent | None:
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1)).first()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    at: datetime,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits or rolls back with it)."""
    _lock_chain(session)
    last = head(session)
    when = at
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS_HASH if last is None else last.hash
    payload_text = canonical_json(payload or {})
    event = AuditEvent(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        payload=payload_text,
        prev_hash=prev,
        hash=digest(
            seq=seq,
            at=format_timestamp(when),
            actor=actor,
            action=action,
            subject=subject,
            payload=payload_text,
            prev_hash=prev,
        ),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head published earlier (e.g. in an export manifest) the chain must still hold."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    rows: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_rows(rows: Iterable[ChainRow], *, anchors: Sequence[Anchor] = ()) -> VerifyReport:
    """Walk a chain in order and report the first broken row. Each anchor's row must be
    there and hold the anchor's hash (the chain must reach the last anchor)."""
    by_seq = {a.seq: a for a in anchors if a.seq > 0}
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for row in rows:
        problem = _check_row(row, expected_seq, prev_hash) or _check_anchor(
            row, by_seq.get(row.seq))
        if problem is not None:
            return VerifyReport(count, expected_seq - 1, prev_hash, row.seq, problem)
        count += 1
        expected_seq, prev_hash = row.seq + 1, row.hash
    last = max(by_seq, default=0)
    if expected_seq - 1 < last:
        msg = _(
            "the chain ends at seq={last} but the anchor names seq={seq}: "
            "rows after seq={last} were removed"
        ).format(last=expected_seq - 1, seq=last)
        return VerifyReport(count, expected_seq - 1, prev_hash, expected_seq, msg)
    return VerifyReport(count, expected_seq - 1, prev_hash)


def _check_anchor(row: ChainRow, anchor: Anchor | None) -> str | None:
    if anchor is None or row.hash == anchor.hash:
        return None
    return _(
        "row seq={seq} has hash {got}, but the anchor says {want}: "
        "the chain was rewritten up to here"
    ).format(seq=row.seq, got=row.hash[:16], want=anchor.hash[:16])


def _check_row(row: ChainRow, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        if row.seq > expected_seq:
            return _(
                "row seq={seq} follows seq={prev}: row(s) {missing} were deleted"
            ).format(
                seq=row.seq,
                prev=expected_seq - 1,
                missing=_span(expected_seq, row.seq - 1),
            )
        return _("row seq={seq} is out of order (expected seq={want})").format(
            seq=row.seq, want=expected_seq
        )
    if row.prev_hash != prev_hash:
        return _(
            "row seq={seq} does not link to row seq={prev} (prev_hash {got} != {want}): "
            "a row was inserted, replaced or rewritten"
        ).format(seq=row.seq, prev=row.seq - 1, got=row.prev_hash[:16], want=prev_hash[:16])
    if row.computed_hash() != row.hash:
        return _(
            "row seq={seq} ({action} by {actor} at {at}) was edited: "
            "its content no longer matches its hash"
        ).format(seq=row.seq, action=row.action, actor=row.actor, at=row.at)
    return None


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def iter_chain(session: Session, *, batch: int = 1000) -> Iterator[ChainRow]:
    """Every row of the chain in sequence order, read in batches (constant memory)."""
    after = 0
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.seq) > after)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        for event in rows:
            yield ChainRow.from_event(event)
        after = rows[-1].seq
        session.expunge_all()


def verify(session: Session, *, anchors: Sequence[Anchor] = ()) -> VerifyReport:
    return verify_rows(iter_chain(session), anchors=anchors)


def read_export(path: Path) -> Iterator[ChainRow]:
    """Rows of a ``garrison audit export`` JSON Lines file, for offline verification."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                yield ChainRow(
                    seq=int(data["seq"]),
                    at=str(data["at"]),
                    actor=str(data["actor"]),
                    action=str(data["action"]),
                    subject=str(data["subject"]),
                    payload=canonical_json(data["payload"]),
                    prev_hash=str(data["prev_hash"]),
                    hash=str(data["hash"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise GarrisonError(
                    _("{file}:{line}: not an audit export row ({err})").format(
                        file=path, line=number, err=exc
                    ),
                    hint=_("Point --file at a file written by `garrison audit export`."),
                ) from exc


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    manifest: Path
    rows: int
    head_seq: int
    head_hash: str
    sha256: str


def export(session: Session, *, path: Path, actor: str, database: str, now: datetime
           ) -> ExportResult:
    """Write the chain as JSON Lines plus ``PATH.manifest.json``; audit the export."""
    rows, head_seq, head_hash = 0, 0, GENESIS_HASH
    tmp = path.with_name(path.name + ".partial")  # the real name appears only when complete
    try:
        handle = tmp.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise GarrisonError(
            _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror),
            hint=_("Choose a writable file in an existing directory with -o."),
        ) from exc
    with handle:
        for row in iter_chain(session):
            handle.write(canonical_json(row.as_export()) + "\n")
            rows, head_seq, head_hash = rows + 1, row.seq, row.hash
    tmp.replace(path)
    checksum = sha256_file(path)
    manifest = write_manifest(
        path,
        {
            "kind": "garrison-audit-export",
            "rows": rows,
            "head_seq": head_seq,
            "head_hash": head_hash,
            "sha256": checksum,
            "actor": actor,
            "created_at": format_timestamp(now),
            "database": database,
        },
    )
    record(
        session,
        actor=actor,
        action="audit.exported",
        subject=f"file:{path.name}",
        payload={"rows": rows, "head_seq": head_seq, "head_hash": head_hash, "sha256": checksum},
        at=now,
    )
    return ExportResult(path, manifest, rows, head_seq, head_hash, checksum)


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def write_manifest(path: Path, content: dict[str, Any]) -> Path:
    target = manifest_path(path)
    target.write_text(
        json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return target


def read_anchor(manifest: Path) -> Anchor:
    """The head recorded in a manifest, to verify the live chain against."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return Anchor(seq=int(data["head_seq"]), hash=str(data["head_hash"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GarrisonError(
            _("{file}: not a Garrison manifest with a head hash ({err})").format(
                file=manifest, err=exc
            ),
            hint=_("Use the .manifest.json written beside an export."),
        ) from exc


def recent(session: Session, *, limit: int = 20, action_prefix: str | None = None
           ) -> list[AuditEvent]:
    """The newest events first, optionally only actions starting with a prefix."""
    query = select(AuditEvent)
    if action_prefix:
        query = query.where(col(AuditEvent.action).startswith(action_prefix))
    return list(session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit)).all())
