"""What ``garrison.evidence`` found, in words: one message and one next step per verdict.

Kept apart from the checks so that each verdict's wording sits in one place and the
checks stay short. Every message names the file and, when there is one, the audit
event that recorded the export (seq, action, actor, time); hashes are shown by their
first 16 hex digits, as everywhere in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, assert_never

from garrison.canonical import canonical_json
from garrison.evidence import Verdict
from garrison.i18n import _

if TYPE_CHECKING:
    from garrison.evidence import AuditFileCheck, ExportEvent, ExportVerification


def event_text(event: ExportEvent) -> str:
    return _("audit event seq={seq} ({action} by {actor} at {at})").format(
        seq=event.seq, action=event.action, actor=event.actor, at=event.at)


def short(value: Any) -> str:
    """A value of a manifest or an event as a message shows it."""
    if value is None:
        return _("(missing)")
    if isinstance(value, str):
        return value[:16] if len(value) == 64 else value
    return canonical_json(value)


def summary(v: ExportVerification) -> str:
    """The line for a verified export."""
    assert v.event is not None
    text = _("{f} matches its manifest ({rows} rows, sha256 {sha}) and {event}; the audit "
             "chain verifies ({n} rows, head seq={head})").format(
        f=v.file, rows=v.event.payload.get("rows"), sha=v.sha256[:16],
        event=event_text(v.event), n=v.chain.rows, head=v.chain.head_seq)
    if v.anchors:
        text += _(" and holds the anchored head seq={seq}").format(
            seq=", ".join(str(a.seq) for a in v.anchors))
    return text + "."


def caveat(v: ExportVerification) -> str | None:
    """What a verified export's check could not rule out (without an anchor)."""
    if v.anchors or v.event is None:
        return None
    return _("No --anchor given: a rewrite of the chain from seq={seq} to its end would not "
             "show. Give --anchor with the manifest of an audit export made after this one "
             "and kept where the database's administrators cannot write.").format(
        seq=v.event.seq)


def explain(v: ExportVerification) -> tuple[str, str]:
    """The message and the hint for a verdict other than ``ok``."""
    match v.verdict:
        case Verdict.ok:
            return summary(v), ""
        case Verdict.file_changed:
            message, hint = _file_changed(v)
        case Verdict.manifest_altered:
            message, hint = _manifest_altered(v)
        case Verdict.manifest_missing:
            message, hint = _manifest_missing(v)
        case Verdict.no_event:
            message, hint = _no_event(v)
        case Verdict.chain_broken:
            return _chain_broken(v)
        case _:
            assert_never(v.verdict)
    if not v.chain.ok:
        message += " " + _("The audit chain is also broken: {problem}").format(
            problem=v.chain.problem)
    return message, hint


def _chain_broken(v: ExportVerification) -> tuple[str, str]:
    assert v.event is not None
    return _("{f} matches its manifest and {event}, but the audit chain is broken: "
             "{problem}").format(f=v.file.name, event=event_text(v.event),
                                 problem=v.chain.problem), \
        _("The event that vouches for this file cannot be trusted while the chain is broken. "
          "Preserve the database as evidence and compare it with your last audit export.")


def _file_changed(v: ExportVerification) -> tuple[str, str]:
    assert v.event is not None
    message = _("{f} was changed after export: SHA-256 {got} does not match {event}, which "
                "recorded {want} ({rows} rows)").format(
        f=v.file.name, got=v.sha256[:16], event=event_text(v.event),
        want=short(v.event.sha256), rows=v.event.payload.get("rows"))
    if v.file_rows is not None:
        message += _("; the file now has {n} rows").format(n=v.file_rows)
    if v.manifest is None:
        message += _("; its manifest {m} is missing").format(m=v.manifest_file.name)
    elif v.manifest.get("sha256") == v.sha256:
        message += _("; its manifest was rewritten to match the changed file")
    elif v.mismatch is not None:
        message += _("; its manifest was altered too ({field}: {says}, the event: {was})").format(
            field=v.mismatch.field, says=short(v.mismatch.manifest), was=short(v.mismatch.event))
    return message, _("Do not use this file as evidence; export again from the database. "
                      "`garrison audit log --action {action}` lists the exports the audit "
                      "trail recorded.").format(action=v.event.action)


def _manifest_altered(v: ExportVerification) -> tuple[str, str]:
    assert v.event is not None and v.mismatch is not None
    return _("{m} was altered: its {field} is {says}, but {event} recorded {was}; {f} itself "
             "matches that event").format(
        m=v.manifest_file.name, field=v.mismatch.field, says=short(v.mismatch.manifest),
        event=event_text(v.event), was=short(v.mismatch.event), f=v.file.name), \
        _("The file is as exported, its manifest is not: rely on the audit event, keep both "
          "as evidence, and export again for a clean pair.")


def _manifest_missing(v: ExportVerification) -> tuple[str, str]:
    assert v.event is not None
    return _("{m}: no manifest beside {f}; the file itself matches {event} ({rows} "
             "rows)").format(m=v.manifest_file, f=v.file.name, event=event_text(v.event),
                             rows=v.event.payload.get("rows")), \
        _("Exports write FILE.manifest.json next to FILE; keep the two together, or export "
          "again.")


def _no_event(v: ExportVerification) -> tuple[str, str]:
    if v.manifest is None:
        message = _("no audit event in {db} records {f} (SHA-256 {got}), and it has no "
                    "manifest ({m})").format(db=v.database, f=v.file.name, got=v.sha256[:16],
                                             m=v.manifest_file.name)
    else:
        message = _("no audit event in {db} records {f} (SHA-256 {got}); its manifest says "
                    "it came from {origin} at {created}").format(
            db=v.database, f=v.file.name, got=v.sha256[:16],
            origin=short(v.manifest.get("database")), created=short(v.manifest.get("created_at")))
    return message, _("Run the check against the database that made the export: "
                      "garrison --db URL audit verify-export FILE. If that is this database, "
                      "the file was forged or its export never committed: do not use it as "
                      "evidence.")


def audit_file_problem(check: AuditFileCheck) -> str | None:
    """Where an audit export's end or bytes differ from its manifest (first difference)."""
    m, report = check.manifest or {}, check.report
    if (report.rows, report.head_seq, report.head_hash) != (
            m.get("rows"), m.get("head_seq"), m.get("head_hash")):
        rows = m.get("rows")
        why = (_("rows were removed from the end") if isinstance(rows, int) and report.rows < rows
               else _("rows were added after the export") if isinstance(rows, int)
               and report.rows > rows else _("its last row is not the one exported"))
        return _("{f} has {n} rows ending at seq={seq} (hash {hash}), but its manifest {mf} "
                 "records {mn} rows ending at seq={mseq} (hash {mhash}): {why}").format(
            f=check.file.name, n=report.rows, seq=report.head_seq, hash=report.head_hash[:16],
            mf=check.manifest_file, mn=short(rows), mseq=short(m.get("head_seq")),
            mhash=short(m.get("head_hash")), why=why)
    if check.sha256 != m.get("sha256"):
        return _("{f} was changed after export: SHA-256 {got} does not match the manifest's "
                 "{want}").format(f=check.file.name, got=check.sha256[:16],
                                  want=short(m.get("sha256")))
    return None
