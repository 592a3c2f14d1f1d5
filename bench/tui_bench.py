"""Speed of ``garrison tui`` as the user sees it: 100,000 findings, a real terminal.

Generates the findings straight into a fresh SQLite database, as
``bench/findings_bench.py`` does (the demo organisation's units, about half the
findings fixed), but with titles drawn from a pool of real-looking ones of varying
frequencies, chosen so that every prefix of the words typed below matches a different,
non-empty set of findings. Then it runs the real console script
(``Path(sys.executable).with_name("garrison")``, ``GARRISON_DB=sqlite:///...``) in a
detached tmux session of a fixed size (its own tmux server, on its own socket), sends
the keys with ``send-keys`` and reads the screen with ``capture-pane`` every few
milliseconds, through one tmux control-mode client (no process started per poll).
Every clock stops when the expected content is *drawn on the pane*: the expected finding
ids, in order, at the start of the table's lines, and the expected count; nothing
depends on the exact layout.

1. first paint: starting ``garrison tui --screen findings`` -> its first rows drawn
   (and, reported beside it, the count of every match);
2. dashboard data: starting ``garrison tui`` (the dashboard is the default screen) ->
   the open findings by severity drawn (every severity's count);
3. filter keystroke: ``/`` focuses the title filter, then words are typed one key at a
   time (``openssh``, ``redis``, ``sql注入``: 17 keys, each narrows the matches); each
   key is timed from ``send-keys`` to the new matching rows *and* their count drawn,
   with the app idle before each key. ``ctrl+u`` (clear the filter, back to every open
   finding) is timed too and reported apart.

Goals from issue 12: 1 and 2 < 1 s, 3 < 100 ms. Each measurement is repeated
``--rounds`` times (a fresh ``garrison tui`` per round); medians are reported, with the
load average before and after (2 shared CPUs: other work skews the figures).

    .venv/bin/python bench/tui_bench.py [--findings 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.findings_bench import DAYS, SEVERITIES  # noqa: E402

WIDTH, HEIGHT = 160, 45
ACTIVE = ("open", "in_progress")
"""The statuses the findings screen shows by default (and the dashboard counts)."""
SEVERITY_NAMES = ("critical", "high", "medium", "low", "info")
WORDS = ("openssh", "redis", "sql注入")
"""Typed one key at a time; every prefix matches fewer findings than the one before."""
TITLES: list[tuple[int, str, int]] = [
    # (weight, title, port); the comments say which prefix each one separates
    (60, "SSH 弱口令", 22),
    (40, "Telnet 明文传输", 23),
    (40, "HTTP 明文传输登录页面", 80),
    (30, "TLS 1.0 已启用", 443),
    (30, "过期的 TLS 证书", 443),
    (25, "SMB 签名未启用", 445),
    (20, "FTP 匿名登录", 21),
    (20, "弱口令 (Tomcat 管理后台)", 8080),        # o, not op
    (12, "Elasticsearch 未授权访问", 9200),
    (10, "Dropbear SSH 弱加密算法", 22),           # op, not ope; r, not re
    (8, "Kubernetes operator 权限过大", 6443),     # ope, not open
    (8, "Open redirect 开放重定向", 443),          # open, not opens; redi, not redis
    (12, "OpenSearch 未授权访问", 9200),           # opens, not openss
    (15, "OpenSSL 心脏出血 (CVE-2014-0160)", 443),  # openss, not openssh
    (25, "OpenSSH 用户枚举 (CVE-2018-15473)", 22),  # openssh
    (15, "Apache Struts2 remote code execution 远程代码执行", 8080),  # re, not red
    (10, "默认凭据 (default credentials)", 80),      # red, not redi
    (15, "Redis 未授权访问", 6379),                 # redis
    (10, "Squid 代理开放", 3128),                    # sq, not sql
    (12, "MySQL 弱口令", 3306),                      # sql, not sql注
    (4, "SQL注释中残留数据库口令", 80),              # sql注, not sql注入
    (20, "SQL注入 (登录页面)", 80),                 # sql注入
]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# ---------------------------------------------------------------------- the database


def generate(db: str, count: int) -> None:
    """``count`` findings over the demo units, as ``findings_bench.generate`` writes them
    (the same columns, severities, deadlines and history), titles from ``TITLES``."""
    from sqlmodel import select

    from garrison import db as gdb
    from garrison.bulk import Bulk
    from garrison.demo import load_demo
    from garrison.models import Finding, FindingEvent, Unit
    from garrison.settings import Settings

    settings = Settings(db=db, actor="bench")
    gdb.upgrade(settings)
    now = settings.now()
    with gdb.write_session(settings) as session:
        load_demo(session, actor="bench", now=now)
    rng = random.Random(12)
    weights = [w for w, _title, _port in TITLES]
    with gdb.write_session(settings) as session:
        units = [(u.id, u.code, u.officer_name) for u in session.exec(select(Unit)).all()]
        bulk = Bulk(session)
        rows: list[tuple[object, ...]] = []
        events: list[tuple[object, ...]] = []
        for i in range(1, count + 1):
            uid, code, officer = rng.choice(units)
            severity = rng.choice(SEVERITIES)
            _w, title, port = rng.choices(TITLES, weights)[0]
            first = now - timedelta(days=rng.uniform(0, 365))
            days = DAYS[severity]
            due = first + timedelta(days=days) if days else None
            fixed_at = first + timedelta(days=rng.uniform(1, 120)) if rng.random() < 0.5 \
                else None
            status = "fixed" if fixed_at and fixed_at < now else rng.choice(
                ["open", "open", "open", "in_progress"])
            changed = fixed_at if status == "fixed" else first
            rows.append((i, f"bench|{code}|{i}", "bench-rule", title, severity, "manual",
                         uid, None, f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                         "tcp", port, officer, status, bulk.ts(due), bulk.ts(first),
                         bulk.ts(first), bulk.ts(changed), "{}", "[]"))
            events.append((i, "status", bulk.ts(first), "bench", None, "open", "generated"))
            if status == "fixed":
                events.append((i, "status", bulk.ts(changed), "bench", "open", "fixed", "fixed"))
        bulk.insert(Finding.__table__, ("id", "fingerprint", "rule_id", "title", "severity",  # type: ignore[attr-defined]
                                        "source", "unit_id", "asset_id", "address", "protocol",
                                        "port", "owner", "status", "due_at", "first_seen",
                                        "last_seen", "status_changed_at", "evidence",
                                        "references"), rows)
        bulk.insert(FindingEvent.__table__, ("finding_id", "kind", "at", "actor",  # type: ignore[attr-defined]
                                             "from_status", "to_status", "note"), events)
    gdb.dispose_engines()


@dataclass(frozen=True)
class Expected:
    """What the screen must show for one filter text: computed here, in plain Python over
    the rows read back with ``sqlite3``, not with the product's queries."""

    text: str
    ids: list[int]
    """The first matching ids, by id (the screen's default order)."""
    total: int


