"""``MeasuredTable`` draws a one-line body cell straight from its ``Text``: the same
segments, text and style, as DataTable's own road, for every cell of every screen's
tables, with the cursor on it or not, at a narrow and a wide size, in both themes."""

from __future__ import annotations

from typing import Any

import pytest
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from garrison.settings import Settings
from tests.tui.conftest import NOW, settle
from tui.app import LIGHT, SCREENS, GarrisonApp
from tui.widgets.table import MeasuredTable


def slow(table: MeasuredTable, row: int, column: int, style: Style, width: int,
         cursor: bool) -> list[list[Segment]]:
    """DataTable's own drawing of the cell (its cache left out)."""
    table._cell_render_cache.clear()
    return DataTable._render_cell(table, row, column, style, width, cursor)


def show(lines: list[list[Segment]]) -> list[tuple[str, str]]:
    return [(seg.text, str(seg.style)) for line in lines for seg in line]


def same(a: list[list[Segment]], b: list[list[Segment]]) -> bool:
    """Equal as the terminal shows them: the text, and each cell's style."""
    def cells(lines: list[list[Segment]]) -> list[tuple[str, Style | None]]:
        return [(ch, seg.style) for line in lines for seg in line for ch in seg.text]
    return cells(a) == cells(b)


@pytest.mark.parametrize("size", [(80, 24), (220, 60)], ids=["80x24", "220x60"])
@pytest.mark.parametrize("theme", [None, LIGHT], ids=["dark", "light"])
async def test_every_cell_is_drawn_as_datatable_draws_it(tui_db_drill: Settings,
                                                         size: tuple[int, int],
                                                         theme: str | None) -> None:
    checked = 0
    for screen in SCREENS:
        app = GarrisonApp(tui_db_drill, screen=screen, now=NOW, theme=theme)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for table in app.screen.query(MeasuredTable):
                style = table.rich_style
                for row in range(table.row_count):
                    for column, col in enumerate(table.ordered_columns):
                        width = col.get_render_width(table)
                        for cursor in (False, True):
                            table._cell_render_cache.clear()
                            fast = table._fast_cell(row, column, style, width, cursor, False)
                            if fast is None:
                                continue
                            expected = slow(table, row, column, style, width, cursor)
                            assert same(fast, expected), (screen, table.id, row, column,
                                                          show(fast), show(expected))
                            checked += 1
    assert checked > 150, "too few cells took the quick road to prove anything"


async def test_cut_cells_and_wide_characters() -> None:
    """An ellipsis where a title is cut, and a cut inside a double-width character."""
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield MeasuredTable(id="t")

    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(MeasuredTable)
        table.add_column("a", width=7, key="a")
        table.add_column("b", width=5, key="b")
        cut = Text("门户网站存在SQL注入", no_wrap=True, overflow="ellipsis")
        table.add_row(cut, Text("弱口令x", style="bold red"))
        table.add_row(Text("ok"), Text(""))
        await pilot.pause()
        style = table.rich_style
        for row in range(2):
            for column in range(2):
                width = table.ordered_columns[column].get_render_width(table)
                for cursor in (False, True):
                    table._cell_render_cache.clear()
                    fast: Any = table._fast_cell(row, column, style, width, cursor, False)
                    assert fast is not None
                    assert same(fast, slow(table, row, column, style, width, cursor))
        table._cell_render_cache.clear()
        drawn = table._fast_cell(0, 0, style, 9, False, False)
        assert drawn is not None and "".join(s.text for s in drawn[0]) == " 门户网… "


async def test_columns_measure_as_datatable_measures_them() -> None:
    """The widths of new rows, taken without Rich's word splitting, are DataTable's."""
    from textual.app import App, ComposeResult

    cells = [Text("门户网站存在SQL注入"), Text("a b  c"), Text(""), Text("tab\there"),
             Text("two\nlines"), Text("ｆｕｌｌ　ｗｉｄｔｈ", style="bold"), Text("[b]literal[/b]"),
             Text("x" * 40, overflow="ellipsis")]

    class Both(App[None]):
        def compose(self) -> ComposeResult:
            yield MeasuredTable(id="ours")
            yield DataTable(id="theirs")

    app = Both()
    async with app.run_test(size=(200, 30)) as pilot:
        for table_id in ("ours", "theirs"):
            table = app.query_one(f"#{table_id}", DataTable)
            for i in range(len(cells)):
                table.add_column(f"c{i}", key=f"c{i}")
            table.add_row(*cells)
            table.add_row(*reversed(cells))
        await pilot.pause()
        ours, theirs = (app.query_one(f"#{t}", DataTable) for t in ("ours", "theirs"))
        assert [c.content_width for c in ours.ordered_columns] == [
            c.content_width for c in theirs.ordered_columns]
        assert max(c.content_width for c in ours.ordered_columns) == 40
