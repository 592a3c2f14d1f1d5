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

Columns that give way (``Col``, ``set_columns``): each has a rank, and when the table is
too narrow for all of them the highest ranks are dropped, whole, rather than every
column squeezed to a few letters; the ``flex`` column (a finding's title) takes the
width the others leave. A dropped column's cells are kept (``get_cell`` still answers),
and it comes back when the table is wide enough again: the columns are fitted whenever
the table is resized or its rows change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeGuard

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, Column, ColumnKey, RowKey

SegmentLines = list[list[Segment]]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(cell: object) -> TypeGuard[Text]:
    """A ``Text`` that is one line of printable characters: its width is its length in
    cells, and it draws as it reads (no line break or tab for Rich to lay out)."""
    return isinstance(cell, Text) and not _CONTROL.search(cell.plain)


@dataclass(frozen=True)
class Col:
    """A column of a ``MeasuredTable`` that gives way when the table is narrow."""

    key: str
    label: str
    rank: int
    """Lower ranks stay longest: a narrow table drops its highest ranks first, and a
    column shows only if every lower rank shows too."""
    max_width: int | None = None
    """Longer cells are cut with an ellipsis (they wrap, in a table whose rows grow)."""
    flex: bool = False
    """Takes the width the shown columns leave, and at least ``min_width``."""
    min_width: int = 16


def plain(value: Any) -> Any:
    """A string cell as literal text: DataTable would parse it as Rich markup, so a
    finding titled ``[/]`` or ``[bold]`` would crash the screen or change its look."""
    return Text(value, end="") if isinstance(value, str) else value


def cell_width(value: object) -> int:
    """The width a cell needs: its longest line."""
    if value is None:
        return 0
    text = value.plain if isinstance(value, Text) else str(value)
    if "\n" not in text:
        return cell_len(text)
    return max(cell_len(line) for line in text.split("\n"))


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

    specs: tuple[Col, ...] = ()
    """The columns of ``set_columns``, in the order they are shown."""
    _by_key: dict[str, tuple[Col, Column]]
    _widths: dict[str, int]
    """Every column's widest cell (or label) so far."""
    _plan: tuple[tuple[str, int], ...] | None = None
    _shown: tuple[str, ...] = ()
    _refit = False
    _scrollbar = False

    # ------------------------------------------------------------------ columns

    def set_columns(self, columns: Iterable[Col]) -> None:
        """Add the columns, in order; they are shown as the width allows (see ``Col``)."""
        self.specs = tuple(columns)
        self._by_key = {}
        self._widths = {}
        for spec in self.specs:
            column_key = self.add_column(spec.label, key=spec.key)
            self._by_key[spec.key] = (spec, self.columns[column_key])
            self._widths[spec.key] = cell_len(self.columns[column_key].label.plain)
        self._plan, self._shown = None, tuple(spec.key for spec in self.specs)
        self._fit()

    @property
    def visible_columns(self) -> list[str]:
        """The keys of the columns shown, left to right."""
        return [str(column.key.value) for column in self.ordered_columns]

    def _fit(self) -> None:
        """Show the columns that fit the table's width, lowest ranks first."""
        self._refit = False
        width = self.content_region.width
        self._scrollbar = self._scrolls()
        if self._scrollbar:  # the vertical scrollbar takes its share
            width -= self.styles.scrollbar_size_vertical
        if not self.specs or width <= 0:
            return
        plan = self._plan_for(width)
        if plan == self._plan:
            return
        self._plan, self._shown = plan, tuple(key for key, _width in plan)
        self.columns.clear()
        for key, column_width in plan:
            column = self._by_key[key][1]
            column.width, column.auto_width = column_width, False
            self.columns[column.key] = column
        self._column_locations = TwoWayDict(
            {column_key: index for index, column_key in enumerate(self.columns)})
        for row in self.rows.values():
            if row.auto_height:  # the wrapped rows' heights change: measure them again
                row.height = 0  # (a row keeps a height it has while measured)
                self._new_rows.add(row.key)
        self._require_update_dimensions = True
        self._update_count += 1
        self._clear_caches()
        self.cursor_coordinate = self.cursor_coordinate
        self.check_idle()
        self.refresh(layout=True)

    def _scrolls(self) -> bool:
        """Are the rows taller than the table (a vertical scrollbar shows)?"""
        height = self.content_region.height - (self.header_height if self.show_header else 0)
        return self.row_count > height or sum(
            max(row.height, 1) for row in self.rows.values()) > height

    def _plan_for(self, width: int) -> tuple[tuple[str, int], ...]:
        """(key, width) of the columns shown at ``width`` cells, in display order."""
        pad = 2 * self.cell_padding
        natural = {}
        for spec in self.specs:
            wanted = self._widths[spec.key]
            if spec.flex:
                wanted = min(wanted, spec.min_width)
            elif spec.max_width is not None:
                wanted = min(wanted, spec.max_width)
            natural[spec.key] = wanted
        shown: set[str] = set()
        used = 0
        for spec in sorted(self.specs, key=lambda s: s.rank):
            need = natural[spec.key] + pad
            if shown and used + need > width:
                break
            shown.add(spec.key)
            used += need
        spare = max(width - used, 0)
        return tuple((spec.key, natural[spec.key] + (spare if spec.flex else 0))
                     for spec in self.specs if spec.key in shown)

    def _prepare(self, spec: Col, value: Any, height: int | None) -> Any:
        """A cell that may be cut ends with an ellipsis (one-line rows); note its width."""
        value = plain(value)
        if height == 1 and (spec.flex or spec.max_width is not None):
            if isinstance(value, Text) and value.overflow is None:
                value.no_wrap, value.overflow = True, "ellipsis"
        needed = cell_width(value)
        if needed > self._widths[spec.key]:
            self._widths[spec.key] = needed
            self._refit = True
        return value

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        if not self.specs:
            return super().add_row(*map(plain, cells), height=height, key=key, label=label)
        if len(cells) != len(self.specs):
            raise ValueError(f"{len(cells)} cells for {len(self.specs)} columns")
        full = {spec.key: self._prepare(spec, cell, height)
                for spec, cell in zip(self.specs, cells, strict=True)}
        row_key = super().add_row(*(full[name] for name in self._shown),
                                  height=height, key=key, label=label)
        data = self._data[row_key]
        for name, cell in full.items():  # the dropped columns' cells too
            data[self._by_key[name][1].key] = cell
        self._refit = True  # widths, or a scrollbar now needed
        return row_key

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any,
                    *, update_width: bool = False) -> None:
        name = column_key.value if isinstance(column_key, ColumnKey) else column_key
        if not self.specs or name not in self._by_key:
            super().update_cell(row_key, column_key, plain(value), update_width=update_width)
            return
        spec, column = self._by_key[name]
        row = self.rows.get(RowKey(row_key) if isinstance(row_key, str) else row_key)
        value = self._prepare(spec, value, row.height if row and not row.auto_height
                              else None)
        if column.key in self._column_locations:
            super().update_cell(row_key, column_key, value, update_width=update_width)
        elif row is None:
            raise CellDoesNotExist(f"No row {row_key!r}.")
        else:
            self._data[row.key][column.key] = value
        if self._refit:
            self.check_idle()

    def clear(self, columns: bool = False) -> Any:
        result = super().clear(columns)
        if columns:
            self.specs, self._plan, self._shown = (), None, ()
        elif self.specs:
            for spec, column in self._by_key.values():
                self._widths[spec.key] = cell_len(column.label.plain)
            self._refit = True
        return result

    def on_resize(self, _event: events.Resize) -> None:
        if self.specs:
            self._fit()

    # ------------------------------------------------------------------ drawing

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """New rows' widths: a one-line ``Text`` measures as its length in cells, which
        is what Rich's measurement gives it, without splitting it into words first (a
        tenth of a filter keystroke's time at 100,000 findings). Rows that wrap or carry
        a label take DataTable's road."""
        rest: list[RowKey] = []
        columns = self.ordered_columns
        for row_key in new_rows:
            row_index = self._row_locations.get(row_key)
            row = self.rows.get(row_key)
            if row_index is None or row is None:
                continue
            if row.auto_height or row.label is not None:
                rest.append(row_key)
                continue
            for column, cell in zip(columns, self._get_row_renderables(row_index).cells,
                                    strict=False):
                if one_line(cell):
                    width = cell_len(cell.plain)
                else:
                    width = measure(self.app.console, cell, 1)
                if width > column.content_width:
                    column.content_width = width
        super()._update_dimensions(rest)  # and the table's size, as DataTable sets it

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> SegmentLines:
        """A body cell of one line, drawn straight from its ``Text``: DataTable's own road
        (a ``Padding`` in a ``Styled``, through the console's layout engine, twice) took
        most of the time of a filter keystroke at 100,000 findings. The segments are the
        same (``tests/tui/test_table.py`` compares every cell of every screen)."""
        lines = self._fast_cell(row_index, column_index, base_style, width, cursor, hover)
        if lines is None:
            return super()._render_cell(row_index, column_index, base_style, width,
                                        cursor, hover)
        return lines

    def _fast_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                   cursor: bool, hover: bool) -> SegmentLines | None:
        if row_index < 0 or column_index < 0:
            return None  # the header and row labels: DataTable's road
        row_key = self._row_locations.get_key(row_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if row is None or row.auto_height or row.height != 1:
            return None
        column_key = self._column_locations.get_key(column_index)
        cache_key: Any = (row_key, column_key, base_style, cursor, hover,
                          self._show_hover_cursor, self._update_count,
                          self._pseudo_class_state)
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        cell = self._get_row_renderables(row_index).cells[column_index]
        if not one_line(cell) or cell.justify not in (None, "default", "left"):
            return None
        pad = self.cell_padding
        inner = width - 2 * pad
        if inner < 0:
            return None
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css")
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) \
            + component_style
        text = cell.copy()
        # as Text.wrap does it: a "left" text is padded in its own style, others are not
        text.truncate(inner, overflow=cell.overflow or "fold", pad=cell.justify == "left")
        console = self.app.console
        # the text's own style is under its spans (``render`` leaves it to the caller)
        segments = [Segment(" " * pad),
                    *Segment.apply_style(text.render(console, end=""),
                                         console.get_style(text.style) if text.style else None)]
        segments.append(Segment(" " * (inner - text.cell_len + pad)))
        lines = [list(Segment.apply_style(segments, console.get_style(pre_style),
                                          post_style))]
        self._cell_render_cache[cache_key] = lines
        return lines

    # ------------------------------------------------------------------ keys

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
        if self._refit:
            self._fit()
        measured = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measured:
            self._clear_caches()
            self.refresh()
            if self.specs and self._scrolls() != self._scrollbar:
                self._fit()  # the rows measured overflow the table now, or no longer