class Truth:
    def __init__(self, path: Path) -> None:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT id, title, severity FROM finding WHERE status IN "
                                "(?, ?) ORDER BY id", ACTIVE).fetchall()
        self.active = [(int(i), str(t).lower(), str(s)) for i, t, s in rows]
        self.severity = {s: sum(1 for *_r, sev in self.active if sev == s)
                         for s in SEVERITY_NAMES}

    def expect(self, text: str, first: int = 40) -> Expected:
        needle = text.strip().lower()
        ids = [i for i, title, _s in self.active if needle in title]
        return Expected(text, ids[:first], len(ids))


def keystrokes(truth: Truth) -> list[tuple[str, str, Expected]]:
    """(what to send, its label, what the screen must show then) for one round: each word
    typed a key at a time, then ``ctrl+u``. Refuses words whose successive prefixes do
    not change the first rows shown (the bench could not tell one from the other)."""
    out: list[tuple[str, str, Expected]] = []
    for word in WORDS:
        before = truth.expect("")
        for n in range(1, len(word) + 1):
            now = truth.expect(word[:n])
            if not now.ids or now.ids[:10] == before.ids[:10] or now.total == before.total:
                raise SystemExit(f"bench titles: typing {word[:n]!r} does not change the "
                                 f"first rows shown ({now.total} matches)")
            out.append((word[n - 1], word[:n], now))
            before = now
        out.append(("C-u", "ctrl+u", truth.expect("")))
    return out


