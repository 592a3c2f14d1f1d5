"""What every Garrison screen shares: the app's settings, a title, palette commands.

Database work never runs on the UI thread: screens call services inside thread
workers (``@work(thread=True)``) and hand results back with ``call_from_thread``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from garrison.actions import ActionContext
    from garrison.settings import Settings
    from tui.app import GarrisonApp




class PaletteCommand(NamedTuple):
    """An action offered in the command palette while the screen is shown."""

    title: str
    help: str
    callback: Callable[[], object]


class GarrisonScreen(Screen[None]):
    """A top-level screen (a mode of the app)."""

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

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """The screen's own actions, for the command palette."""
        return ()

    def action_focus_filter(self) -> None:
        """``/``: focus the screen's filter (the widget with the ``filter`` class)."""
        for widget in self.query(".filter"):
            widget.focus()
            return
