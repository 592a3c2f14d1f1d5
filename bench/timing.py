"""What every benchmark here measures the same way."""

from __future__ import annotations

import subprocess
import time


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Wall-clock seconds of one command as a user runs it (start-up included)."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started
