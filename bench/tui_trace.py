"""``garrison`` with timestamps at the phases of the TUI's actions (for bench/tui_profile.py).

    python bench/tui_trace.py LOG [garrison arguments...]

Runs the same CLI as the console script, after installing an import hook that wraps,
as each module is first imported (so the import order and start-up are not changed),
the functions a filter keystroke, the first paint and the dashboard's load go through.
Each wrapper appends ``<time.monotonic()> <thread> <event>`` to LOG; ``time.monotonic``
is the system-wide monotonic clock, so the bench driving tmux can set its own
timestamps (a key sent, rows seen on the pane) beside the app's. With
``GARRISON_TRACE_CPROFILE=PATH`` the main thread is also profiled (cProfile) from the
first key typed after ``/`` to the exit. Nothing in the product is changed.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

_LOG: TextIO | None = None


def mark(event: str) -> None:
    if _LOG is not None:
        _LOG.write(f"{time.monotonic():.6f} {threading.current_thread().name} {event}\n")


def wrap(owner: Any, name: str, label: str | None = None, *,
         detail: Callable[..., str] | None = None) -> None:
    """Mark the start and the end of ``owner.name`` (a function or method)."""
    original = getattr(owner, name)
    label = label or name

    if _is_async(original):
        @functools.wraps(original)
        async def awrapper(*args: Any, **kwargs: Any) -> Any:
            mark(f"{label} start{_detail(detail, args, kwargs)}")
            try:
                return await original(*args, **kwargs)
            finally:
                mark(f"{label} end")
        setattr(owner, name, awrapper)
        return

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(f"{label} start{_detail(detail, args, kwargs)}")
        try:
            return original(*args, **kwargs)
        finally:
            mark(f"{label} end")
    import inspect

    static = isinstance(inspect.getattr_static(owner, name), staticmethod)
    setattr(owner, name, staticmethod(wrapper) if static else wrapper)


def _is_async(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)


def _detail(detail: Callable[..., str] | None, args: Sequence[Any],
            kwargs: dict[str, Any]) -> str:
    if detail is None:
        return ""
    try:
        return " " + detail(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a trace never breaks the app
        return f" ({exc!r})"


# ---------------------------------------------------------------------- what is wrapped


def _quick(module: ModuleType) -> None:
    original = module.quick_list

    @functools.wraps(original)
    def quick_list(url: str, f: Any, **kwargs: Any) -> Any:
        on_rows = kwargs.get("on_rows")
        mark(f"quick_list start text={f.text!r}")
        if on_rows is not None:
            def rows(page: Any) -> Any:
                mark(f"quick_list rows read ({len(page)})")
                return on_rows(page)
            kwargs["on_rows"] = rows
        try:
            return original(url, f, **kwargs)
        finally:
            mark("quick_list end")
    setattr(module, "quick_list", quick_list)  # noqa: B010 - mypy: module attrs
    wrap(module, "quick_count")


def _quickread(module: ModuleType) -> None:
    wrap(module, "at_head")
    wrap(module, "rows", "quickread.rows",
         detail=lambda _conn, sql, *_a, **_k: " " + " ".join(sql.split())[:40])


def _findings_screen(module: ModuleType) -> None:
    cls = module.FindingsScreen
    wrap(cls, "_show_rows", "FindingsScreen._show_rows",
         detail=lambda *a: f"text={a[1].text!r} rows={len(a[2])}")
    wrap(cls, "_show_total", "FindingsScreen._show_total",
         detail=lambda *a: f"text={a[1].text!r} total={a[2]}")
    wrap(cls, "_detail", "FindingsScreen._detail")
    wrap(cls, "render_detail", "FindingsScreen.render_detail")
    wrap(cls, "on_mount", "FindingsScreen.on_mount")


def _findings_service(module: ModuleType) -> None:
    wrap(module, "read_detail", "findings.service.read_detail")


def _table(module: ModuleType) -> None:
    wrap(module.MeasuredTable, "_on_idle", "MeasuredTable._on_idle",
         detail=lambda *a: f"{a[0].id} rows={a[0].row_count}")


def _data_table(module: ModuleType) -> None:
    wrap(module.DataTable, "render_lines", "DataTable.render_lines",
         detail=lambda *a: f"{a[0].id}")
    wrap(module.DataTable, "_update_dimensions", "DataTable._update_dimensions",
         detail=lambda *a: f"{a[0].id}")


def _screen(module: ModuleType) -> None:
    wrap(module.Screen, "_refresh_layout", "Screen._refresh_layout")
    wrap(module.Screen, "_compositor_refresh", "Screen._compositor_refresh")


def _dashboard_screen(module: ModuleType) -> None:
    cls = module.DashboardScreen
    wrap(cls, "on_mount", "DashboardScreen.on_mount")
    wrap(cls, "_show", "DashboardScreen._show")
    wrap(cls, "_show_oncall", "DashboardScreen._show_oncall")


def _dashboard(module: ModuleType) -> None:
    wrap(module, "gather", "dashboard.gather")
    wrap(module, "quick_gather", "dashboard.quick_gather")
    wrap(module, "read_dashboard", "dashboard.read_dashboard")


def _summary(module: ModuleType) -> None:
    wrap(module, "summarise", "summary.summarise")
    wrap(module, "_time_to_fix", "summary._time_to_fix")


def _actions(module: ModuleType) -> None:
    wrap(module, "action_context", "actions.action_context")


def _experts(module: ModuleType) -> None:
    wrap(module, "on_call", "experts.on_call")


def _app(module: ModuleType) -> None:
    wrap(module.GarrisonApp, "on_mount", "GarrisonApp.on_mount")


def _textual_app(module: ModuleType) -> None:
    cls = module.App
    wrap(cls, "_display", "App._display")
    wrap(cls, "run", "App.run")
    original = cls.on_event

    @functools.wraps(original)
    async def on_event(self: Any, event: Any) -> Any:
        if type(event).__name__ == "Key":
            mark(f"key received {event.key!r}")
            if event.key != "slash":
                _start_profile()
        return await original(self, event)
    cls.on_event = on_event


def _linux_driver(module: ModuleType) -> None:
    cls = module.LinuxDriver
    original = cls.write

    @functools.wraps(original)
    def write(self: Any, data: str) -> None:
        mark(f"driver.write {len(data)}")
        original(self, data)
    cls.write = write


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "garrison.findings.quick": _quick,
    "garrison.quickread": _quickread,
    "tui.screens.findings": _findings_screen,
    "tui.screens.dashboard": _dashboard_screen,
    "garrison.findings.service": _findings_service,
    "tui.widgets.table": _table,
    "textual.screen": _screen,
    "textual.widgets._data_table": _data_table,
    "garrison.dashboard": _dashboard,
    "garrison.findings.summary": _summary,
    "garrison.actions": _actions,
    "expert_pool.service": _experts,
    "tui.app": _app,
    "textual.app": _textual_app,
    "textual.drivers.linux_driver": _linux_driver,
}


class _Hook(importlib.abc.MetaPathFinder):
    """Wraps a module's functions right after the module is first executed."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None  # noqa: ARG002 - the protocol's
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            mark(f"import {fullname} start")
            original(module)
            PATCHES[fullname](module)
            mark(f"import {fullname} end")

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_PROFILE: Any = None


def _start_profile() -> None:
    """With ``GARRISON_TRACE_CPROFILE=PATH``: profile the main thread (the event loop:
    the handlers, layout, rendering) from the first key typed after ``/`` to the exit,
    into PATH (pstats)."""
    global _PROFILE
    path = os.environ.get("GARRISON_TRACE_CPROFILE")
    if _PROFILE is not None or not path:
        return
    import atexit
    import cProfile

    _PROFILE = cProfile.Profile()
    _PROFILE.enable()

    def dump() -> None:
        _PROFILE.disable()
        _PROFILE.dump_stats(path)
    atexit.register(dump)


def main() -> None:
    global _LOG
    _LOG = open(sys.argv[1], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - kept open
    mark("python up")
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # as the console script: bench/ is not on the path
    sys.meta_path.insert(0, _Hook())
    sys.argv = ["garrison", *sys.argv[2:]]
    from garrison.cli.main import main as garrison

    mark("garrison.cli.main imported")
    garrison()


if __name__ == "__main__":
    main()
