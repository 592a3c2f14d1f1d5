"""``garrison tui``: the security officers' terminal application.

Five screens, one per file under ``tui/screens`` and switched as Textual *modes* (each
keeps its state while another is shown): dashboard ``d``, assets ``a``, findings ``f``,
experts ``e``, drills ``r``. ``/`` focuses the screen's filter, ``?`` shows the help,
``ctrl+p`` the command palette (every action of the screen is there), ``ctrl+t``
switches light and dark, ``ctrl+q`` quits. The screens call the same services as the
CLI, in worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from garrison.i18n import _
from garrison.settings import Settings
from tui.screens.base import GarrisonScreen

if TYPE_CHECKING:
    from garrison.actions import ActionContext

STYLES = Path(__file__).parent / "styles"
SCREENS = {
    "dashboard": ("tui.screens.dashboard", "DashboardScreen", "d", _("Dashboard")),
    "assets": ("tui.screens.assets", "AssetsScreen", "a", _("Assets")),
    "findings": ("tui.screens.findings", "FindingsScreen", "f", _("Findings")),
    "experts": ("tui.screens.experts", "ExpertsScreen", "e", _("Experts")),
    "drills": ("tui.screens.drills", "DrillsScreen", "r", _("Drills")),
}
"""Mode name -> (module, screen class, key, title). A screen's module is imported when
the screen is first shown: ``garrison tui`` paints its first screen without importing
the four others (a tenth of a second)."""


def screen_class(name: str) -> type[GarrisonScreen]:
    """The screen class of a mode (importing its module)."""
    import importlib

    module, cls, _key, _title = SCREENS[name]
    found: object = getattr(importlib.import_module(module), cls)
    if not (isinstance(found, type) and issubclass(found, GarrisonScreen)):
        raise TypeError(f"{module}.{cls} is not a screen")
    return found


def make_screen(name: str) -> GarrisonScreen:
    """A new screen of a mode (Textual calls this when the mode is first shown)."""
    return screen_class(name)()


DARK, LIGHT = "textual-dark", "textual-light"


class GarrisonApp(App[None]):
    TITLE = "Garrison"
    SUB_TITLE = _("network-security supervision")
    CSS_PATH: ClassVar = sorted(STYLES.glob("*.tcss"))
    MODES: ClassVar = {name: partial(make_screen, name) for name in SCREENS}
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, f"switch_mode('{name}')", title)
          for name, (_module, _cls, key, title) in SCREENS.items()),
        # priority: the focus moves before the keys typed after "/" are delivered (see
        # action_focus_filter)
        Binding("slash", "focus_filter", _("Filter"), key_display="/", priority=True),
        Binding("question_mark", "help", _("Help"), key_display="?"),
        Binding("ctrl+t", "toggle_theme", _("Light/dark")),
        Binding("ctrl+q", "quit", _("Quit"), priority=True),
    ]

    def __init__(self, settings: Settings, *, screen: str = "dashboard",
                 theme: str | None = None, now: datetime | None = None,
                 follow: bool = False, prefetched: Future[Any] | None = None) -> None:
        super().__init__()
        self.prefetched = prefetched
        """The first screen's first read, started before Textual was imported
        (``tui.prefetch``); taken once (:meth:`take_prefetched`)."""
        if screen not in SCREENS:
            raise ValueError(f"unknown screen {screen!r}")
        if now is not None:  # tests and snapshots pin the clock
            from garrison.clock import FixedClock

            settings = settings.model_copy(update={"clock": FixedClock(now)})
        self.settings = settings
        self.first_screen = screen
        self.theme = theme or DARK
        self._action_context: ActionContext | None = None
        self._action_lock = threading.Lock()
        self.follow = follow
        """Follow changes other processes make (``garrison.changes``): the screen shown
        reloads within a second or two, keeping its cursor and filter. ``garrison tui``
        always follows; tests that do not test following leave it off, so the only
        reloads are the ones they cause."""
        self._stop_watching = threading.Event()
        self.changes_seen = 0
        self.selected_finding: int | None = None
        """The finding highlighted on the findings screen (the experts screen assigns to
        it)."""

    def settle_memory(self) -> None:
        """Once the start-up imports are done: the objects alive now (modules, classes,
        the ORM's mappers) live as long as the app, so the cyclic garbage collector
        stops scanning them (``gc.freeze``). A full collection over them took 0.1-0.2 s
        and landed, always on the same keys, in the middle of a filter keystroke."""
        import gc

        gc.collect()
        gc.freeze()

    def take_prefetched(self) -> Any:
        """The prefetched read's result, once (waiting for it if need be); None when
        there is none or it failed: the screen reads on its own (later reads always)."""
        with self._action_lock:
            future, self.prefetched = self.prefetched, None
        try:
            return None if future is None else future.result()
        except Exception:  # noqa: BLE001 - the screen's own read reports any problem
            return None

    @property
    def context(self) -> ActionContext:
        """The action context every screen's writes and reads use (built on first use,
        in a worker: it imports the ORM)."""
        with self._action_lock:
            if self._action_context is None:
                from garrison.actions import action_context

                self._action_context = action_context(self.settings)
            return self._action_context

    def now(self) -> datetime:
        """Now, from the settings' clock (``GARRISON_CLOCK``; pinned by tests)."""
        return self.settings.now()

    def on_mount(self) -> None:
        from garrison.dblock import on_lock_wait

        on_lock_wait(self._lock_wait_notice)  # a write waiting for the database says so
        self.switch_mode(self.first_screen)
        if self.follow:
            # a plain daemon thread, not a Textual worker: it never ends by itself, and
            # waiting for the workers to complete must not wait for it
            threading.Thread(target=self._watch_changes, name="garrison-changes",
                             daemon=True).start()

    def on_unmount(self) -> None:
        from garrison.dblock import on_lock_wait

        self._stop_watching.set()
        on_lock_wait(None)

    def _watch_changes(self) -> None:
        """Tell the screens when another process (or this one) committed a change."""
        from garrison.changes import ChangeWatcher

        watcher = ChangeWatcher(self.settings.db)
        try:
            while not self._stop_watching.is_set():
                if watcher.wait(0.5) and not self._stop_watching.is_set():
                    try:
                        self.call_from_thread(self._data_changed)
                    except RuntimeError:  # the app is closing
                        return
        finally:
            watcher.close()

    def _data_changed(self) -> None:
        """The screen shown reads again now; the others when they are shown next (a
        screen under a prompt, when the prompt closes)."""
        self.changes_seen += 1
        current = self.screen
        for mode in SCREENS:
            try:
                stack = self.get_screen_stack(mode)
            except KeyError:
                continue
            for screen in stack:
                if isinstance(screen, GarrisonScreen) and screen is not current:
                    screen.stale = True
        if isinstance(current, GarrisonScreen):
            current.data_changed()

    def _lock_wait_notice(self, note: str) -> None:
        """Called from a worker thread while its write waits for another writer."""
        if threading.current_thread() is threading.main_thread():
            self.notify(note, severity="warning", markup=False)
        else:
            self.call_from_thread(self.notify, note, severity="warning", markup=False)

    def action_focus_filter(self) -> None:
        """``/``: focus the screen's filter. A priority binding: Textual hands a key to the
        focused widget first and runs ordinary bindings only when it bubbles back, by
        which time the keys typed after it (``/sql`` typed fast, or while the app was
        busy) had already gone to the table and were lost. Where ``/`` is text (an input
        has the focus) or the screen has no filter, the key goes on as usual."""
        from textual.actions import SkipAction
        from textual.widgets import Input, TextArea

        screen = self.screen
        if (isinstance(self.focused, Input | TextArea) or not isinstance(screen, GarrisonScreen)
                or not screen.focus_filter()):
            raise SkipAction

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for name, (_module, _cls, key, title) in SCREENS.items():
            yield SystemCommand(_("Go to {s}").format(s=title), _("Key: {k}").format(k=key),
                                lambda name=name: self.switch_mode(name))
        if isinstance(screen, GarrisonScreen):
            for command in screen.palette_commands():
                yield SystemCommand(command.title, command.help, command.callback)
        yield SystemCommand(_("Help"), _("Keys and screens (?)"), self.action_help)
        yield SystemCommand(_("Switch light/dark theme"), _("ctrl+t"),
                            self.action_toggle_theme)
        yield from super().get_system_commands(screen)
