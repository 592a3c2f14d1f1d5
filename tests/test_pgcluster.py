"""The throwaway PostgreSQL server of ``make test`` (tests/pgcluster.py), for real: it
starts, serves the role the suite uses, passes the command's status through, and leaves
nothing behind however the command ends; without a server the suite says so once."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO
from tests.pgcluster import (
    BINDIR_ENV,
    OWNER_FILE,
    PG_ENV,
    PROGRAMS,
    REQUIRE_ENV,
    SKIP_ENV,
    Cluster,
    ClusterError,
    find_bindir,
    make_root,
    reap_orphans,
    server_account,
    throwaway_cluster,
)
from tests.waiting import wait_for

CHILD_SAYS = ("import os; print(*(os.environ.get(k) for k in ('GARRISON_TEST_PG', "
              "'GARRISON_TEST_REQUIRE_PG', 'GARRISON_TEST_PG_SKIP')))")


@pytest.fixture
def programs() -> Path:
    """The real server programs; without them these tests skip (and fail on CI)."""
    try:
        return find_bindir()
    except ClusterError as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (PG_ENV, REQUIRE_ENV, SKIP_ENV, BINDIR_ENV)}
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _helper(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.pgcluster", "--", *command], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def _started_dir(stderr: str) -> Path:
    match = re.search(r"started on 127\.0\.0\.1:\d+ in [\d.]+ s \((\S+), removed", stderr)
    assert match, stderr
    return Path(match.group(1))


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _gone(pid: int) -> bool:
    """The process has ended (a zombie not yet reaped by init counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# ------------------------------------------------------------------ finding the programs


def _install(directory: Path, names: tuple[str, ...] = PROGRAMS) -> Path:
    directory.mkdir(parents=True)
    for name in names:
        (directory / name).write_text("#!/bin/sh\n")
        (directory / name).chmod(0o755)
    return directory


def test_programs_come_from_the_chosen_dir_then_path_then_the_newest_debian_dir(
    tmp_path: Path,
) -> None:
    debian = tmp_path / "debian"
    _install(debian / "13" / "bin")
    newest_complete = _install(debian / "15" / "bin")
    _install(debian / "16" / "bin", PROGRAMS[:-1])  # 16 without psql
    on_path = _install(tmp_path / "path")
    assert find_bindir({"PATH": str(on_path)}, debian) == on_path
    assert find_bindir({"PATH": str(tmp_path / "none")}, debian) == newest_complete
    chosen = _install(tmp_path / "chosen")
    assert find_bindir({BINDIR_ENV: str(chosen), "PATH": str(on_path)}, debian) == chosen
    with pytest.raises(ClusterError) as caught:
        find_bindir({BINDIR_ENV: str(debian / "16" / "bin")}, debian)
    assert str(caught.value) == f"{BINDIR_ENV}={debian / '16' / 'bin'} lacks psql"
    with pytest.raises(ClusterError) as caught:
        find_bindir({"PATH": ""}, tmp_path / "nothing")
    assert str(caught.value) == (
        "no PostgreSQL server programs (initdb, pg_ctl, postgres, psql) on PATH or in "
        f"{tmp_path / 'nothing'}/*/bin; install them (apt-get install postgresql) or set "
        "GARRISON_TEST_PG")


# ------------------------------------------------------------------ the real server


def test_a_server_serves_the_suites_role_and_leaves_nothing_behind(programs: Path) -> None:
    with throwaway_cluster(programs) as cluster:
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        engine = sa.create_engine(cluster.url)
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT current_user, rolsuper, rolcreatedb, current_setting('fsync'), "
                "current_setting('server_encoding') FROM pg_roles "
                "WHERE rolname = current_user")).one()
        engine.dispose()
        assert tuple(row) == ("garrison", False, True, "off", "UTF8")
        if os.geteuid() == 0:  # initdb and postgres refuse root: the postgres user runs it
            assert cluster.account is not None
            assert cluster.root.stat().st_uid == cluster.account.pw_uid
    assert not cluster.root.exists()
    assert _refused(cluster.port)
    wait_for(lambda: _gone(pid), timeout=10)  # pg_ctl -w returns as the server exits


def test_a_failure_inside_still_removes_the_server(programs: Path) -> None:
    with pytest.raises(RuntimeError), throwaway_cluster(programs) as cluster:
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        raise RuntimeError("a test run that blew up")
    assert not cluster.root.exists()
    wait_for(lambda: _gone(pid), timeout=10)


