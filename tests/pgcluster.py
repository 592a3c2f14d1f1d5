"""A throwaway PostgreSQL server for the test suite: ``python -m tests.pgcluster -- CMD``.

Why: a new user's ``make test`` skipped the 240 PostgreSQL tests, because only
``.ci/run`` started a server. ``make pytest`` (and so ``make test``) now runs pytest
through this module, which:

1. with ``GARRISON_TEST_PG`` already set (``.ci/run`` sets it), runs CMD unchanged;
2. otherwise finds the server programs (``initdb``, ``pg_ctl``, ``postgres``, ``psql``) in
   ``GARRISON_TEST_PG_BINDIR``, on PATH or in the newest ``/usr/lib/postgresql/N/bin``
   (Debian; ``make system-deps`` installs them with apt when run as root), creates a
   temporary directory, runs ``initdb`` there, starts the server on a free port of
   127.0.0.1 with its socket in that directory (``fsync`` off: nothing in it outlives the
   run), creates the role ``garrison`` (LOGIN CREATEDB, not superuser, as on CI) with a
   random password, and runs CMD with ``GARRISON_TEST_PG`` pointing at it and
   ``GARRISON_TEST_REQUIRE_PG=1``;
3. stops the server and removes the directory afterwards, also when CMD fails or is
   interrupted (Ctrl-C reaches CMD through the terminal; SIGTERM and SIGHUP are passed
   on to it); the exit status is CMD's. A helper killed outright (SIGKILL) cannot clean
   up: the next one stops and removes the servers whose helper is gone;
4. when no server can be had (no programs, a start that fails), prints why in one line,
   sets ``GARRISON_TEST_PG_SKIP`` to the reason and runs CMD: the suite leaves the
   PostgreSQL tests out and says so once (``tests/conftest.py``).

``initdb`` and ``postgres`` refuse to run as root: as root, the server runs as the
``postgres`` user, which owns the directory. The server is started without
``LD_PRELOAD``/``FAKETIME``, so ``faketime ... pytest`` under this module moves only the
tests' clock, never the server's (Garrison never asks the server for the time).

Standard library only: it runs before anything else is known to work.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

PG_ENV = "GARRISON_TEST_PG"
REQUIRE_ENV = "GARRISON_TEST_REQUIRE_PG"
SKIP_ENV = "GARRISON_TEST_PG_SKIP"
BINDIR_ENV = "GARRISON_TEST_PG_BINDIR"
PROGRAMS = ("initdb", "pg_ctl", "postgres", "psql")
ROLE = "garrison"
SERVER_USER = "postgres"
START_TIMEOUT_S = 60
#: Settings for a server whose data is thrown away: no durability, fast start.
SERVER_OPTIONS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                  "max_connections": "200", "listen_addresses": "127.0.0.1"}
#: What faketime (and other preloads) set; the server must not inherit them.
UNFAKED = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC", "FAKETIME_NO_CACHE",
           "DONT_FAKE_MONOTONIC")


class ClusterError(Exception):
    """No throwaway server could be had; the message says why, in one line."""


def say(message: str) -> None:
    sys.stderr.write(f"pgcluster: {message}\n")
    sys.stderr.flush()


# ------------------------------------------------------------------ finding the programs


def find_bindir(environ: Mapping[str, str] = os.environ,
                debian_root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The directory holding every program of PROGRAMS: ``GARRISON_TEST_PG_BINDIR`` when
    set (to choose among several installations), else PATH, else the newest Debian
    ``/usr/lib/postgresql/N/bin``."""
    chosen = environ.get(BINDIR_ENV)
    if chosen:
        missing = [p for p in PROGRAMS if not (Path(chosen) / p).is_file()]
        if missing:
            raise ClusterError(f"{BINDIR_ENV}={chosen} lacks {', '.join(missing)}")
        return Path(chosen)
    on_path = [shutil.which(p, path=environ.get("PATH", os.defpath)) for p in PROGRAMS]
    dirs = {Path(p).resolve().parent for p in on_path if p}
    if all(on_path) and len(dirs) == 1:  # one installation, not initdb of one, psql of another
        return dirs.pop()
    versions = sorted((d for d in debian_root.glob("*/bin") if d.parent.name.isdigit()),
                      key=lambda d: int(d.parent.name), reverse=True)
    for bindir in versions:
        if all((bindir / p).is_file() for p in PROGRAMS):
            return bindir
    raise ClusterError("no PostgreSQL server programs (initdb, pg_ctl, postgres, psql) on "
                       f"PATH or in {debian_root}/*/bin; install them (apt-get install "
                       "postgresql) or set GARRISON_TEST_PG")


