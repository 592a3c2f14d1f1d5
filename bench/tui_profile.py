"""Where the time of ``bench/tui_bench.py``'s three measurements goes.

Runs the same scenarios in the same kind of tmux pane on the same generated database,
but starts ``garrison`` through ``bench/tui_trace.py``, which timestamps the phases
inside the app (imports, ``App.run``, a key arriving, the filter changing, the query in
the worker, the rows handed to the table, the frame rendered and written to the
terminal, the count, the dashboard's reads), on the same clock as the bench's own
marks (a key sent, rows seen on the pane). Prints:

1. the first paint's timeline, from the process started to the rows drawn;
2. the dashboard's timeline, to its data drawn;
3. for the filter keystrokes, the median of each phase from ``send-keys`` to the rows
   and count drawn.

With ``--py-spy PATH`` (a ``py-spy`` binary, e.g. ``pip install --target DIR py-spy``:
it is not a project dependency), the app is also sampled during the dashboard's load
and the last typing round, and the functions holding the most samples (on-CPU, every
thread) are listed; ``--cprofile`` profiles the main thread of the last typing round.
Keys typed under a profiler are left out of the phase medians.

    .venv/bin/python bench/tui_profile.py [--findings 100000] [--rounds 3] [--py-spy BIN]
        [--cprofile] [--out DIR] [--db-file PATH]
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tui_bench import (  # noqa: E402
    HEIGHT,
    WIDTH,
    Expected,
    Tmux,
    Truth,
    count_drawn,
    generate,
    keystrokes,
    load,
    quit_app,
    rows_drawn,
    settle,
    severity_drawn,
    tmux,
    wait_for,
)

TRACE = Path(__file__).with_name("tui_trace.py")


@dataclass(frozen=True)
class Event:
    at: float
    thread: str
    what: str


def read_log(path: Path) -> list[Event]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        at, thread, what = line.split(" ", 2)
        out.append(Event(float(at), thread, what))
    return out


def traced_argv(db: str, log: Path, *args: str, cprofile: Path | None = None) -> list[str]:
    env = [f"GARRISON_TRACE_CPROFILE={cprofile}"] if cprofile else []
    return ["env", f"GARRISON_DB={db}", "GARRISON_ACTOR=bench", *env, sys.executable,
            str(TRACE), str(log), "tui", *args]


def timeline(events: list[Event], start: float, marks: dict[str, float], until: float
             ) -> None:
    """Every event up to ``until`` (seconds after start), terminal writes summarised."""
    rows = [(e.at - start, e.thread, e.what) for e in events if e.at - start <= until]
    rows += [(t, "(bench)", what) for what, t in marks.items()]
    rows.sort()
    writes = 0
    for at, thread, what in rows:
        if what.startswith("driver.write"):
            writes += 1
            if writes > 3 and int(what.split()[1]) < 2000:
                continue  # small writes (cursor, blink): only big frames are listed
        print(f"   {at * 1000:8.1f} ms  {thread[:22]:22} {what}")


def first(events: list[Event], prefix: str, after: float, before: float = float("inf")
          ) -> Event | None:
    return next((e for e in events if after <= e.at < before and e.what.startswith(prefix)),
                None)


def py_spy(binary: str | None, pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    if binary is None:
        return None
    return subprocess.Popen([binary, "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "250", "--threads", "--nonblocking", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def spy_report(proc: subprocess.Popen[bytes] | None, out: Path, title: str,
               top: int = 25) -> None:
    """Stop py-spy (it writes on SIGINT) and list the functions with the most samples:
    self (the function itself running) and total (it or what it called)."""
    if proc is None:
        return
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    if not out.exists():
        err = proc.stderr.read().decode() if proc.stderr else ""
        print(f"   py-spy wrote nothing: {err.strip()[-400:]}")
        return
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        count = int(n)
        frames = stack.split(";")
        samples += count
        threads[frames[0]] += count
        own[_frame(frames[-1])] += count
        for name in {_frame(f) for f in frames[1:]}:
            total[name] += count
    print(f"\n{title}: {samples} samples (250 a second, every thread, on-CPU only)")
    print("   by thread: " + ", ".join(f"{t} {n}" for t, n in threads.most_common(6)))
    print("   most samples, self:")
    for name, hits in own.most_common(top):
        print(f"   {hits:6} {hits / samples:6.1%}  {name}")
    print("   most samples, total (the function and what it called):")
    for name, hits in total.most_common(top + 15):
        print(f"   {hits:6} {hits / samples:6.1%}  {name}")


def _frame(frame: str) -> str:
    """``fn (path/to/module.py:123)`` -> ``fn (module.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    parts = where.split("/")
    short = "/".join(parts[-2:]) if parts else where
    return f"{name} ({short})"


def profile_first_paint(term: Tmux, db: str, truth: Truth, tmp: Path, poll: float) -> None:
    want = truth.expect("")
    log = tmp / "paint.log"
    start_mono, started = time.monotonic(), time.perf_counter()
    term.start(traced_argv(db, log, "--screen", "findings"))
    try:
        seen = wait_for(term, started, {
            "rows": lambda pane: rows_drawn(pane, want),
            "count": lambda pane: count_drawn(pane, want.total)}, poll=poll, timeout=30)
    finally:
        quit_app(term)
    print(f"\n1. first paint (traced): rows drawn {seen['rows']:.3f} s, count "
          f"{seen['count']:.3f} s after the process started; the timeline:")
    timeline(read_log(log), start_mono, {"pane: rows drawn": seen["rows"],
                                         "pane: count drawn": seen["count"]},
             seen["count"] + 0.05)


def profile_dashboard(term: Tmux, db: str, truth: Truth, tmp: Path, poll: float,
                      spy: str | None) -> None:
    log = tmp / "dashboard.log"
    start_mono, started = time.monotonic(), time.perf_counter()
    term.start(traced_argv(db, log))
    proc = None
    if spy:
        time.sleep(0.3)  # the interpreter is up: sample the rest
        proc = py_spy(spy, term.pid(), tmp / "dashboard.spy")
    try:
        seen = wait_for(term, started, {
            "severity": lambda pane: severity_drawn(pane, truth.severity)},
            poll=poll, timeout=60)
    finally:
        spy_report(proc, tmp / "dashboard.spy", "dashboard, start to data drawn, py-spy")
        quit_app(term)
    print(f"\n2. dashboard (traced): data drawn {seen['severity']:.3f} s after the process "
          f"started; the timeline:")
    timeline(read_log(log), start_mono, {"pane: severity drawn": seen["severity"]},
             seen["severity"] + 0.05)


MILESTONES = [
    # (label, event, chained): a chained milestone is the first such event after the one
    # before it; the others are the first after the key was sent
    ("key event in the app", "key received", True),
    ("worker: quick_list starts", "quick_list start", True),
    ("worker: page read (connect, checks, query)", "quick_list end", True),
    ("main: _show_rows starts (call_from_thread)", "FindingsScreen._show_rows start", True),
    ("main: _show_rows ends (clear, add_row x100)", "FindingsScreen._show_rows end", True),
    ("main: table measures its rows (idle) start", "DataTable._update_dimensions start table",
     True),
    ("main: ... measured", "DataTable._update_dimensions end", True),
    ("main: table render_lines starts", "DataTable.render_lines start table", True),
    ("main: ... rendered", "DataTable.render_lines end", True),
    ("main: frame written (driver.write)", "driver.write", True),
    ("count thread: count read", "quick_count end", False),
    ("main: _show_total", "FindingsScreen._show_total start", False),
    ("detail worker: read_detail starts", "findings.service.read_detail start", False),
    ("main: detail pane updated", "FindingsScreen._detail end", False),
]


def profile_typing(term: Tmux, db: str, truth: Truth, tmp: Path, poll: float, rounds: int,
                   spy: str | None, cprofile: bool) -> None:
    plan = keystrokes(truth)
    log = tmp / "typing.log"
    per_phase: dict[str, list[float]] = collections.defaultdict(list)
    proc = None
    keys: list[tuple[str, Expected, float, dict[str, float]]] = []
    profiled: set[int] = set()
    """Keys typed under a profiler (the last round, with --py-spy or --cprofile): left
    out of the phases when other rounds were not."""
    for round_ in range(rounds):
        start = time.perf_counter()
        stats = tmp / "typing.pstats" if cprofile and round_ == rounds - 1 else None
        term.start(traced_argv(db, log, "--screen", "findings", cprofile=stats))
        everything = truth.expect("")
        try:
            wait_for(term, start,
                     {"rows": lambda pane, w=everything: rows_drawn(pane, w)},  # type: ignore[misc]
                     poll=poll, timeout=30)
            pid = term.pid()
            settle(pid)
            term.keys("/")
            settle(pid)
            if spy and round_ == rounds - 1:
                proc = py_spy(spy, pid, tmp / "typing.spy")
                time.sleep(1)
            for key, label, want in plan:
                sent_mono, sent = time.monotonic(), time.perf_counter()
                term.keys(key)
                seen = wait_for(term, sent, {
                    "rows": lambda pane, w=want: rows_drawn(pane, w),  # type: ignore[misc]
                    "count": lambda pane, w=want: count_drawn(pane, w.total)},  # type: ignore[misc]
                    poll=poll, timeout=15)
                keys.append((label, want, sent_mono, seen))
                if (spy or cprofile) and round_ == rounds - 1 and rounds > 1:
                    profiled.add(len(keys) - 1)
                settle(pid)
            if proc is not None:
                spy_report(proc, tmp / "typing.spy",
                           "filter keystrokes (one round, settling included), py-spy")
                proc = None
        finally:
            quit_app(term)
    if cprofile:
        main_thread_profile(tmp / "typing.pstats", len(plan))
    events = read_log(log)
    sends = [k[2] for k in keys] + [float("inf")]
    details: list[str] = []
    for i, (label, want, sent, seen) in enumerate(keys):
        if label == "ctrl+u" or i in profiled:
            continue
        window = events_in(events, sent, sends[i + 1])
        at = sent
        for name, prefix, chained in MILESTONES:
            e = first(window, prefix, at if chained else sent)
            if e is None:
                continue
            per_phase[name].append(e.at - sent)
            if chained:
                at = e.at
        per_phase["PANE: rows seen"].append(seen["rows"])
        per_phase["PANE: rows and count seen"].append(max(seen.values()))
        details.append(f"   {label:8} {want.total:>7,}  " + "  ".join(
            f"{_short(e.what)}={(e.at - sent) * 1000:.0f}"
            for e in window if not e.what.startswith(("driver.write", "import"))
            and e.at - sent < 1.0)[:1400])
    n = sum(1 for i, k in enumerate(keys) if k[0] != "ctrl+u" and i not in profiled)
    print(f"\n3. filter keystrokes (traced, no profiler): {n} keys; each milestone's time "
          f"after send-keys, ms: median (max), in the order of the medians")
    for name, values in sorted(per_phase.items(), key=lambda kv: statistics.median(kv[1])):
        print(f"   {name:48} {statistics.median(values) * 1000:7.1f} "
              f"({max(values) * 1000:6.1f})  n={len(values)}")
    print("   each key's events (ms after send-keys), first round:")
    for line in details[:sum(1 for key, _label, _want in plan if key != "C-u")]:
        print(line)


def _short(what: str) -> str:
    """``FindingsScreen._show_rows start text=...`` -> ``_show_rows(``; ``... end`` -> ``)``."""
    words = what.split(" ")
    name = words[0].split(".")[-1]
    if words[0] == "quick_list":
        return {"start": "quick(", "rows": "rows", "end": "count)"}.get(words[1], name)
    mark = {"start": "(", "end": ")"}.get(words[1], " " + words[1]) if len(words) > 1 else ""
    return name + mark


def main_thread_profile(path: Path, keys: int) -> None:
    """The last round's main thread under cProfile (its overhead inflates Python code):
    the functions with the most time, per key typed."""
    import io
    import pstats

    if not path.exists():
        print("   (no cProfile output)")
        return
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    print(f"\nmain thread under cProfile, last round: {total:.2f} s of CPU for {keys} keys "
          f"({total / keys * 1000:.0f} ms a key, with the settling between keys)")
    stats.sort_stats("cumulative").print_stats(45)
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    out.seek(0)
    out.truncate()
    stats.sort_stats("tottime").print_stats(25)
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def events_in(events: list[Event], start: float, end: float) -> list[Event]:
    return [e for e in events if start <= e.at < end]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.005)
    parser.add_argument("--py-spy", dest="spy", help="a py-spy binary: sample the app too")
    parser.add_argument("--out", type=Path, help="keep the traces, samples and pstats here "
                        "(default: a temporary directory, removed)")
    parser.add_argument("--cprofile", action="store_true",
                        help="profile the app's main thread (cProfile) in the last typing round")
    parser.add_argument("--db-file", type=Path,
                        help="reuse this generated SQLite file (made if missing)")
    args = parser.parse_args()
    print(f"load average {load()} before; {os.cpu_count()} CPUs; terminal {WIDTH}x{HEIGHT}")
    with tempfile.TemporaryDirectory(prefix="garrison-tui-profile-") as name:
        tmp = args.out or Path(name)
        tmp.mkdir(parents=True, exist_ok=True)
        for old in tmp.glob("*.log"):
            old.unlink()  # the traces append
        path = args.db_file or tmp / "tui.db"
        db = f"sqlite:///{path}"
        if not path.exists():
            generate(db, args.findings)
        truth = Truth(path)
        with tmux(WIDTH, HEIGHT) as term:
            profile_first_paint(term, db, truth, tmp, args.poll)
            profile_dashboard(term, db, truth, tmp, args.poll, args.spy)
            profile_typing(term, db, truth, tmp, args.poll, args.rounds, args.spy,
                           args.cprofile)
    print(f"\nload average {load()} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