# ---------------------------------------------------------------------- the terminal


class Tmux:
    """A private tmux server (its own socket) with one window of a fixed size, driven by
    one control-mode client: a command is a line written to it, its answer comes back
    between ``%begin`` and ``%end``, so polling the pane starts no process."""

    def __init__(self, width: int, height: int) -> None:
        self.socket = f"garrison-tui-bench-{os.getpid()}"
        self.control: subprocess.Popen[bytes] | None = None
        base = ["tmux", "-u", "-L", self.socket, "-f", "/dev/null"]
        subprocess.run([*base, "new-session", "-d", "-s", "bench", "-x", str(width),
                        "-y", str(height), "sleep", "86400"], check=True)
        self.control = subprocess.Popen([*base, "-C", "attach-session", "-t", "bench"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._sync()
        for attempt in range(50):  # "no current client" until the attach has settled
            try:
                self.command("refresh-client", "-f", "no-output")  # no %output lines
                break
            except RuntimeError:
                if attempt == 49:
                    raise
                time.sleep(0.02)
        for option in (("window-size", "manual"), ("remain-on-exit", "on"),
                       ("status", "off")):
            self.command("set-option", "-g", *option)
        self.command("resize-window", "-t", "bench", "-x", str(width), "-y", str(height))
        self.pane = self.command("display-message", "-p", "-t", "bench", "#{pane_id}")[0]
        size = self.command("display-message", "-p", "-t", self.pane,
                            "#{pane_width}x#{pane_height}")[0]
        if size != f"{width}x{height}":
            raise RuntimeError(f"tmux pane is {size}, not {width}x{height}")
        self.size = size

    def command(self, *args: str) -> list[str]:
        """Run one tmux command through the control client; its output lines."""
        self._write(*args)
        return self._answer(args)

    def _write(self, *args: str) -> None:
        assert self.control is not None and self.control.stdin
        if any("'" in a or "\n" in a for a in args):
            raise ValueError(f"cannot quote {args!r}")
        self.control.stdin.write((" ".join(f"'{a}'" for a in args) + "\n").encode())
        self.control.stdin.flush()

    def _answer(self, args: Sequence[str]) -> list[str]:
        """The next answer to a command of ours: a ``%begin`` ... ``%end`` block whose flags
        are not 0 (notifications outside blocks are skipped)."""
        assert self.control is not None and self.control.stdout
        out: list[str] | None = None
        ours = False
        while True:
            raw = self.control.stdout.readline()
            if not raw:
                raise RuntimeError(f"tmux control client ended during {args!r}")
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if out is None:
                if line.startswith("%begin"):
                    out = []
                    ours = line.split()[-1] != "0"  # flags 0: attach-session's own
            elif line.startswith(("%end", "%error")):
                if ours and line.startswith("%error"):
                    raise RuntimeError(f"tmux {' '.join(args)}: {' '.join(out)}")
                if ours:
                    return out
                out = None
            else:
                out.append(line)

    def _sync(self) -> None:
        """Skip the answers nobody asked for (attach-session's own) up to a token's."""
        token = f"sync-{time.monotonic_ns()}"
        self._write("display-message", "-p", token)
        while self._answer(("display-message",)) != [token]:
            pass

    def capture(self) -> str:
        return "\n".join(self.command("capture-pane", "-p", "-t", self.pane))

    def start(self, argv: Sequence[str]) -> None:
        """Start ``argv`` in the pane (killing what ran there)."""
        self.command("respawn-pane", "-k", "-t", self.pane, *argv)

    def pid(self) -> int:
        return int(self.command("display-message", "-p", "-t", self.pane, "#{pane_pid}")[0])

    def dead(self) -> bool:
        return self.command("display-message", "-p", "-t", self.pane,
                            "#{pane_dead}")[0] == "1"

    def keys(self, key: str) -> None:
        """One key: a tmux key name (``C-u``, ``Escape``) or one literal character."""
        if len(key) == 1:
            self.command("send-keys", "-t", self.pane, "-l", key)
        else:
            self.command("send-keys", "-t", self.pane, key)

    def close(self) -> None:
        if self.control is not None:
            self.control.kill()
            self.control.wait()
        kill_server(self.socket)


def kill_server(socket: str) -> None:
    """End the bench's tmux server and remove its socket (tmux leaves the file)."""
    path = subprocess.run(["tmux", "-L", socket, "display-message", "-p", "#{socket_path}"],
                          capture_output=True, text=True).stdout.strip()
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    if not path:
        path = f"{os.environ.get('TMUX_TMPDIR', '/tmp')}/tmux-{os.getuid()}/{socket}"
    Path(path).unlink(missing_ok=True)


@contextmanager
def tmux(width: int, height: int) -> Iterator[Tmux]:
    term = None
    try:
        term = Tmux(width, height)
        yield term
    finally:
        if term is not None:
            term.close()
        else:
            kill_server(f"garrison-tui-bench-{os.getpid()}")


# ---------------------------------------------------------------------- reading the pane

ROW_ID = re.compile(r"^\W{0,3}?\s*(\d+)\s")
"""A table line starts with a finding id (after at most a border character or two)..."""
TITLE_STARTS = tuple({title[:6].lower() for _w, title, _port in TITLES})
"""... and holds a title (its first characters: a narrow column may cut the rest)."""


def shown_ids(pane: str) -> list[int]:
    """The finding ids at the start of the table's lines, top to bottom."""
    return [int(m.group(1)) for line in pane.splitlines()
            if (m := ROW_ID.match(line)) and any(t in line.lower() for t in TITLE_STARTS)]


def rows_drawn(pane: str, want: Expected) -> bool:
    """The table's first lines are the expected first ids, in order (at least ten of them,
    or all when fewer match)."""
    ids = shown_ids(pane)
    ids = ids[:len(want.ids)]
    return len(ids) >= min(10, len(want.ids)) and ids == want.ids[:len(ids)]


def count_drawn(pane: str, total: int) -> bool:
    """The count line (the line about the findings shown) says the expected total."""
    number = re.compile(rf"(?<![\d,.]){re.escape(f'{total:,}')}(?![\d,.])")
    return any("finding" in line.lower() and number.search(line)
               for line in pane.splitlines()
               if not any(t in line.lower() for t in TITLE_STARTS))


def severity_drawn(pane: str, counts: dict[str, int]) -> bool:
    """Every severity's name followed by its count of open findings (with or without a
    thousands separator)."""
    return all(re.search(rf"\b{name}\s+(?:{n}|{n:,})(?![\d,])", pane)
               for name, n in counts.items())


class Timeout(Exception):
    pass


def wait_for(term: Tmux, started: float, checks: dict[str, Callable[[str], bool]], *,
             poll: float, timeout: float) -> dict[str, float]:
    """Poll the pane until every check has passed once; the seconds from ``started`` to the
    capture each check first passed on."""
    seen: dict[str, float] = {}
    pane = ""
    while time.perf_counter() - started < timeout:
        pane = term.capture()
        at = time.perf_counter()
        for name, check in checks.items():
            if name not in seen and check(pane):
                seen[name] = at - started
        if len(seen) == len(checks):
            return seen
        if term.dead():
            break
        time.sleep(poll)
    missing = ", ".join(n for n in checks if n not in seen)
    raise Timeout(f"not drawn after {time.perf_counter() - started:.1f} s: {missing}\n"
                  f"--- the pane ---\n{pane}\n---")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, *, quiet: float = 0.3, most: float = 10.0) -> None:
    """Wait until the app has used (almost) no CPU for ``quiet`` seconds: the key before
    has finished all its work (the count, the detail pane, a background import)."""
    end = time.perf_counter() + most
    last = cpu_seconds(pid)
    while time.perf_counter() < end:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last <= 0.02:
            return
        last = now


def quit_app(term: Tmux) -> None:
    if not term.dead():
        term.keys("C-q")
        end = time.perf_counter() + 5
        while not term.dead() and time.perf_counter() < end:
            time.sleep(0.02)


# ---------------------------------------------------------------------- the measurements


def app_argv(db: str, *args: str) -> list[str]:
    garrison = Path(sys.executable).with_name("garrison")
    return ["env", f"GARRISON_DB={db}", "GARRISON_ACTOR=bench", str(garrison), "tui", *args]


def first_paint(term: Tmux, db: str, truth: Truth, poll: float) -> dict[str, float]:
    want = truth.expect("")
    started = time.perf_counter()
    term.start(app_argv(db, "--screen", "findings"))
    try:
        return wait_for(term, started, {
            "rows": lambda pane: rows_drawn(pane, want),
            "count": lambda pane: count_drawn(pane, want.total)}, poll=poll, timeout=30)
    finally:
        quit_app(term)


def dashboard(term: Tmux, db: str, truth: Truth, poll: float) -> float:
    started = time.perf_counter()
    term.start(app_argv(db))
    try:
        return wait_for(term, started, {
            "severity": lambda pane: severity_drawn(pane, truth.severity)},
            poll=poll, timeout=30)["severity"]
    finally:
        quit_app(term)


@dataclass
class Key:
    label: str
    total: int
    rows: float
    drawn: float
    """Rows and count both drawn."""


def typing(term: Tmux, db: str, truth: Truth, poll: float) -> list[Key]:
    """One round: open the findings, ``/``, then every key of ``keystrokes``."""
    plan = keystrokes(truth)
    start = time.perf_counter()
    term.start(app_argv(db, "--screen", "findings"))
    out: list[Key] = []
    try:
        everything = truth.expect("")
        wait_for(term, start, {"rows": lambda pane: rows_drawn(pane, everything),
                               "count": lambda pane: count_drawn(pane, everything.total)},
                 poll=poll, timeout=30)
        pid = term.pid()
        settle(pid)
        term.keys("/")
        settle(pid)
        for key, label, want in plan:
            started = time.perf_counter()
            term.keys(key)
            seen = wait_for(term, started, {
                "rows": lambda pane, w=want: rows_drawn(pane, w),  # type: ignore[misc]
                "count": lambda pane, w=want: count_drawn(pane, w.total)},  # type: ignore[misc]
                poll=poll, timeout=15)
            out.append(Key(label, want.total, seen["rows"], max(seen.values())))
            settle(pid)
    finally:
        quit_app(term)
    return out


# ---------------------------------------------------------------------- the report


def verdict(seconds: float, goal: float) -> str:
    return "met" if seconds < goal else "MISSED"


def spread(values: list[float], scale: float = 1.0, fmt: str = ".3f") -> str:
    return (f"median {statistics.median(values) * scale:{fmt}}, "
            f"min {min(values) * scale:{fmt}}, max {max(values) * scale:{fmt}}")


def _terminated(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def width(text: str, cells: int) -> str:
    """``text`` padded to ``cells`` terminal cells (a CJK character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(cells - used, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=float, default=0.005,
                        help="seconds between two reads of the pane (default 0.005)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminated)  # the finally blocks clean up then too
    if shutil.which("tmux") is None:
        print("tmux is not installed: this bench runs garrison tui in tmux", file=sys.stderr)
        return 2
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="garrison-tui-bench-") as tmp:
        path = Path(tmp) / "tui.db"
        db = f"sqlite:///{path}"
        started = time.perf_counter()
        generate(db, args.findings)
        print(f"generated {args.findings:,} findings in {time.perf_counter() - started:.1f} s")
        truth = Truth(path)
        plan = keystrokes(truth)
        tmux_version = subprocess.run(["tmux", "-V"], capture_output=True,
                                      text=True).stdout.strip()
        try:
            with tmux(WIDTH, HEIGHT) as term:
                paints = [first_paint(term, db, truth, args.poll) for _ in range(args.rounds)]
                boards = [dashboard(term, db, truth, args.poll) for _ in range(args.rounds)]
                typed = [typing(term, db, truth, args.poll) for _ in range(args.rounds)]
        except Timeout as exc:
            print(f"FAILED, expected content never drawn (load average {load()}): {exc}",
                  file=sys.stderr)
            return 1
        load_after = load()

    print(f"\nenvironment: {os.cpu_count()} CPUs; load average {load_before} before, "
          f"{load_after} after (1, 5, 15 min); terminal {WIDTH}x{HEIGHT} ({tmux_version}, "
          f"pane read every {args.poll * 1000:g} ms); {args.findings:,} findings, "
          f"{len(truth.active):,} open or in progress, SQLite; Python "
          f"{platform.python_version()}, Textual {version('textual')}; {args.rounds} rounds, "
          f"a fresh garrison tui each")
    rows = [p["rows"] for p in paints]
    counts = [p["count"] for p in paints]
    print(f"1. first paint, `garrison tui --screen findings` started -> first rows drawn: "
          f"{spread(rows)} s; their count ({len(truth.active):,}) drawn: median "
          f"{statistics.median(counts):.3f} s. Goal < 1 s: "
          f"{verdict(statistics.median(rows), 1.0)}")
    print(f"2. dashboard data, `garrison tui` started -> open findings by severity drawn: "
          f"{spread(boards)} s. Goal < 1 s: {verdict(statistics.median(boards), 1.0)}")
    keys = [k for round_ in typed for k in round_ if k.label != "ctrl+u"]
    clears = [k for round_ in typed for k in round_ if k.label == "ctrl+u"]
    drawn = [k.drawn for k in keys]
    med, worst = statistics.median(drawn), max(drawn)
    print(f"3. filter keystroke -> matching rows and count drawn: median {med * 1000:.0f} ms, "
          f"worst {worst * 1000:.0f} ms over {len(keys)} keystrokes ({len(keys) // args.rounds}"
          f" a round, every one matching rows); rows alone: median "
          f"{statistics.median(k.rows for k in keys) * 1000:.0f} ms. Goal < 100 ms: median "
          f"{verdict(med, 0.1)}, worst {verdict(worst, 0.1)}")
    print(f"   ctrl+u (clear the filter, {len(truth.active):,} rows back): "
          f"{spread([k.drawn for k in clears], 1000, '.0f')} ms")
    print(f"   {'typed':10} {'matches':>8} {'rows drawn, median':>20} {'+ count, median':>16}"
          f" {'+ count, worst':>15}")
    for key, label, want in plan:
        if key == "C-u":
            continue
        these = [k for k in keys if k.label == label]
        print(f"   {width(label, 10)} {want.total:>8,} "
              f"{statistics.median(k.rows for k in these) * 1000:>17.0f} ms "
              f"{statistics.median(k.drawn for k in these) * 1000:>13.0f} ms "
              f"{max(k.drawn for k in these) * 1000:>12.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
