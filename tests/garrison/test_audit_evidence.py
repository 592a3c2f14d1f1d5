"""``garrison audit verify-export``: an export checked against the audit event that recorded it.

The manifest beside a file is a claim anyone who can edit the file can recompute; the
audit event is in the hash chain. Every outcome, on SQLite and PostgreSQL, with the exact
message it must produce. (Today's manifest-only check passes the recomputed-manifest,
altered-manifest, forged and other-database cases, and exits 1 without a manifest.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from garrison import audit
from garrison.canonical import canonical_json, format_timestamp, sha256_file
from garrison.db import display_url, read_session
from garrison.models import AuditEvent
from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.garrison.conftest import Known
from tests.garrison.helpers import plain_sql

CHANGED_HINT = ("Do not use this file as evidence; export again from the database. "
                "`garrison audit log --action findings.exported` lists the exports the audit "
                "trail recorded.")
BROKEN_HINT = ("The event that vouches for this file cannot be trusted while the chain is "
               "broken. Preserve the database as evidence and compare it with your last audit "
               "export.")


def flat(text: str) -> str:
    """Output with the console's line wrapping undone."""
    return " ".join(text.split())


def last_event(settings: Settings, action: str) -> AuditEvent:
    with read_session(settings) as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action)
                            .order_by(col(AuditEvent.seq).desc())).first() or pytest.fail(action)


def named(event: AuditEvent) -> str:
    return (f"audit event seq={event.seq} ({event.action} by {event.actor} at "
            f"{format_timestamp(event.at)})")


def chain_head(settings: Settings) -> int:
    with read_session(settings) as session:
        head = audit.head(session)
    return head.seq if head else 0


def export_csv(cli: CliRunner, settings: Settings, path: Path) -> AuditEvent:
    assert cli("findings", "export", "-f", "csv", "-o", str(path), db_url=settings.db).code == 0
    return last_event(settings, "findings.exported")


def rewrite_manifest(path: Path, **changes: Any) -> None:
    manifest = audit.manifest_path(path)
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**data, **changes}, ensure_ascii=False), encoding="utf-8")


def forge_event(settings: Settings, event: AuditEvent, sha: str) -> str:
    """Put ``sha`` into the event's payload and recompute its hash, as an intruder with
    the database's password would; return the new hash."""
    payload = canonical_json({**json.loads(event.payload), "sha256": sha})
    forged = audit.digest(seq=event.seq, at=format_timestamp(event.at), actor=event.actor,
                          action=event.action, subject=event.subject, payload=payload,
                          prev_hash=event.prev_hash)
    plain_sql(settings, f"UPDATE auditevent SET payload = '{payload}', hash = '{forged}' "
                        f"WHERE seq = {event.seq}")
    return forged


@pytest.mark.parametrize("kind", ["findings-csv", "findings-xlsx", "audit", "experts"])
def test_an_untouched_export_names_the_event_that_recorded_it(
        cli: CliRunner, known: Known, tmp_path: Path, kind: str) -> None:
    db = known.settings.db
    if kind == "audit":
        path, action, rows = tmp_path / "audit.jsonl", "audit.exported", chain_head(known.settings)
        assert cli("audit", "export", "-o", str(path), db_url=db).code == 0
    elif kind == "experts":
        path, action, rows = tmp_path / "experts.csv", "experts.exported", 1
        assert cli("experts", "add", "--name", "张伟", "--org", "浙江省网络安全协会",
                   db_url=db).code == 0
        assert cli("experts", "export", "-f", "csv", "-o", str(path), db_url=db).code == 0
    else:
        fmt = kind.removeprefix("findings-")
        path, action, rows = tmp_path / f"f.{fmt}", "findings.exported", 7
        assert cli("findings", "export", "-f", fmt, "-o", str(path), db_url=db).code == 0
    event, head = last_event(known.settings, action), chain_head(known.settings)
    ok = cli("audit", "verify-export", str(path), db_url=db)
    assert ok.code == 0, ok.err
    assert flat(ok.out) == (f"OK {path} matches its manifest ({rows} rows, sha256 "
                            f"{sha256_file(path)[:16]}) and {named(event)}; the audit chain "
                            f"verifies ({head} rows, head seq={head}).")
    assert flat(ok.err) == (f"No --anchor given: a rewrite of the chain from seq={event.seq} "
                            "to its end would not show. Give --anchor with the manifest of an "
                            "audit export made after this one and kept where the database's "
                            "administrators cannot write.")
    as_json = json.loads(cli("audit", "verify-export", "--json", str(path), db_url=db).out)
    assert (as_json["ok"], as_json["verdict"], as_json["event"]["seq"]) == (True, "ok", event.seq)


