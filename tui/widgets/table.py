"""``MeasuredTable``: Textual's DataTable, with column widths that never render stale.

DataTable measures new rows' cells when it is idle. A line drawn between adding the rows
and that moment (a busy machine, a detail pane filled while the screen repaints) is
cached with the header's widths, and Textual 8 keeps that cached line after measuring
(it clears the cache only for auto-height rows), so a column could stay cut to its
header ("22/t", "Outda"). This subclass clears the line caches whenever the idle
measurement had work to do. Every table in the TUI is one.

It also takes the keys officers know from k9s, lazygit and htop: ``j``/``k`` down and
up, ``g``/``G`` first and last row, ``ctrl+d``/``ctrl+u`` half a page down and up. A
screen whose table holds pages of a longer list sets ``more_below``; ``G`` and ``End``
then post ``WantsEnd`` and the screen loads to the real end before the cursor goes
there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable


class MeasuredTable(DataTable[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
        Binding("g", "first_row", show=False),
        Binding("G", "last_row", show=False),
        Binding("end", "last_row", show=False),
        Binding("home", "first_row", show=False),
        Binding("ctrl+d", "half_page(1)", show=False),
        Binding("ctrl+u", "half_page(-1)", show=False),
    ]

    class WantsEnd(Message):
        """The user asked for the last row of a list the table holds only part of."""

        def __init__(self, table: MeasuredTable) -> None:
            super().__init__()
            self.table = table

    more_below: Callable[[], bool] | None = None
    """Set by a paged screen: are there rows beyond the last one loaded?"""

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.more_below is not None and self.more_below():
            self.post_message(self.WantsEnd(self))
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def action_half_page(self, direction: int) -> None:
        step = max(1, (self.scrollable_content_region.height - 1) // 2)
        row = min(max(self.cursor_row + direction * step, 0), max(self.row_count - 1, 0))
        self.move_cursor(row=row)
    async def _on_idle(self, event: events.Idle) -> None:
        measured = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measured:
            self._clear_caches()
            self.refresh()
