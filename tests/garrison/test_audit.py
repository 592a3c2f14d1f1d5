"""The hash-chained audit trail: appends, verification, tampering, exports."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from garrison import audit
from garrison.db import read_session, write_session
from garrison.errors import GarrisonError
from garrison.models import AuditEvent
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.garrison.helpers import count, import_file, plain_sql


def _append(settings: Settings, n: int, actor: str = "tester") -> None:
    for i in range(n):
        with write_session(settings) as session:
            audit.record(session, actor=actor, action="test.event", subject=f"thing:{i}",
                         payload={"i": i, "名称": "杭州市城乡建设委员会"}, at=settings.now())


def _verify(settings: Settings, anchor: audit.Anchor | None = None) -> audit.VerifyReport:
    with read_session(settings) as session:
        return audit.verify(session, anchors=[anchor] if anchor else [])


def test_fresh_database_verifies(settings: Settings) -> None:
    report = _verify(settings)
    assert report.ok and report.rows == 0 and report.head_hash == audit.GENESIS_HASH


def test_chain_links_every_row_to_the_one_before(settings: Settings) -> None:
    _append(settings, 3)
    with read_session(settings) as session:
        rows = list(audit.iter_chain(session))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert all(r.computed_hash() == r.hash for r in rows)
    assert json.loads(rows[0].payload) == {"i": 0, "名称": "杭州市城乡建设委员会"}


def test_a_rolled_back_action_leaves_no_audit_row(settings: Settings) -> None:
    with pytest.raises(RuntimeError), write_session(settings) as session:
        audit.record(session, actor="tester", action="test.event", subject="x",
                     at=settings.now())
        raise RuntimeError("the action failed after auditing")
    assert count(settings, AuditEvent) == 0


def test_edited_row_is_named(settings: Settings) -> None:
    _append(settings, 6)
    plain_sql(settings, "UPDATE auditevent SET actor = 'mallory' WHERE seq = 4")
    report = _verify(settings)
    assert not report.ok and report.broken_seq == 4 and report.rows == 3
    assert report.problem is not None
    assert report.problem.startswith("row seq=4 (test.event by mallory at ")
    assert report.problem.endswith(") was edited: its content no longer matches its hash")


def test_edited_payload_is_named(settings: Settings) -> None:
    _append(settings, 3)
    plain_sql(settings, "UPDATE auditevent SET payload = '{\"i\":99}' WHERE seq = 2")
    assert _verify(settings).broken_seq == 2


def test_deleted_row_is_named(settings: Settings) -> None:
    _append(settings, 5)
    plain_sql(settings, "DELETE FROM auditevent WHERE seq = 3")
    report = _verify(settings)
    assert (report.ok, report.broken_seq) == (False, 4)
    assert report.problem == "row seq=4 follows seq=2: row(s) 3 were deleted"


def test_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(settings: Settings) -> None:
    _append(settings, 4)
    with read_session(settings) as session:
        row = next(r for r in audit.iter_chain(session) if r.seq == 2)
    forged = audit.digest(seq=2, at=row.at, actor="mallory", action=row.action,
                          subject=row.subject, payload=row.payload, prev_hash=row.prev_hash)
    plain_sql(settings, f"UPDATE auditevent SET actor = 'mallory', hash = '{forged}' "
                        "WHERE seq = 2")
    report = _verify(settings)
    assert report.broken_seq == 3
    assert report.problem is not None and report.problem.startswith(
        "row seq=3 does not link to row seq=2")


def test_row_inserted_out_of_order_is_caught(settings: Settings) -> None:
    _append(settings, 2)
    plain_sql(settings, "INSERT INTO auditevent (seq, at, actor, action, subject, payload, "
                        "prev_hash, hash) VALUES (7, '2026-01-01 00:00:00', 'mallory', 'x', "
                        f"'y', '{{}}', '{'0' * 64}', '{'f' * 64}')")
    report = _verify(settings)
    assert report.problem == "row seq=7 follows seq=2: row(s) 3-6 were deleted"


def test_truncated_tail_is_caught_against_an_anchor(settings: Settings, tmp_path: Path) -> None:
    _append(settings, 5)
    with write_session(settings) as session:
        result = audit.export(session, path=tmp_path / "audit.jsonl", actor="auditor",
                              database="test", now=settings.now())
    anchor = audit.read_anchor(result.manifest)
    assert anchor == audit.Anchor(seq=5, hash=result.head_hash)
    plain_sql(settings, "DELETE FROM auditevent WHERE seq >= 4")
    assert _verify(settings).ok  # a chain alone cannot see its own missing end ...
    report = _verify(settings, anchor)  # ... the anchor can
    assert report.problem == ("the chain ends at seq=3 but the anchor names seq=5: rows after "
                              "seq=3 were removed")


def test_export_writes_jsonl_and_a_manifest_and_verifies_offline(
    settings: Settings, tmp_path: Path
) -> None:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    path = tmp_path / "audit.jsonl"
    with write_session(settings) as session:
        result = audit.export(session, path=path, actor="auditor", database="test",
                              now=settings.now())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == result.rows == 5
    first = json.loads(lines[0])
    assert first["action"] == "org.unit.created"
    assert first["payload"]["name"] == "浙江省住房和城乡建设厅"
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest["rows"] == 5 and manifest["head_hash"] == json.loads(lines[-1])["hash"]
    assert manifest["sha256"] == result.sha256
    assert audit.verify_rows(audit.read_export(path)).ok
    # the export itself is audited, after the exported head
    with read_session(settings) as session:
        head = audit.head(session)
    assert head is not None and head.action == "audit.exported" and head.seq == 6

    tampered = tmp_path / "tampered.jsonl"
    lines[1] = lines[1].replace("127.0.0.0/24", "0.0.0.0/0")
    tampered.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = audit.verify_rows(audit.read_export(tampered))
    assert report.broken_seq == 2 and report.problem is not None and "was edited" in report.problem


def test_reading_a_file_that_is_not_an_export_says_so(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(GarrisonError) as err:
        list(audit.read_export(path))
    assert err.value.message == f"{path}:1: not an audit export row ('at')"


def test_concurrent_writers_keep_one_unbroken_chain(settings: Settings) -> None:
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            _append(settings, 15, actor=name)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = _verify(settings)
    assert report.ok and report.rows == 60
