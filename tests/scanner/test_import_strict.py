"""Imports are strict and say what they did; signals stop them cleanly.

Each test here failed on the code before issue 11: a host with a broken address was
"skipped outside the scopes" and the rest stored; a file for the wrong unit wrote an
empty run; Ctrl-C during an import left a traceback and nothing said how far it got;
a prolog over 1 MiB said "no XML root element found".
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from garrison.errors import DocumentError
from garrison.settings import Settings
from garrison.signals import signals_deferred
from scanner.importer import ImportRefused, import_xml
from scanner.nmap_xml import NmapXmlError, NmapXmlReader
from tests.conftest import FIXTURES, CliRunner
from tests.garrison.helpers import import_file, snapshot

NMAP = FIXTURES / "nmap"
GARRISON = str(Path(sys.executable).with_name("garrison"))
BENCH_ORG = """units:
  - code: bench-unit
    name: 基准测试单位
    level: unit
    officer: {name: 测试员}
    scopes: [{cidr: 10.20.0.0/16, authorized_by: BENCH}]
"""


@pytest.fixture
def org(settings: Settings) -> Settings:
    import_file(settings, FIXTURES / "org" / "good_small.yaml")
    return settings


def _inventory(settings: Settings) -> dict[str, object]:
    return {k: v for k, v in snapshot(settings).items() if k != "auditevent"}


def _with_address(tmp_path: Path, address: str, name: str = "bad.xml") -> Path:
    text = (NMAP / "two_hosts_sv.xml").read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_text(text.replace('addr="127.0.1.11"', f'addr="{address}"'), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if needle in line)


@pytest.mark.parametrize("address", ["999.0.1.10", "IP", "127.0.1", "010.0.1.11"])
def test_a_broken_address_rejects_the_whole_file_with_its_line(
        org: Settings, tmp_path: Path, address: str) -> None:
    path = _with_address(tmp_path, address)
    before = _inventory(org)
    with pytest.raises(DocumentError) as err:
        import_xml(org, path=path, unit_code="hz-jw")
    line = _line_of(path, f'addr="{address}"')
    assert err.value.message == (
        f"{path}:{line}: host 2: {address!r} is not an IPv4 or IPv6 address")
    assert err.value.hint is not None and err.value.hint.startswith("Nothing was imported.")
    assert _inventory(org) == before  # the good host is not stored either, no run


def test_the_cli_names_the_line_and_exits_1(org: Settings, tmp_path: Path,
                                            cli: CliRunner) -> None:
    path = _with_address(tmp_path, "999.0.1.10")
    result = cli("scan", "import", str(path), "--unit", "hz-jw", db_url=org.db)
    assert result.code == 1
    line = _line_of(path, 'addr="999.0.1.10"')
    assert result.err.startswith(
        f"error: {path}:{line}: host 2: '999.0.1.10' is not an IPv4 or IPv6 address\n")
    assert "Traceback" not in result.err


def test_no_host_in_scope_writes_no_run_and_names_the_right_unit(
        org: Settings, cli: CliRunner) -> None:
    before = _inventory(org)
    with pytest.raises(ImportRefused) as err:
        import_xml(org, path=NMAP / "two_hosts_sv.xml", unit_code="zj-jst")
    assert err.value.message == (
        f"none of the 2 hosts in {NMAP / 'two_hosts_sv.xml'} lies in zj-jst's active scopes; "
        "nothing was imported")
    assert err.value.hint == "Authorised for hz-jw (2 of them): did you mean --unit hz-jw?"
    assert _inventory(org) == before
    result = cli("scan", "import", str(NMAP / "two_hosts_sv.xml"), "--unit", "zj-jst",
                 db_url=org.db)
    assert result.code == 1 and "did you mean --unit hz-jw?" in result.err


def test_addresses_nobody_authorised_say_so(org: Settings, tmp_path: Path) -> None:
    path = tmp_path / "far.xml"
    path.write_text((NMAP / "two_hosts_sv.xml").read_text(encoding="utf-8")
                    .replace("127.0.1.1", "10.77.0.1"), encoding="utf-8")
    with pytest.raises(ImportRefused) as err:
        import_xml(org, path=path, unit_code="hz-jw")
    assert err.value.hint == ("No unit's active scopes hold those addresses: `garrison scope "
                              "list` shows what is authorised.")


def test_a_file_with_no_host_is_refused(org: Settings, tmp_path: Path) -> None:
    text = (NMAP / "two_hosts_sv.xml").read_text(encoding="utf-8")
    path = tmp_path / "empty.xml"
    path.write_text(text[:text.index("<host ")] + "<runstats><finished time=\"1\"/>"
                    "</runstats></nmaprun>\n", encoding="utf-8")
    with pytest.raises(ImportRefused, match=r"empty.xml lists no host; nothing was imported"):
        import_xml(org, path=path, unit_code="hz-jw")


def test_a_prolog_over_1_mib_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "padded.xml"
    text = (NMAP / "two_hosts_sv.xml").read_text(encoding="utf-8")
    head, _sep, rest = text.partition("<nmaprun ")
    path.write_text(head + "<!-- " + "x" * (1024 * 1024 + 10) + " -->\n<nmaprun " + rest,
                    encoding="utf-8")
    with pytest.raises(NmapXmlError) as err:
        list(NmapXmlReader(path).hosts())
    assert err.value.message == (
        f"{path}: no root element in the first 1 MiB: the prolog (what comes before "
        "<nmaprun>) is far longer than nmap ever writes; refused")


def test_signals_in_the_final_commit_are_reported_not_obeyed() -> None:
    arrived: list[int] = []
    with signals_deferred(arrived):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # both pending, neither delivered
    assert arrived == [signal.SIGINT, signal.SIGTERM]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    with pytest.raises(KeyboardInterrupt):  # and Ctrl-C works again afterwards
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


# ------------------------------------------------------------------ signals, end to end


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, str]:
    """A 20,000-host file and a database whose unit authorised its /16."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.gen_nmap_xml import generate

    xml = tmp_path / "big.xml"
    generate(xml, 20_000)
    org = tmp_path / "org.yaml"
    org.write_text(BENCH_ORG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'g.db'}"
    subprocess.run([GARRISON, "--db", url, "org", "import", str(org)], check=True,
                   capture_output=True)
    return xml, url


