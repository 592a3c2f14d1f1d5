"""Phone numbers and e-mail are masked on every output path; unmasked views are audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from expert_pool.contacts import mask_email, mask_phone
from garrison.db import read_session
from garrison.models import AuditEvent
from garrison.settings import Settings
from tests.conftest import CliRunner
from tests.garrison.helpers import snapshot

FULL = ["13812345678", "zhang.wei@example.org", "13987654321", "li.na@example.org"]
MASKED = ["138****5678", "z***@example.org", "139****4321", "l***@example.org"]


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0571-87654321") == "057*****4321"
    assert mask_phone("+86 138 1234 5678") == "861******5678"
    assert mask_phone("12345") == "*****"
    assert mask_phone(None) is None
    assert mask_email("zhang.wei@example.org") == "z***@example.org"
    assert mask_email("not-an-address") == "not-an-address"


def views(settings: Settings) -> list[dict[str, object]]:
    with read_session(settings) as session:
        return [json.loads(e.payload) for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "experts.contacts_viewed")
            .order_by(col(AuditEvent.seq)))]


def outputs(cli: CliRunner, db: str, tmp_path: Path, *extra: str) -> dict[str, str]:
    """Every roster output path, as text."""
    out: dict[str, str] = {}
    for name, args in {
        "list": ["experts", "list"], "list-json": ["experts", "list", "--json"],
        "show": ["experts", "show", "1"], "show-json": ["experts", "show", "2", "--json"],
        "match": ["experts", "match", "--skill", "forensics:2"],
        "match-json": ["experts", "match", "--skill", "forensics:2", "--json"],
    }.items():
        result = cli(*args, *extra, db_url=db)
        assert result.code == 0, (name, result.err)
        out[name] = result.out
    for fmt in ("csv", "json", "xlsx"):
        path = tmp_path / f"experts{'-'.join(extra)}.{fmt}"
        result = cli("experts", "export", "--format", fmt, "-o", str(path), *extra, db_url=db)
        assert result.code == 0, (fmt, result.err)
        if fmt == "xlsx":
            sheet = load_workbook(path).active
            assert sheet is not None
            out[fmt] = "\n".join(",".join(str(c) for c in row)
                                 for row in sheet.iter_rows(values_only=True))
        else:
            out[fmt] = path.read_text(encoding="utf-8-sig")
    return out


def test_every_output_path_is_masked_by_default(pool: Settings, cli: CliRunner,
                                                tmp_path: Path) -> None:
    texts = outputs(cli, pool.db, tmp_path)
    for name, text in texts.items():
        for secret in FULL:
            assert secret not in text, (name, secret)
    for name in ("list", "list-json", "csv", "json", "xlsx"):
        for masked in MASKED:
            assert masked in texts[name], (name, masked)
    assert "138****5678" in texts["show"] and "z***@example.org" in texts["show"]
    assert "139****4321" in texts["show-json"]
    assert "138****5678" in texts["match"] and "l***@example.org" in texts["match-json"]
    assert views(pool) == []


def test_show_contacts_is_refused_to_an_actor_without_the_right(
        pool: Settings, cli: CliRunner, tmp_path: Path) -> None:
    before = snapshot(pool)
    for args in (["experts", "list", "--show-contacts"],
                 ["experts", "show", "1", "--show-contacts"],
                 ["experts", "match", "--skill", "web", "--show-contacts"],
                 ["experts", "export", "-f", "csv", "-o", str(tmp_path / "x.csv"),
                  "--show-contacts"]):
        result = cli(*args, db_url=pool.db)
        assert result.code == 1, args
        assert "tester may not see experts' contact details" in result.err
        assert "GARRISON_CONTACT_VIEWERS" in result.err
    assert not (tmp_path / "x.csv").exists()
    assert snapshot(pool) == before


def test_an_authorised_actor_sees_contacts_and_each_view_is_audited(
        pool: Settings, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GARRISON_CONTACT_VIEWERS", '["tester"]')
    texts = outputs(cli, pool.db, tmp_path, "--show-contacts")
    for name in ("list", "list-json", "csv", "json", "xlsx"):
        for secret in FULL:
            assert secret in texts[name], (name, secret)
    assert "13812345678" in texts["show"]
    assert "li.na@example.org" in texts["match-json"]
    seen = views(pool)
    assert [v["where"] for v in seen] == [
        "experts list", "experts list", "experts show", "experts show", "experts match",
        "experts match", f"export:{tmp_path / 'experts--show-contacts.csv'}",
        f"export:{tmp_path / 'experts--show-contacts.json'}",
        f"export:{tmp_path / 'experts--show-contacts.xlsx'}"]
    assert seen[0]["experts"] == [1, 2, 3, 4, 5, 6]
    assert seen[2]["experts"] == [1]
    # the trail names who was seen, never their contacts
    with read_session(pool) as session:
        trail = " ".join(e.payload for e in session.exec(select(AuditEvent)))
    for secret in FULL:
        assert secret not in trail


def test_exports_neutralise_formulas(sqlite_pool: Settings, cli: CliRunner,
                                     tmp_path: Path) -> None:
    cli("experts", "add", "--name", "=HYPERLINK(\"http://x\")", "--org", "@evil",
        db_url=sqlite_pool.db)
    path = tmp_path / "x.csv"
    assert cli("experts", "export", "-f", "csv", "-o", str(path), db_url=sqlite_pool.db).code == 0
    text = path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",'@evil," in text
