"""``garrison findings ...`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CliRunner
from tests.garrison.conftest import Known


def test_list_defaults_to_active_and_filters(cli: CliRunner, known: Known) -> None:
    db = known.settings.db
    rows = json.loads(cli("findings", "list", "--json", db_url=db).out)
    assert len(rows) == 7 and {r["status"] for r in rows} == {"open"}
    assert cli("findings", "set-status", str(known.ids["old-low"]), "fixed", db_url=db).code == 0
    active = json.loads(cli("findings", "list", "--json", db_url=db).out)
    assert len(active) == 6
    everything = json.loads(cli("findings", "list", "--all", "--json", db_url=db).out)
    assert len(everything) == 7
    hz_critical = json.loads(cli("findings", "list", "--unit", "hz-jw", "-s", "critical",
                                 "--json", db_url=db).out)
    assert [r["id"] for r in hz_critical] == [known.ids["level3-critical"],
                                              known.ids["plain-critical"]]
    assert json.loads(cli("findings", "list", "--owner", "李娜", "--unit", "zj-jst",
                          "--source", "manual", "--json", db_url=db).out)
    page = json.loads(cli("findings", "list", "-n", "2", "--after", "1", "--json",
                          db_url=db).out)
    assert [r["id"] for r in page] == [2, 4]  # 3 (old-low) is fixed: not active


def test_bad_filters_say_what_to_use(cli: CliRunner, known: Known) -> None:
    result = cli("findings", "list", "--severity", "hihg", db_url=known.settings.db)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: unknown severity 'hihg' (did you mean 'high'?)",
        "Use one of: critical, high, medium, low, info."]
    result = cli("findings", "list", "--since", "last week", db_url=known.settings.db)
    assert result.err.splitlines()[0] == ("error: --since: 'last week' is not a date; write "
                                          "YYYY-MM-DD")


def test_show_has_history_and_evidence(cli: CliRunner, known: Known) -> None:
    fid = known.ids["old-high"]
    db = known.settings.db
    cli("findings", "assign", str(fid), "张伟", "--note", "运维组", db_url=db)
    cli("findings", "note", str(fid), "已联系供应商", db_url=db)
    cli("findings", "set-status", str(fid), "in_progress", db_url=db)
    shown = json.loads(cli("findings", "show", str(fid), "--json", db_url=db).out)
    assert (shown["owner"], shown["status"], shown["overdue"]) == ("张伟", "in_progress", True)
    assert [(h["kind"], h["to"]) for h in shown["history"]] == [
        ("status", "open"), ("assign", "open"), ("note", "open"), ("status", "in_progress")]
    assert shown["evidence"] == {"recorded_by": "tester"}
    text = cli("findings", "show", str(fid), db_url=db)
    assert text.code == 0 and "已联系供应商" in text.out


def test_refused_transition_exit_code_and_message(cli: CliRunner, known: Known) -> None:
    fid = known.ids["fresh-high"]
    result = cli("findings", "set-status", str(fid), "verified", db_url=known.settings.db)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"error: finding {fid} is open; it cannot move to verified",
        "From open it can move to: in_progress, fixed, accepted_risk, false_positive."]
    accept = cli("findings", "set-status", str(fid), "accepted_risk", "--reason", "等补丁",
                 "--approver", "王强", "--until", "2027-06-30", db_url=known.settings.db)
    assert accept.code == 0 and accept.out.strip() == f"Finding {fid} is now accepted_risk."


def test_add_a_finding_by_hand(cli: CliRunner, known: Known) -> None:
    result = cli("findings", "add", "--unit", "hz-jw", "--asset", "127.0.1.10", "--port",
                 "tcp/22", "--title", "弱口令: root/123456", "--severity", "critical",
                 "--cwe", "CWE-521", "--json", db_url=known.settings.db)
    assert result.code == 0, result.err
    added = json.loads(result.out)
    shown = json.loads(cli("findings", "show", str(added["id"]), "--json",
                           db_url=known.settings.db).out)
    assert (shown["owner"], shown["port"], shown["cwe"]) == ("李娜", 22, "CWE-521")
    assert added["due_at"].startswith(shown["first_seen"][:4])  # due in 4 days (MLPS 3)


def test_summary_json(cli: CliRunner, known: Known) -> None:
    table = json.loads(cli("findings", "summary", "--json", db_url=known.settings.db).out)
    assert [u["unit"] for u in table["units"]][0] == "hz-jw"
    hz = table["units"][0]
    assert hz["active"]["critical"] == 2 and hz["active_total"] == 6


def test_list_answers_the_same_with_and_without_the_quick_path(
        cli: CliRunner, known: Known, monkeypatch: pytest.MonkeyPatch) -> None:
    db = known.settings.db
    cases = [["--json"], ["--unit", "hz-jw", "--overdue", "--json"], ["-n", "2"],
             ["--all", "--text", "点我"], ["--unit", "hz-jw", "-s", "critical,high"],
             ["--status", "fixed"]]
    import garrison.findings.quick as quick_module

    answered: list[bool] = []
    real = quick_module.quick_list

    def spy(*args: object, **kwargs: object) -> object:
        page = real(*args, **kwargs)  # type: ignore[arg-type]
        answered.append(page is not None)
        return page

    monkeypatch.setattr(quick_module, "quick_list", spy)
    quick = [cli("findings", "list", *args, db_url=db) for args in cases]
    assert answered == [True] * len(cases)  # the quick path answered every one
    monkeypatch.setenv("GARRISON_NO_QUICK", "1")
    full = [cli("findings", "list", *args, db_url=db) for args in cases]
    assert [(r.code, r.out, r.err) for r in quick] == [(r.code, r.out, r.err) for r in full]
    assert "2 of 7 shown; next page: --after 2" in quick[2].out
    assert quick[5].out == "No findings match.\n"


def test_list_of_an_unknown_unit_suggests_the_nearest(cli: CliRunner, known: Known) -> None:
    result = cli("findings", "list", "--unit", "hz-jx", db_url=known.settings.db)
    assert result.code == 1
    assert result.err.splitlines()[0] == "error: unknown unit 'hz-jx' (did you mean 'hz-jw'?)"


def test_demo_step_shows_the_league_table_and_the_policy(known: Known) -> None:
    import io

    from rich.console import Console

    from garrison.cli.findings_demo import run_demo

    buffer = io.StringIO()
    run_demo(known.settings, Console(file=buffer, width=200))
    text = buffer.getvalue()
    lines = [line for line in text.splitlines() if "hz-jw" in line or "zj-jst" in line]
    assert [line.split("│")[1].strip() for line in lines[:2]] == ["hz-jw", "zj-jst"]
    assert ("Deadlines: critical 7d, high 30d, medium 90d, low 180d; x0.5 (rounded up) for "
            "MLPS level 3 and above") in text
