"""The findings screen over 100,000 findings: first paint and filter latency.

Generates the findings as ``bench/findings_bench.py`` does (100 demo units, half of
them fixed at some point), then:

- **first paint, in process**: from creating the app (headless, Textual's pilot) to
  the findings table holding its first page and the count line its total;
- **first paint, as typed**: ``garrison tui --screen findings`` started in a tmux pane,
  timed until the pane shows the count line (Python start-up, imports and the real
  terminal rendering included);
- **filter latency**: for each keystroke typed into the text filter (and for a unit,
  a severity and the overdue switch), the time from the filter changing to its rows
  being in the table (``FindingsScreen.latency``).

Targets from the issue: first paint < 1 s, a filter keystroke < 100 ms.

    .venv/bin/python bench/tui_bench.py [--findings 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.findings_bench import generate  # noqa: E402


async def first_paint(db: str) -> float:
    from textual.widgets import DataTable

    from garrison.settings import Settings
    from tui.app import GarrisonApp
    from tui.screens.findings import FindingsScreen

    started = time.perf_counter()
    app = GarrisonApp(Settings(db=db, actor="bench"), screen="findings")
    async with app.run_test(size=(160, 48)) as pilot:
        while True:
            screen = app.screen
            if isinstance(screen, FindingsScreen) and screen.total is not None and \
                    screen.query_one("#table", DataTable).row_count:
                break
            await pilot.pause(0.005)
        return time.perf_counter() - started


async def filter_latency(db: str) -> dict[str, list[float]]:
    from textual.widgets import Checkbox, Input, Select

    from garrison.settings import Settings
    from tui.app import GarrisonApp
    from tui.screens.findings import FindingsScreen

    app = GarrisonApp(Settings(db=db, actor="bench"), screen="findings")
    out: dict[str, list[float]] = {"text keystroke": [], "unit": [], "severity": [],
                                   "overdue": []}
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        await app.workers.wait_for_complete()

        async def measure(kind: str, change: object) -> None:
            before = screen.filter
            assert callable(change)
            change()
            while screen.filter == before or screen.painted != screen.filter:
                await pilot.pause(0.001)
            assert screen.latency is not None
            out[kind].append(screen.latency)
            await app.workers.wait_for_complete()

        text = screen.query_one("#text", Input)
        for word in ("redis", "ssh"):
            for i in range(1, len(word) + 1):
                await measure("text keystroke",
                              lambda w=word[:i]: setattr(text, "value", w))
            await measure("text keystroke", lambda: setattr(text, "value", ""))
        unit = screen.query_one("#unit", Input)
        for code in ("hz-jw", "nb-gjj", ""):
            await measure("unit", lambda c=code: setattr(unit, "value", c))
        severity = screen.query_one("#severity", Select)
        for value in ("critical", "low", Select.NULL):
            await measure("severity", lambda v=value: setattr(severity, "value", v))
        overdue = screen.query_one("#overdue", Checkbox)
        for flag in (True, False):
            await measure("overdue", lambda v=flag: setattr(overdue, "value", v))
    return out


def tmux_paint(db: str) -> tuple[float, float] | None:
    """Seconds from starting ``garrison tui --screen findings`` in tmux to the first page
    of rows on screen, and to the count of every match."""
    if not shutil.which("tmux"):
        return None
    garrison = str(Path(sys.executable).with_name("garrison"))
    session = f"gbench{os.getpid()}-{time.monotonic_ns()}"
    env = f"GARRISON_DB={db} GARRISON_ACTOR=bench"
    started = time.perf_counter()
    result = subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y",
                             "48", f"env {env} {garrison} tui --screen findings"],
                            capture_output=True, text=True)
    if result.returncode:
        print(f"tmux: {result.stderr.strip()}", file=sys.stderr)
        return None
    rows = None
    try:
        while time.perf_counter() - started < 30:
            pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                  capture_output=True, text=True).stdout
            if rows is None and "findings shown" in pane:
                rows = time.perf_counter() - started
            if "findings shown" in pane and " of … " not in pane:
                assert rows is not None
                return rows, time.perf_counter() - started
            time.sleep(0.005)
        return None
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", help="a scratch database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'tui.db'}"
        started = time.perf_counter()
        generate(db, args.findings)
        print(f"generated {args.findings:,} findings in {time.perf_counter() - started:.1f} s")
        paints = [asyncio.run(first_paint(db)) for _ in range(args.rounds)]
        print(f"first paint of the findings screen (in process): "
              f"{statistics.median(paints):.3f} s median of {args.rounds} "
              f"(min {min(paints):.3f}, max {max(paints):.3f}); target < 1 s")
        typed = [t for t in (tmux_paint(db) for _ in range(args.rounds)) if t is not None]
        if typed:
            print(f"first paint as typed (`garrison tui --screen findings` in tmux, start-up "
                  f"included): rows {statistics.median(t[0] for t in typed):.3f} s, their "
                  f"count {statistics.median(t[1] for t in typed):.3f} s; median of "
                  f"{len(typed)}")
        else:
            print("first paint as typed: skipped (no tmux)")
        latency = asyncio.run(filter_latency(db))
        for kind, values in latency.items():
            ms = [v * 1000 for v in values]
            print(f"filter latency, {kind}: median {statistics.median(ms):.0f} ms, "
                  f"max {max(ms):.0f} ms over {len(ms)} changes; target < 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