@pytest.mark.parametrize(("edit", "rows_now"), [("edited", 7), ("truncated", 6)])
def test_a_changed_file_fails_even_with_a_recomputed_manifest(
        cli: CliRunner, known: Known, tmp_path: Path, edit: str, rows_now: int) -> None:
    path = tmp_path / "f.csv"
    event = export_csv(cli, known.settings, path)
    recorded = sha256_file(path)
    lines = path.read_bytes().splitlines(keepends=True)
    if edit == "edited":
        lines[1] = lines[1].replace(b",high,", b",low,", 1)
    else:
        lines = lines[:-1]
    path.write_bytes(b"".join(lines))
    rewrite_manifest(path, sha256=sha256_file(path), rows=rows_now)
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert flat(bad.err) == flat(
        f"error: f.csv was changed after export: SHA-256 {sha256_file(path)[:16]} does not "
        f"match {named(event)}, which recorded {recorded[:16]} (7 rows); the file now has "
        f"{rows_now} rows; its manifest was rewritten to match the changed file {CHANGED_HINT}")


def test_a_changed_file_with_its_manifest_kept_says_so_without_more(
        cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    event = export_csv(cli, known.settings, path)
    recorded = sha256_file(path)
    path.write_bytes(path.read_bytes().replace(b",high,", b",low,", 1))
    bad = cli("audit", "verify-export", "--json", str(path), db_url=known.settings.db)
    out = json.loads(bad.out)
    assert (bad.code, out["verdict"], out["event"]["seq"]) == (5, "file_changed", event.seq)
    assert out["problem"] == (
        f"f.csv was changed after export: SHA-256 {sha256_file(path)[:16]} does not match "
        f"{named(event)}, which recorded {recorded[:16]} (7 rows); the file now has 7 rows")


@pytest.mark.parametrize(("field", "value", "says", "was"), [
    ("rows", 3, "3", "7"),
    ("sha256", "ab" * 32, "abababababababab", None),  # None: the file's own SHA-256
    ("actor", "mallory", "mallory", "tester"),
    ("filters", {"unit": "hz-jw"}, '{"unit":"hz-jw"}', "{}"),
])
def test_an_altered_manifest_is_named_against_the_event(
        cli: CliRunner, known: Known, tmp_path: Path, field: str, value: Any, says: str,
        was: str | None) -> None:
    path = tmp_path / "f.csv"
    event = export_csv(cli, known.settings, path)
    rewrite_manifest(path, **{field: value})
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: f.csv.manifest.json was altered: its {field} is {says}, but {named(event)} "
        f"recorded {was or sha256_file(path)[:16]}; f.csv itself matches that event The file "
        "is as exported, its manifest is not: rely on the audit event, keep both as evidence, "
        "and export again for a clean pair.")


def test_a_missing_manifest_is_its_own_outcome(
        cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    event = export_csv(cli, known.settings, path)
    audit.manifest_path(path).unlink()
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert flat(bad.err) == flat(
        f"error: {audit.manifest_path(path)}: no manifest beside f.csv; the file itself "
        f"matches {named(event)} (7 rows) Exports write FILE.manifest.json next to FILE; keep "
        "the two together, or export again.")


NO_EVENT_HINT = ("Run the check against the database that made the export: garrison --db URL "
                 "audit verify-export FILE. If that is this database, the file was forged or "
                 "its export never committed: do not use it as evidence.")


def test_a_forged_export_has_no_event(cli: CliRunner, known: Known, tmp_path: Path) -> None:
    genuine = tmp_path / "f.csv"
    export_csv(cli, known.settings, genuine)
    forged = tmp_path / "forged.csv"
    forged.write_bytes(genuine.read_bytes().replace(b",high,", b",low,"))
    manifest = json.loads(audit.manifest_path(genuine).read_text(encoding="utf-8"))
    audit.manifest_path(forged).write_text(
        json.dumps({**manifest, "sha256": sha256_file(forged)}), encoding="utf-8")
    bad = cli("audit", "verify-export", str(forged), db_url=known.settings.db)
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: no audit event in {display_url(known.settings.db)} records forged.csv "
        f"(SHA-256 {sha256_file(forged)[:16]}); its manifest says it came from "
        f"{manifest['database']} at {manifest['created_at']} {NO_EVENT_HINT}")
    audit.manifest_path(forged).unlink()
    bare = cli("audit", "verify-export", str(forged), db_url=known.settings.db)
    assert (bare.code, flat(bare.err)) == (5, (
        f"error: no audit event in {display_url(known.settings.db)} records forged.csv "
        f"(SHA-256 {sha256_file(forged)[:16]}), and it has no manifest "
        f"(forged.csv.manifest.json) {NO_EVENT_HINT}"))