def _import(xml: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([GARRISON, "--db", url, "scan", "import", str(xml), "--unit",
                             "bench-unit"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(Path(f"/proc/{pid}/fd/{fd}").resolve() == path.resolve()
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10) as conn:
        return conn.execute(sql).fetchall()


def _wait_for_stored_hosts(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        rows = _query(url, "SELECT hosts_done FROM scanrun WHERE status = 'running'")
        if rows and int(rows[0][0]) > 0:  # type: ignore[call-overload]
            return
        time.sleep(0.05)
    raise AssertionError("the import never started storing")


@pytest.mark.parametrize(("sig", "code", "how"), [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                                  (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_while_storing_keeps_whole_batches_and_says_how_far(
        big: tuple[Path, str], sig: int, code: int, how: str) -> None:
    xml, url = big
    proc = _import(xml, url)
    _wait_for_stored_hosts(url, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and err.strip().endswith("interrupted")
    ((status, done, error),) = _query(url, "SELECT status, hosts_done, error FROM scanrun")
    assert status == "interrupted"
    assert error == f"{how} after storing {done} of 20000 hosts; import the file again to " \
                    "complete it"
    assert _query(url, "SELECT count(*) FROM asset") == [(done,)]  # whole batches only
    # the same file again completes it; nothing is stored twice
    again = _import(xml, url)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert _query(url, "SELECT count(*) FROM asset") == [(20_000,)]
    assert _query(url, "SELECT count(*), count(DISTINCT fingerprint) FROM finding") == [
        (100_000, 100_000)]


def test_a_signal_while_reading_writes_nothing(big: tuple[Path, str]) -> None:
    xml, url = big
    proc = _import(xml, url)
    deadline = time.monotonic() + 30
    while not _has_open(proc.pid, xml) and time.monotonic() < deadline:
        time.sleep(0.01)  # until it reads the file (it reads it whole before storing)
    assert _query(url, "SELECT count(*) FROM scanrun") == [(0,)]
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err
    assert _query(url, "SELECT count(*) FROM scanrun") == [(0,)]
    assert _query(url, "SELECT count(*) FROM asset") == [(0,)]
