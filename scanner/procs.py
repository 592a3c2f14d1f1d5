"""Whether a process of this host still exists: standard library only, so the quick
read path (``scanner.quick``) and the run bookkeeping (``scanner.runs``) share it."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