def server_account() -> pwd.struct_passwd | None:
    """Who runs the server: None for the current user, the postgres user when root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise ClusterError(f"running as root and there is no {SERVER_USER!r} user to run "
                           "the server as (initdb and postgres refuse root)") from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------ the cluster


@dataclass
class Cluster:
    """One server in ``root`` (data in ``root/data``, socket and log in ``root``)."""

    bindir: Path
    root: Path
    account: pwd.struct_passwd | None
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    version: str = ""

    @property
    def url(self) -> str:
        return (f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}"
                "/postgres")

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def run(self, *argv: str, as_server: bool = True) -> subprocess.CompletedProcess[str]:
        """A program of the installation, as the server's account, without preloads."""
        env = {k: v for k, v in os.environ.items() if k not in UNFAKED}
        env.update(LC_ALL="C", LANG="C")
        account = self.account if as_server else None
        if account is not None:
            env["HOME"] = str(self.root)
        return subprocess.run(
            [str(self.bindir / argv[0]), *argv[1:]], env=env, cwd=self.root,
            capture_output=True, text=True, check=False,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None)

    def initdb(self) -> None:
        base = ("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "-N",
                "--auth-local=trust", "--auth-host=scram-sha-256")
        done = self.run(*base, "--locale=C.UTF-8")  # as the CI cluster is
        if done.returncode != 0:
            done = self.run(*base, "--locale=C")  # a system without C.UTF-8
        if done.returncode != 0:
            raise ClusterError(f"initdb failed: {_last_line(done.stderr)}")
        words = self.run("postgres", "--version").stdout.split()  # postgres (PostgreSQL) 15.1
        self.version = words[2] if len(words) > 2 else "?"

    def start(self, attempts: int = 3) -> None:
        """Start on a free port; another process may take it first, so try again."""
        for _attempt in range(attempts):
            self.port = free_port()
            options = {**SERVER_OPTIONS, "port": str(self.port),
                       "unix_socket_directories": f"'{self.root}'"}
            opts = " ".join(f"-c {k}={v}" for k, v in options.items())
            done = self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                            "-t", str(START_TIMEOUT_S), "-o", opts, "start")
            if done.returncode == 0:
                return
        raise ClusterError(f"the server did not start: {_last_line(self._log_text())}")

    def create_role(self) -> None:
        done = self.run("psql", "-X", "-h", str(self.root), "-p", str(self.port), "-U",
                        "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c",
                        f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self.password}'",
                        as_server=False)
        if done.returncode != 0:
            raise ClusterError(f"could not create the role {ROLE}: {_last_line(done.stderr)}")

    def stop(self) -> None:
        """Stop at once (the data is thrown away); kill the server if pg_ctl cannot."""
        if not (self.data / "postmaster.pid").exists():
            return
        done = self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                        "stop")
        pid_file = self.data / "postmaster.pid"
        if done.returncode != 0 and pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError, IndexError):
                pass  # gone already, or no pid written: nothing left to stop

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


PREFIX = "garrison-pg-"
OWNER_FILE = "helper.pid"
"""The process id of the helper that owns a directory: its server is an orphan once that
process is gone (SIGKILL cannot be caught, so nothing else would remove it)."""