def test_a_server_whose_helper_was_killed_is_removed_by_the_next_run(
    programs: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGKILL cannot be caught: the next helper stops and removes what the killed one
    left, and leaves alone the servers of helpers still running (this test's own)."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    account = server_account()
    left = Cluster(programs, make_root(account), account)
    (left.root / OWNER_FILE).write_text(f"{ended.pid}\n")  # its helper is gone
    try:
        left.initdb()
        left.start()
        pid = int((left.data / "postmaster.pid").read_text().split()[0])
        with throwaway_cluster(programs) as running:
            assert not left.root.exists()
            assert reap_orphans(programs, account) == []  # a running helper's: kept
            assert running.root.exists()
        assert capsys.readouterr().err == (
            f"pgcluster: removed a server left behind by a killed run: {left.root}\n")
        assert _refused(left.port)
        wait_for(lambda: _gone(pid), timeout=10)
    finally:
        left.stop()
        shutil.rmtree(left.root, ignore_errors=True)


def test_the_command_gets_the_server_and_its_exit_status_is_kept(programs: Path) -> None:
    del programs
    done = _helper(sys.executable, "-c", f"{CHILD_SAYS}; raise SystemExit(3)", env=_env())
    assert done.returncode == 3
    url, require, skip = done.stdout.split()
    assert re.fullmatch(r"postgresql\+psycopg://garrison:[0-9a-f]{32}@127\.0\.0\.1:\d+/postgres",
                        url)
    assert (require, skip) == ("1", "None")
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and lines[1].startswith(
        "pgcluster: stopped the server and removed its directory in ")
    assert not _started_dir(done.stderr).exists()


def test_a_server_already_given_is_used_as_it_is() -> None:
    given = "postgresql+psycopg://someone:pw@db.example:5433/postgres"
    done = _helper(sys.executable, "-c", CHILD_SAYS, env=_env(GARRISON_TEST_PG=given))
    assert done.returncode == 0
    assert done.stdout.split() == [given, "None", "None"]
    assert done.stderr == ""


def test_without_programs_the_command_runs_and_is_told_why(tmp_path: Path) -> None:
    empty = tmp_path / "no-postgres"
    empty.mkdir()
    done = _helper(sys.executable, "-c", CHILD_SAYS, env=_env(GARRISON_TEST_PG_BINDIR=str(empty)))
    assert done.returncode == 0
    reason = f"{BINDIR_ENV}={empty} lacks initdb, pg_ctl, postgres, psql"
    assert done.stderr.splitlines() == [
        f"pgcluster: no PostgreSQL server, so the PostgreSQL tests are left out: {reason}"]
    assert done.stdout == f"None None {reason}\n"


@pytest.fixture
def waiting_helper(programs: Path) -> Iterator[subprocess.Popen[str]]:
    del programs
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.pgcluster", "--", sys.executable, "-c",
         "import time; print('ready', flush=True); time.sleep(120)"],
        cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_sigterm_reaches_the_command_and_the_server_is_removed(
    waiting_helper: subprocess.Popen[str],
) -> None:
    assert waiting_helper.stdout is not None
    assert waiting_helper.stdout.readline() == "ready\n"
    waiting_helper.send_signal(signal.SIGTERM)
    assert waiting_helper.wait(timeout=60) == 128 + signal.SIGTERM
    stderr = waiting_helper.stderr.read() if waiting_helper.stderr else ""
    root = _started_dir(stderr)
    wait_for(lambda: not root.exists(), timeout=5)


# ------------------------------------------------------------------ what the suite says


PG_AND_SQLITE = ["tests/garrison/test_db.py::test_empty_postgres_database_is_initialised",
                 "tests/garrison/test_settings.py::test_environment_and_explicit_values"]


def _pytest(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           *PG_AND_SQLITE], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_without_a_server_the_suite_says_why_once_instead_of_skipping_each_test() -> None:
    done = _pytest(_env(GARRISON_TEST_PG_SKIP="no server here"))
    assert done.returncode == 0, done.stdout
    assert "PostgreSQL: none: no server here" in done.stdout.splitlines()
    assert done.stdout.count("no server here") == 2  # the header, and the one line at the end
    assert "1 PostgreSQL test left out: no server here" in done.stdout.splitlines()
    assert "SKIPPED" not in done.stdout
    assert "1 passed, 1 deselected" in done.stdout


def test_a_required_server_that_is_missing_stops_the_run() -> None:
    done = _pytest(_env(GARRISON_TEST_REQUIRE_PG="1"))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert ("Exit: GARRISON_TEST_REQUIRE_PG=1 but GARRISON_TEST_PG is not set (`make test` "
            "starts a throwaway server: docs/storage.md)") in done.stdout
