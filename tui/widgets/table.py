"""``MeasuredTable``: Textual's DataTable, with column widths that never render stale.

DataTable measures new rows' cells when it is idle. A line drawn between adding the rows
and that moment (a busy machine, a detail pane filled while the screen repaints) is
cached with the header's widths, and Textual 8 keeps that cached line after measuring
(it clears the cache only for auto-height rows), so a column could stay cut to its
header ("22/t", "Outda"). This subclass clears the line caches whenever the idle
measurement had work to do. Every table in the TUI is one.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import DataTable


class MeasuredTable(DataTable[Any]):
    async def _on_idle(self, event: events.Idle) -> None:
        measured = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measured:
            self._clear_caches()
            self.refresh()
