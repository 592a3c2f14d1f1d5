"""Importing the org tree into a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from garrison.db import read_session
from garrison.demo import demo_org_document
from garrison.errors import DocumentError
from garrison.models import AuditEvent, Scope, Unit
from garrison.org.queries import org_tree
from garrison.settings import Settings
from tests.conftest import FIXTURES
from tests.garrison.helpers import count, import_file, load_demo_org, snapshot

DEMO = Path(demo_org_document().path)


def test_demo_org_has_100_units_nested_under_the_province(settings: Settings) -> None:
    plan = load_demo_org(settings)
    assert len(plan.created) == 100
    assert count(settings, Unit) == 100
    assert count(settings, Scope) == 101
    with read_session(settings) as session:
        (root,) = org_tree(session)
        assert root.unit.code == "zj-jst"
        assert [d for d, _n in root.walk()].count(1) == 15  # 4 affiliates + 11 cities
        hz = next(n for _d, n in root.walk() if n.unit.code == "hz-jw")
        assert {c.unit.code for c in hz.children} >= {"hz-cg", "hz-gjj", "hz-fg", "hz-yl"}


def test_reimporting_the_same_file_changes_nothing(settings: Settings) -> None:
    load_demo_org(settings)
    before = snapshot(settings)
    plan = import_file(settings, DEMO)
    assert not plan.changed
    assert plan.unchanged == 100
    assert snapshot(settings) == before  # not even an audit event


def test_edited_file_updates_in_place_and_reports_what_changed(
    settings: Settings, tmp_path: Path
) -> None:
    load_demo_org(settings)
    text = DEMO.read_text(encoding="utf-8")
    text = text.replace("name: 杭州市城市管理局", "name: 杭州市城市管理局（综合执法局）")
    text = text.replace("{cidr: 127.0.1.0/24, authorized_by: HZ-2026-03}",
                        "{cidr: 127.0.1.0/24, authorized_by: HZ-2026-03, max_rate: 500}\n"
                        "    - {cidr: 127.0.200.0/24, authorized_by: HZ-2026-09}")
    text = text.replace("      scopes:\n      - {cidr: 127.0.16.0/24, authorized_by: HZ-2026-CG}\n",
                        "      scopes: []\n")
    edited = tmp_path / "org.yaml"
    edited.write_text(text, encoding="utf-8")

    plan = import_file(settings, edited)

    assert plan.created == []
    assert [(c, [(f.field, f.old, f.new) for f in ch]) for c, ch in plan.updated.items()] == [
        ("hz-cg", [("name", "杭州市城市管理局", "杭州市城市管理局（综合执法局）")])]
    assert plan.scopes_added == [("hz-jw", "127.0.200.0/24")]
    assert plan.scopes_removed == [("hz-cg", "127.0.16.0/24")]
    assert {k: [(f.field, f.old, f.new) for f in v] for k, v in plan.scopes_changed.items()} == {
        ("hz-jw", "127.0.1.0/24"): [("max_rate", None, 500)]}
    assert count(settings, Unit) == 100  # updated in place, no duplicates
    with read_session(settings) as session:
        cg = session.exec(select(Unit).where(Unit.code == "hz-cg")).one()
        assert cg.name == "杭州市城市管理局（综合执法局）"
        assert session.exec(select(Scope).where(Scope.unit_id == cg.id)).all() == []
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions.count("org.unit.updated") == 1
    assert actions.count("scope.removed") == 1
    assert actions.count("scope.changed") == 1
    assert actions[-1] == "org.imported"


def test_moving_a_unit_and_attaching_a_partial_tree(settings: Settings, tmp_path: Path) -> None:
    load_demo_org(settings)
    partial = tmp_path / "city.yaml"
    partial.write_text(
        "units:\n"
        "  - code: hz-gjj\n"
        "    parent: zj-jst\n"  # the fund centre now reports to the province
        "    name: 杭州住房公积金管理中心\n"
        "    level: bureau\n"
        "    officer: {name: 黄洋, phone: 0571-80070259, email: hz-gjj.officer@example.org}\n"
        "    scopes:\n"
        "      - {cidr: 127.0.17.0/24, authorized_by: HZ-2026-GJJ, max_rate: 200, "
        "note: 核心业务系统，限速扫描}\n", encoding="utf-8")
    plan = import_file(settings, partial)
    changes = {f.field: (f.old, f.new) for f in plan.updated["hz-gjj"]}
    assert changes == {"name": ("杭州市住房公积金管理中心", "杭州住房公积金管理中心"),
                       "parent": ("hz-jw", "zj-jst")}
    assert plan.not_in_file == 99


def test_unknown_parent_and_cycles_are_refused_and_nothing_is_written(
    settings: Settings, tmp_path: Path
) -> None:
    load_demo_org(settings)
    before = snapshot(settings)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "units:\n"
        "  - code: zj-jst\n"
        "    parent: hz-xiaoshan\n"  # the province under one of its own counties
        "    name: 浙江省住房和城乡建设厅\n"
        "    level: province\n"
        "    officer: {name: 王强}\n"
        "  - code: new-unit\n"
        "    parent: hz-jx\n"
        "    name: 新单位\n"
        "    level: unit\n"
        "    officer: {name: 某人}\n", encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        import_file(settings, bad)
    assert [str(p) for p in err.value.problems] == [
        f"{bad}:3: units[0].parent: placing 'zj-jst' under 'hz-xiaoshan' makes a cycle in "
        "the tree",
        f"{bad}:8: units[1].parent: parent 'hz-jx' is neither in this file nor in the "
        "database (did you mean 'hz-jw'?)",
    ]
    assert snapshot(settings) == before


def test_dry_run_reports_but_writes_nothing(settings: Settings) -> None:
    before = snapshot(settings)
    plan = import_file(settings, FIXTURES / "org" / "good_small.yaml", dry_run=True)
    assert plan.created == ["zj-jst", "hz-jw"]
    assert snapshot(settings) == before


def test_import_is_audited_and_the_chain_verifies(settings: Settings) -> None:
    from garrison import audit

    plan = import_file(settings, FIXTURES / "org" / "good_small.yaml")
    with read_session(settings) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
        report = audit.verify(session)
    assert [(e.action, e.subject) for e in events] == [
        ("org.unit.created", "unit:zj-jst"),
        ("scope.added", "scope:zj-jst:127.0.0.0/24"),
        ("org.unit.created", "unit:hz-jw"),
        ("scope.added", "scope:hz-jw:127.0.1.0/24"),
        ("org.imported", f"file:{plan.file}"),
    ]
    assert all(e.actor == "tester" for e in events)
    assert report.ok and report.rows == 5