def make_root(account: pwd.struct_passwd | None) -> Path:
    root = Path(tempfile.mkdtemp(prefix=PREFIX))
    (root / OWNER_FILE).write_text(f"{os.getpid()}\n")
    if account is not None:
        os.chown(root, account.pw_uid, account.pw_gid)
    return root


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


def reap_orphans(bindir: Path, account: pwd.struct_passwd | None,
                 base: Path | None = None) -> list[Path]:
    """Stop and remove the servers of helpers that were killed; returns their directories.
    Directories of running helpers (another run at the same time) are left alone."""
    reaped = []
    for root in sorted((base or Path(tempfile.gettempdir())).glob(f"{PREFIX}*")):
        try:
            pid = int((root / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not one of ours, or not readable by this user
        if _running(pid):
            continue
        Cluster(bindir, root, account).stop()
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


@contextmanager
def throwaway_cluster(bindir: Path | None = None) -> Iterator[Cluster]:
    """A running server with the role ``garrison``; stopped and removed on the way out,
    whatever happens inside (including a failed start)."""
    bindir = bindir or find_bindir()
    account = server_account()
    for orphan in reap_orphans(bindir, account):
        say(f"removed a server left behind by a killed run: {orphan}")
    cluster = Cluster(bindir, make_root(account), account)
    try:
        cluster.initdb()
        cluster.start()
        cluster.create_role()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(cluster.root, ignore_errors=True)


# ------------------------------------------------------------------ running a command


class Stopped(BaseException):
    """SIGTERM or SIGHUP reached this process while no command ran: clean up, then stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Signals:
    """Signal handling for the whole run. While CMD runs, SIGTERM and SIGHUP are passed on
    to it, and Ctrl-C (SIGINT, which the terminal sends to CMD as well) is left to CMD: this
    process waits until CMD has finished its own clean-up (pytest drops its databases), then
    stops the server. Outside CMD they stop this process, through the ``finally`` that
    removes the server."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.previous = {s: signal.getsignal(s) for s in self.SIGNALS}

    def __enter__(self) -> Signals:
        for sig in self.SIGNALS:
            signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.child is None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Stopped(signum)
        if signum != signal.SIGINT:
            self.child.send_signal(signum)

    def run(self, argv: Sequence[str], env: dict[str, str]) -> int:
        """CMD's exit status (128 + N when signal N ended it)."""
        try:
            self.child = subprocess.Popen(list(argv), env=env)
        except OSError as exc:
            say(f"cannot run {argv[0]}: {exc.strerror}")
            return 127
        try:
            code = self.child.wait()
        finally:
            self.child = None
        return 128 - code if code < 0 else code


def with_server(command: Sequence[str], signals: Signals) -> int:
    env = dict(os.environ)
    if env.get(PG_ENV):
        return signals.run(command, env)
    started = time.monotonic()
    try:
        with throwaway_cluster() as cluster:
            say(f"PostgreSQL {cluster.version} started on 127.0.0.1:{cluster.port} in "
                f"{time.monotonic() - started:.1f} s ({cluster.root}, removed afterwards)")
            env.update({PG_ENV: cluster.url, REQUIRE_ENV: "1"})
            code = signals.run(command, env)
            stopping = time.monotonic()
    except ClusterError as exc:
        say(f"no PostgreSQL server, so the PostgreSQL tests are left out: {exc}")
        env[SKIP_ENV] = str(exc)
        return signals.run(command, env)
    say(f"stopped the server and removed its directory in "
        f"{time.monotonic() - stopping:.1f} s")
    return code


def main(argv: Sequence[str]) -> int:
    command = list(argv[1:] if argv and argv[0] == "--" else argv)
    if not command:
        say("usage: python -m tests.pgcluster -- COMMAND [ARGS...]")
        return 2
    with Signals() as signals:
        try:
            return with_server(command, signals)
        except KeyboardInterrupt:
            say("interrupted; the server was stopped and removed")
            return 130
        except Stopped as stop:
            say("stopped by a signal; the server was stopped and removed")
            return 128 + stop.signum


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
