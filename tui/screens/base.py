"""What every Garrison screen shares: the app's settings, a title, palette commands.

Database work never runs on the UI thread: screens call services inside thread
workers (``@work(thread=True)``) and hand results back with ``call_from_thread``.

Every screen fits the terminal: Textual's breakpoints give it the class ``-narrow``
(fewer than ``NARROW`` columns), ``-normal`` or ``-wide`` (``WIDE`` and more), and
``-short`` (fewer than ``SHORT`` lines) or ``-tall``, which the stylesheets use to wrap
filter bars and move or hide panes; on a short terminal the form fields with the class
``compact-short`` lose their borders (Textual's ``compact``: one line instead of three).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, cast

from textual import events
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, Select

from garrison.i18n import _

if TYPE_CHECKING:
    from garrison.actions import ActionContext
    from garrison.settings import Settings
    from tui.app import GarrisonApp

NARROW = 120
"""Terminals narrower than this get the narrow layouts (``-narrow``)."""
WIDE = 200
"""From this width on, the wide layouts (``-wide``)."""
SHORT = 32
"""Terminals with fewer lines get the short layouts (``-short``)."""


class PaletteCommand(NamedTuple):
    """An action offered in the command palette while the screen is shown."""

    title: str
    help: str
    callback: Callable[[], object]


class GarrisonScreen(Screen[None]):
    """A top-level screen (a mode of the app)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-normal"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT, "-tall")]

    stale = False
    """Another process changed the database while this screen was not shown."""

    def reload(self) -> object:
        """Read what the screen shows again, keeping the cursor, scroll and filter."""

    def data_changed(self) -> None:
        """The database changed (``GarrisonApp`` follows it): the screen reads again."""
        self.stale = False
        self.reload()

    def on_screen_resume(self) -> None:
        if self.stale:
            self.data_changed()

    def on_resize(self, event: events.Resize) -> None:
        """Short terminals: the fields of class ``compact-short`` take one line."""
        compact = event.size.height < SHORT
        for widget in self.query(".compact-short"):
            if isinstance(widget, Input | Select | Checkbox | Button):
                widget.compact = compact

    @property
    def garrison(self) -> GarrisonApp:
        return cast("GarrisonApp", self.app)

    @property
    def settings(self) -> Settings:
        return self.garrison.settings

    @property
    def context(self) -> ActionContext:
        """What the screen's actions run with (the same as the CLI's): build it in a
        worker thread, it imports the ORM."""
        return self.garrison.context

    def say_reopened(self, ids: tuple[int, ...]) -> None:
        """Risk acceptances past their date were reopened before the read (as in the CLI)."""
        self.notify(_("Reopened {n} finding(s) whose risk acceptance expired: {ids}").format(
            n=len(ids), ids=", ".join(map(str, ids))), markup=False)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """The screen's own actions, for the command palette."""
        return ()

    def action_focus_filter(self) -> None:
        """``/`` (and the palette): focus the screen's filter."""
        self.focus_filter()

    def focus_filter(self) -> bool:
        """Focus the widget with the ``filter`` class, at once (``widget.focus()`` waits
        behind the messages already queued); False when the screen has none."""
        for widget in self.query(".filter"):
            self.set_focus(widget)
            return True
        return False
