"""Scans never start a scanner for a refused target; interrupts keep finished batches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlmodel import select

from garrison.db import read_session
from garrison.models import ScanRun, ScanStatus
from garrison.settings import Settings
from scanner.privilege import raw_sockets_allowed
from scanner.scan import ScanRequest, plan_scan, run_scan
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import count, import_file, load_demo_org
from tests.scanner.fakes import FakeScanner, fake_nmap, nmap_xml
from tests.waiting import wait_for

TRICKS = ["127.0.1.1/0", "2130706433", "0177.0.1.1", "::ffff:127.0.1.1", "-oN/etc/x",
          "--script=http-shellshock", "127.0.2.1", "localhost"]


@pytest.fixture
def org(settings: Settings) -> Settings:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    return settings


@pytest.mark.parametrize("trick", TRICKS)
def test_a_refused_target_starts_no_scanner(
    cli: CliRunner, org: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trick: str
) -> None:
    script, record = fake_nmap(tmp_path)
    monkeypatch.setenv("GARRISON_NMAP", str(script))
    discovered: list[object] = []

    def record_probe(*args: object, **_kwargs: object) -> list[object]:
        discovered.append(args)
        return []

    monkeypatch.setattr("scanner.discovery.ScapyDiscovery.discover", record_probe)
    for profile in ("quick", "discovery"):
        result = cli("scan", "run", "--unit", "hz-jw", "--profile", profile,
                     f"--target={trick}", db_url=org.db)
        assert result.code == 4, result.err
        assert result.err.startswith(f"error: refused '{trick}' for hz-jw: ")
        assert "Nothing was sent." in result.err
    assert not record.exists()  # the fake nmap never ran, not even `nmap -V`
    assert discovered == []  # and scapy never sent a probe
    assert count(org, ScanRun) == 0
    log = json.loads(cli("audit", "log", "--action", "scope.refused", "--json",
                         db_url=org.db).out)
    assert [e["payload"]["target"] for e in log] == [trick, trick]


def test_a_unit_without_an_active_scope_is_refused(cli: CliRunner, settings: Settings,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    load_demo_org(settings)  # ls-yl's only authorisation expired at the end of 2025
    script, record = fake_nmap(tmp_path)
    monkeypatch.setenv("GARRISON_NMAP", str(script))
    result = cli("scan", "run", "--unit", "ls-yl", db_url=settings.db)
    assert result.code == 1
    assert result.err.splitlines() == [
        "error: ls-yl has no active authorised scope to scan",
        "`garrison scope list --unit ls-yl` shows its scopes and their dates."]
    assert not record.exists()


def test_dry_run_prints_the_exact_command_and_sends_nothing(
    cli: CliRunner, org: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, record = fake_nmap(tmp_path)
    monkeypatch.setenv("GARRISON_NMAP", str(script))
    result = cli("scan", "run", "--unit", "hz-jw", "--target", "127.0.1.0/23",
                 "--target", "127.0.1.7", "--profile", "standard", "--rate", "300",
                 "--dry-run", db_url=org.db)
    assert result.code == 4  # 127.0.0.0/24 half is outside: refused even in a dry run
    result = cli("scan", "run", "--unit", "hz-jw", "--target", "127.0.1.0/24",
                 "--profile", "standard", "--rate", "300", "--batch-size", "128", "--dry-run",
                 db_url=org.db)
    assert result.code == 0, result.err
    from scanner.ports import port_arguments

    technique = "-sS" if raw_sockets_allowed() else "--unprivileged -sT"
    ports = " ".join(port_arguments(1000))
    assert "6379" in ports  # redis is not in nmap's top 1000, but we scan it
    args = (f"{technique} {ports} -sV --script=ftp-anon,http-title,ssl-cert -T4 "
            "--max-retries 2 --host-timeout 15m -n --max-rate 150 -oX - --")  # 2 runs share 300
    assert result.out.splitlines()[2:] == [f"{script} {args} 127.0.1.0/25",
                                          f"{script} {args} 127.0.1.128/25"]
    assert not record.exists() and count(org, ScanRun) == 0


def _answer(targets: Sequence[str]) -> bytes:
    base = targets[0].split("/")[0].rsplit(".", 1)[0]
    first = int(targets[0].split("/")[0].rsplit(".", 1)[1])
    return nmap_xml([(f"{base}.{first + i}", [(22, "ssh")]) for i in range(2)], "22,80")


def test_ctrl_c_keeps_the_finished_batches_and_marks_the_run(org: Settings) -> None:
    calls = 0

    def answer(targets: Sequence[str]) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return _answer(targets)

    plan = plan_scan(org, ScanRequest(unit="hz-jw", targets=["127.0.1.0/29"], batch_size=2))
    assert len(plan.batches) == 4
    with pytest.raises(KeyboardInterrupt):
        run_scan(org, plan, scanner=FakeScanner(answer))
    with read_session(org) as session:
        (run,) = session.exec(select(ScanRun)).all()
    assert run.status is ScanStatus.interrupted
    assert (run.batches_done, run.batches_total, run.hosts_up) == (1, 4, 2)
    assert run.error == "interrupted (Ctrl-C) after 1 of 4 batches; those are stored"
    from garrison.models import Asset

    assert count(org, Asset) == 2  # batch one, whole; nothing of batch two


def test_a_failing_batch_marks_the_run_failed(org: Settings) -> None:
    from scanner.backends import ScanError

    def answer(_targets: Sequence[str]) -> bytes:
        raise ScanError("nmap exited with status 1: something broke")

    plan = plan_scan(org, ScanRequest(unit="hz-jw", targets=["127.0.1.0/30"]))
    with pytest.raises(ScanError):
        run_scan(org, plan, scanner=FakeScanner(answer))
    with read_session(org) as session:
        (run,) = session.exec(select(ScanRun)).all()
    assert (run.status, run.error) == (ScanStatus.failed,
                                       "nmap exited with status 1: something broke")


def _default_sigint() -> None:
    """A shell runs background jobs with SIGINT ignored, and children inherit that; a
    terminal user's Ctrl-C is what these tests stand for, so give the child the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _garrison(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("garrison")
    return subprocess.Popen([str(script), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _scanning_pid(record: Path) -> int | None:
    if not record.exists():
        return None
    for line in record.read_text().splitlines():
        pid, _sep, args = line.partition(" ")
        if not args.startswith("-V"):
            return int(pid)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(("sig", "code", "how"), [
    (signal.SIGINT, 130, "interrupted (Ctrl-C)"),
    (signal.SIGTERM, 143, "terminated (SIGTERM)"),  # kill, systemctl stop
])
def test_a_signal_stops_nmap_and_marks_the_run_interrupted(
    sqlite_settings: Settings, tmp_path: Path, sig: signal.Signals, code: int, how: str
) -> None:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    script, record = fake_nmap(tmp_path)
    env = {**os.environ, "GARRISON_DB": sqlite_settings.db, "GARRISON_NMAP": str(script)}
    proc = _garrison("scan", "run", "--unit", "hz-jw", "--target", "127.0.1.0/30", env=env)
    wait_for(lambda: _scanning_pid(record) is not None)
    nmap_pid = _scanning_pid(record)
    assert nmap_pid is not None
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "interrupted: the run is marked interrupted" in err
    wait_for(lambda: not _alive(nmap_pid), timeout=10)  # nmap did not outlive us
    with read_session(sqlite_settings) as session:
        (run,) = session.exec(select(ScanRun)).all()
    assert run.status is ScanStatus.interrupted
    assert run.error == f"{how} after 0 of 1 batches; those are stored"


def test_a_killed_scan_is_recovered_as_interrupted(
    cli: CliRunner, sqlite_settings: Settings, tmp_path: Path
) -> None:
    import_file(sqlite_settings, FIXTURES / "org" / "good_small.yaml")
    script, record = fake_nmap(tmp_path)
    env = {**os.environ, "GARRISON_DB": sqlite_settings.db, "GARRISON_NMAP": str(script)}
    proc = _garrison("scan", "run", "--unit", "hz-jw", "--target", "127.0.1.0/30", env=env)
    wait_for(lambda: _scanning_pid(record) is not None)
    proc.kill()  # no chance to clean up: a crash
    proc.communicate(timeout=10)
    nmap_pid = _scanning_pid(record)
    assert nmap_pid is not None
    wait_for(lambda: not _alive(nmap_pid), timeout=2)  # the kernel killed it with us
    with read_session(sqlite_settings) as session:
        assert session.exec(select(ScanRun)).one().status is ScanStatus.running
    runs = json.loads(cli("scan", "list", "--json", db_url=sqlite_settings.db).out)
    assert runs[0]["status"] == "interrupted"
    assert "ended without finishing it" in runs[0]["error"]
