"""``assets list`` and ``scan list/show/diff`` print the same bytes whether the quick
path (``scanner.quick``) or the ORM answers; the quick path really answers them, steps
aside where the full path must explain a problem, and a whole process lists without
loading SQLAlchemy. On SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from garrison import db
from garrison.db import write_session
from garrison.models import RunKind, ScanRun, ScanStatus
from garrison.settings import Settings
from scanner import quick
from tests.conftest import CliResult, CliRunner
from tests.scanner.listing_data import SEEN
from tests.scanner.quick_data import Province, build_province

QUICK = ("quick_assets", "quick_runs", "quick_run", "quick_diff")


@pytest.fixture
def province(settings: Settings) -> Province:
    return build_province(settings)


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each call of the quick path answered (True) or stepped aside."""
    calls: list[bool] = []

    def spying(real: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            calls.append(result is not None)
            return result
        return spy

    for name in QUICK:
        monkeypatch.setattr(quick, name, spying(getattr(quick, name)))
    return calls


def both_ways(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, p: Province, args: list[str]
              ) -> tuple[CliResult, CliResult]:
    argv = [a.format(**p.ids) for a in args]
    monkeypatch.delenv("GARRISON_NO_QUICK", raising=False)
    fast = cli(*argv, db_url=p.settings.db)
    monkeypatch.setenv("GARRISON_NO_QUICK", "1")
    full = cli(*argv, db_url=p.settings.db)
    monkeypatch.delenv("GARRISON_NO_QUICK")
    return fast, full


COMMANDS = [
    ["assets", "list"],
    ["assets", "list", "--unit", "hz-jw", "--service", "tcp/22"],
    ["assets", "list", "--unit", "hz-jw", "--limit", "3", "--after", "hz-jw/10.0.0.1"],
    ["assets", "list", "--limit", "2", "--json", "--after", "hz-cg/127.0.16.5"],
    ["assets", "list", "--json"],
    ["assets", "list", "--text", "数据"],
    ["assets", "list", "--text", "宁波%_", "--json"],
    ["assets", "list", "--state", "gone"],
    ["assets", "list", "--text", "[b]x"],
    ["assets", "list", "--unit", "hz-jw", "--after", "hz-jw/fd00::10"],
    ["assets", "list", "--unit", "nb-cg", "--state", "down"],
    ["scan", "list"],
    ["scan", "list", "--json"],
    ["scan", "list", "--unit", "hz-jw", "--limit", "1", "--after", "{run1}"],
    ["scan", "list", "--unit", "nb-jw"],
    ["scan", "show", "{run1}", "--limit", "2"],
    ["scan", "show", "{run1}", "--after", "{run1_second}"],
    ["scan", "show", "{imported}"],
    ["scan", "show", "{imported}", "--json"],
    ["scan", "show", "{interrupted}"],
    ["scan", "diff", "{run2}", "{run3}", "--limit", "3"],
    ["scan", "diff", "{run3}", "{run2}", "--json"],
    ["scan", "diff", "{run3}", "{run3}"],
    ["scan", "diff", "{run1}", "{interrupted}"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_quick_and_full_paths_print_the_same_bytes(
        cli: CliRunner, province: Province, answered: list[bool],
        monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    shown = quick.quick_run(province.settings.db, province.ids["run1"], limit=2)
    assert shown is not None
    province.ids["run1_second"] = shown.page.rows[1].id
    answered.clear()
    fast, full = both_ways(cli, monkeypatch, province, args)
    assert answered == [True]  # the quick path answered; GARRISON_NO_QUICK kept it out
    assert fast == full
    assert fast.code == 0 and fast.out and not fast.err


def test_the_pages_a_user_walks_are_the_same(cli: CliRunner, province: Province,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    after: list[str] = []
    for _page in range(20):
        fast, full = both_ways(cli, monkeypatch, province,
                               ["assets", "list", "--limit", "4", *after])
        assert fast == full
        first = fast.out.splitlines()[0]
        if "(next: --after " not in first:
            assert first.endswith("showing 13-14")  # 11 assets of listing_data, 3 here
            return
        after = ["--after", first.split("(next: --after ")[1].rstrip(")")]
    pytest.fail("the pages never ended")


@pytest.mark.parametrize(("args", "message"), [
    (["assets", "list", "--unit", "hz-jx"], "unknown unit 'hz-jx' (did you mean 'hz-jw'?)"),
    (["assets", "list", "--after", "127.0.1.2"],
     "--after '127.0.1.2' is not UNIT/ADDRESS (e.g. hz-jw/127.0.0.50)"),
    (["assets", "list", "--after", "hz-jx/127.0.1.2"],
     "unknown unit 'hz-jx' (did you mean 'hz-jw'?)"),
    (["scan", "list", "--unit", "nb-gj"], "unknown unit 'nb-gj' (did you mean 'nb-gjj'?)"),
    (["scan", "list", "--after", "99999"], "no scan run 99999"),
    (["scan", "show", "99999"], "no scan run 99999"),
    (["scan", "show", "{run1}", "--after", "99999"],
     "--after 99999: change 99999 is not in this list"),
    (["scan", "diff", "{run1}", "{imported}"],
     "runs {run1} (hz-jw) and {imported} (hz-cg) are of different units"),
    (["scan", "diff", "{run1}", "99999"], "no scan run 99999"),
])
def test_steps_aside_and_the_full_path_explains(
        cli: CliRunner, province: Province, answered: list[bool],
        monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    fast, full = both_ways(cli, monkeypatch, province, args)
    assert answered == [False]
    assert fast == full
    assert fast.code != 0
    assert fast.err.splitlines()[0] == "error: " + message.format(**province.ids)


def test_a_schema_of_another_version_is_the_full_paths_to_explain(
        cli: CliRunner, province: Province, answered: list[bool]) -> None:
    engine = sa.create_engine(province.settings.db)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0006_observations'"))
    engine.dispose()
    result = cli("assets", "list", db_url=province.settings.db)
    assert answered == [False]
    assert result.code != 0
    assert "0006_observations" in result.err and "garrison init" in result.err


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_scan_list_leaves_a_crashed_run_to_the_full_path(
        cli: CliRunner, province: Province, answered: list[bool]) -> None:
    """``scan list`` first marks runs whose process died as interrupted (a write)."""
    import json
    import os

    with write_session(province.settings) as session:
        for pid in (_dead_pid(), os.getpid()):
            session.add(ScanRun(unit_id=1, kind=RunKind.scan, profile="quick", actor="t",
                                status=ScanStatus.running, started_at=SEEN, observed_at=SEEN,
                                hostname=socket.gethostname(), pid=pid))
    first = json.loads(cli("scan", "list", "--json", db_url=province.settings.db).out)
    assert answered == [False]
    assert [r["status"] for r in first[:2]] == ["running", "interrupted"]
    again = json.loads(cli("scan", "list", "--json", db_url=province.settings.db).out)
    assert answered == [False, True]  # nothing left to recover; the live one is no reason
    assert again == first


@pytest.mark.parametrize("args", [
    ["assets", "list", "--unit", "hz-jw", "--service", "tcp/22"],
    ["assets", "list", "--json", "--after", "hz-jw/10.0.0.1"],
    ["scan", "show", "{run1}"],
    ["scan", "list"],
    ["scan", "diff", "{run2}", "{run3}"],
], ids=" ".join)
def test_a_whole_process_lists_without_the_orm(
        cli: CliRunner, province: Province, monkeypatch: pytest.MonkeyPatch,
        args: list[str]) -> None:
    """What makes the first page fast: no SQLAlchemy, SQLModel, pydantic or
    pydantic-settings (Typer's own conversion would load pydantic: the plain options
    skip it, ``garrison.cli.coercion``; ``tests/test_layout.py`` checks the same for
    ``findings list``)."""
    argv = ["garrison", "--db", province.settings.db, *(a.format(**province.ids) for a in args)]
    db.dispose_engines()
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom garrison.cli.main import main\n"
         f"sys.argv = {argv!r}\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\n"
         "heavy = {'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'pydantic_settings',"
         " 'textual'}\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"],
        capture_output=True, text=True, check=True)
    assert child.stderr.strip() == "[]"
    monkeypatch.setenv("GARRISON_NO_QUICK", "1")
    assert child.stdout == cli(*argv[3:], db_url=province.settings.db).out


def test_the_quick_modules_load_no_orm_and_no_pydantic() -> None:
    """``scanner.quick`` and what it prints with load the standard library, the driver
    and rich only (``python -X importtime -c 'import scanner.quick'`` says the same)."""
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys\nimport scanner.quick, scanner.render, scanner.listing_sql\n"
         "heavy = {'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'pydantic_settings',"
         " 'psycopg', 'rich'}\n"
         "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"],
        capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "[]"  # psycopg only for PostgreSQL, rich only to print