def test_an_export_checked_against_another_database_says_which_made_it(
        cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    export_csv(cli, known.settings, path)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli("init", db_url=other).code == 0
    bad = cli("audit", "verify-export", str(path), db_url=other)
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: no audit event in {other} records f.csv (SHA-256 {sha256_file(path)[:16]}); "
        f"its manifest says it came from {display_url(known.settings.db)} at "
        f"{format_timestamp(last_event(known.settings, 'findings.exported').at)} "
        f"{NO_EVENT_HINT}")
    assert cli("audit", "verify-export", str(path), db_url=known.settings.db).code == 0


def _tamper_all_three(settings: Settings, path: Path, event: AuditEvent) -> str:
    """Edit the file, recompute its manifest and rewrite its event: return the new hash."""
    path.write_bytes(path.read_bytes().replace(b",high,", b",low,", 1))
    rewrite_manifest(path, sha256=sha256_file(path))
    return forge_event(settings, event, sha256_file(path))


def test_an_event_rewritten_with_the_file_breaks_the_chain_after_it(
        cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    event = export_csv(cli, known.settings, path)
    export_csv(cli, known.settings, tmp_path / "later.csv")  # a row after the event
    forged = _tamper_all_three(known.settings, path, event)
    bad = cli("audit", "verify-export", str(path), db_url=known.settings.db)
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: f.csv matches its manifest and {named(event)}, but the audit chain is "
        f"broken: row seq={event.seq + 1} does not link to row seq={event.seq} (prev_hash "
        f"{event.hash[:16]} != {forged[:16]}): a row was inserted, replaced or rewritten "
        f"{BROKEN_HINT}")


def test_a_rewrite_from_the_event_to_the_end_is_caught_by_a_later_anchor(
        cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path, anchor = tmp_path / "f.csv", tmp_path / "kept-elsewhere" / "audit.jsonl"
    event = export_csv(cli, known.settings, path)
    anchor.parent.mkdir()
    assert cli("audit", "export", "-o", str(anchor), db_url=known.settings.db).code == 0
    after = last_event(known.settings, "audit.exported")
    forged = _tamper_all_three(known.settings, path, event)
    relinked = audit.digest(seq=after.seq, at=format_timestamp(after.at), actor=after.actor,
                            action=after.action, subject=after.subject, payload=after.payload,
                            prev_hash=forged)
    plain_sql(known.settings, f"UPDATE auditevent SET prev_hash = '{forged}', hash = "
                              f"'{relinked}' WHERE seq = {after.seq}")
    # the limit of a chain without an anchor: rewritten to its end, it verifies
    assert cli("audit", "verify-export", str(path), db_url=known.settings.db).code == 0
    bad = cli("audit", "verify-export", str(path), "--anchor",
              str(audit.manifest_path(anchor)), db_url=known.settings.db)
    assert bad.code == 5
    assert flat(bad.err) == (
        f"error: f.csv matches its manifest and {named(event)}, but the audit chain is "
        f"broken: row seq={event.seq} has hash {forged[:16]}, but the "
        f"anchor says {event.hash[:16]}: the chain was rewritten up to here {BROKEN_HINT}")


def test_an_anchor_that_holds_is_named_in_the_verdict(
        cli: CliRunner, known: Known, tmp_path: Path) -> None:
    path, anchor = tmp_path / "f.csv", tmp_path / "audit.jsonl"
    event = export_csv(cli, known.settings, path)
    assert cli("audit", "export", "-o", str(anchor), db_url=known.settings.db).code == 0
    ok = cli("audit", "verify-export", str(path), "--anchor", str(audit.manifest_path(anchor)),
             db_url=known.settings.db)
    assert ok.code == 0 and ok.err == ""
    assert flat(ok.out).endswith(f"and holds the anchored head seq={event.seq}.")
