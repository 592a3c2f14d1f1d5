"""Assets: the inventory by unit, filtered, with the highlighted asset in detail.

On the left the org tree (selecting a unit shows its assets and its sub-units'); above
the table a text filter (address, hostname, or the name or product of an open
service) and a service filter (``ssh``, ``443``, ``tcp/22``). The table holds the
first ``LIMIT`` matching assets and says how many match in all; below it the
highlighted asset's services, findings and recent changes. Every query runs in a
worker thread; a newer filter cancels the older query's result.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Input, Label, Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from garrison.errors import GarrisonError
from garrison.i18n import _, ngettext
from garrison.words import SEVERITY_STYLE
from scanner.listing import AssetLine, AssetQuery
from tui.screens.base import GarrisonScreen, PaletteCommand
from tui.timefmt import zoned
from tui.widgets.table import Col, MeasuredTable

if TYPE_CHECKING:
    from garrison.org.queries import UnitNode
    from scanner.service import AssetView, UnitTree

LIMIT = 500
"""Rows read into the table at most; the count line says how many match in all."""
RECENT_CHANGES = 10
COLUMNS = [Col("address", _("address"), 0), Col("unit", _("unit"), 5, max_width=14),
           Col("hostname", _("hostname"), 1, flex=True, min_width=20),
           Col("state", _("state"), 3), Col("services", _("services"), 4),
           Col("findings", _("findings"), 2), Col("last_seen", _("last seen"), 6)]
"""Shown left to right; a narrow table drops the highest ranks first (see ``Col``)."""
SERVICE_COLUMNS = [Col("port", _("port"), 0), Col("service", _("service"), 1),
                   Col("product", _("product"), 2, flex=True, min_width=8)]
FINDING_COLUMNS = [Col("id", _("id"), 0), Col("severity", _("severity"), 1),
                   Col("status", _("status"), 3),
                   Col("title", _("title"), 2, flex=True, min_width=10)]
CHANGE_COLUMNS = [Col("time", _("time"), 1), Col("what", _("what"), 0, flex=True,
                                                   min_width=10)]
STATE_STYLE = {"up": "green", "down": "yellow", "gone": "dim"}


# The reads are the scanner's service (``scanner.service``: ``search``, ``unit_tree``,
# ``asset_view``); the screen runs no SQL of its own.


# ---------------------------------------------------------------------- the screen


class AssetsScreen(GarrisonScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "focus_tree", _("Units")),
        Binding("ctrl+r", "reload", _("Reload")),
        Binding("escape", "focus_table", _("Table"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.asked = AssetQuery()
        self.limit = LIMIT
        self.rows: dict[int, AssetLine] = {}
        self.total: int | None = None
        self.detail: AssetView | None = None
        """The asset the detail pane shows."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            tree: Tree[str | None] = Tree(_("All units"), id="units")
            tree.auto_expand = False
            yield tree
            with Vertical(id="main"):
                with Horizontal(id="filters"):
                    yield Input(placeholder=_("/ address, hostname, service or product"),
                                id="text", classes="filter compact-short")
                    yield Input(placeholder=_("service: ssh, 443, tcp/22"), id="service",
                                classes="compact-short")
                yield MeasuredTable(id="table", cursor_type="row", zebra_stripes=True)
                yield Label("", id="count")
                with Vertical(id="detail"):
                    yield Static(Text(_("Select an asset."), style="dim"), id="detail-head")
                    with Horizontal(id="detail-tables"):
                        with Vertical(id="services-box", classes="detail-box"):
                            yield Label(_("Open services"), id="services-title",
                                        classes="detail-title")
                            yield MeasuredTable(id="services", cursor_type="none")
                        with Vertical(id="findings-box", classes="detail-box"):
                            yield Label(_("Findings"), classes="detail-title")
                            yield MeasuredTable(id="asset-findings", cursor_type="none")
                        with Vertical(id="changes-box", classes="detail-box"):
                            yield Label(_("Recent changes"), classes="detail-title")
                            yield MeasuredTable(id="asset-changes", cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#table", MeasuredTable)
        table.set_columns(COLUMNS)
        self.query_one("#services", MeasuredTable).set_columns(SERVICE_COLUMNS)
        self.query_one("#asset-findings", MeasuredTable).set_columns(FINDING_COLUMNS)
        self.query_one("#asset-changes", MeasuredTable).set_columns(CHANGE_COLUMNS)
        table.focus()
        self.load_units()
        self.reload()

    def palette_commands(self) -> Iterable[PaletteCommand]:
        yield PaletteCommand(_("Assets: focus the unit tree"), "u", self.action_focus_tree)
        yield PaletteCommand(_("Assets: focus the filter"), "/", self.action_focus_filter)
        yield PaletteCommand(_("Assets: focus the service filter"), "",
                             self.action_focus_service)
        yield PaletteCommand(_("Assets: focus the table"), "escape", self.action_focus_table)
        yield PaletteCommand(_("Assets: show every unit"), "", self.action_all_units)
        yield PaletteCommand(_("Assets: clear the filters"), "", self.action_clear_filters)
        yield PaletteCommand(_("Assets: reload"), "ctrl+r", self.action_reload)

    def action_focus_tree(self) -> None:
        """``u``: the unit tree (on a narrow terminal it is hidden until asked for)."""
        self.add_class("-tree-open")
        self.query_one("#units", Tree).focus()

    def close_tree(self) -> None:
        """A narrow terminal hides the tree again once a unit is chosen."""
        if self.has_class("-tree-open"):
            self.remove_class("-tree-open")
            if self.has_class("-narrow"):
                self.query_one("#table", DataTable).focus()

    def action_focus_service(self) -> None:
        self.query_one("#service", Input).focus()

    def action_focus_table(self) -> None:
        self.remove_class("-tree-open")
        self.query_one("#table", DataTable).focus()

    def action_all_units(self) -> None:
        tree: Tree[str | None] = self.query_one("#units", Tree)
        tree.select_node(tree.root)

    def action_clear_filters(self) -> None:
        for input_id in ("#text", "#service"):
            self.query_one(input_id, Input).value = ""

    def action_reload(self) -> None:
        self.load_units()
        self.reload()

    # ------------------------------------------------------------------ the tree

    @work(thread=True, exclusive=True, group="units")
    def load_units(self) -> None:
        from scanner.service import unit_tree

        self.app.call_from_thread(self._show_units, unit_tree(self.context))

    def _show_units(self, units: UnitTree) -> None:
        tree: Tree[str | None] = self.query_one("#units", Tree)
        selected = self.asked.unit
        tree.clear()
        tree.root.set_label(self._label(_("All units"), "", units.total))
        tree.root.data = None
        found: TreeNode[str | None] | None = None

        def add(parent: TreeNode[str | None], node: UnitNode) -> None:
            nonlocal found
            code = node.unit.code
            label = self._label(code, node.unit.name, units.assets.get(code, 0))
            if node.children:
                branch = parent.add(label, data=code)
                for child in node.children:
                    add(branch, child)
                item = branch
            else:
                item = parent.add_leaf(label, data=code)
            if code == selected:
                found = item

        for root in units.roots:
            add(tree.root, root)
        tree.root.expand()
        for child in tree.root.children:
            child.expand()
        if found is not None:
            self._reveal(found)
            tree.move_cursor(found)

    @staticmethod
    def _label(code: str, name: str, assets: int) -> Text:
        """``code name count``; a unit without assets (below it too) is dimmed."""
        style = "" if assets else "dim"
        return Text.assemble((code, f"bold {style}".strip()),
                             (f" {name}" if name else "", style),
                             (f" {assets:,}" if assets else "", "cyan"))

    @staticmethod
    def _reveal(node: TreeNode[str | None]) -> None:
        parent = node.parent
        while parent is not None:
            parent.expand()
            parent = parent.parent

    def unit_node(self, code: str | None) -> TreeNode[str | None] | None:
        """The tree's node of the unit ``code`` (the root for ``None``)."""
        tree: Tree[str | None] = self.query_one("#units", Tree)
        stack = [tree.root]
        while stack:
            node = stack.pop()
            if node.data == code:
                return node
            stack.extend(node.children)
        return None

    @on(Tree.NodeSelected, "#units")
    def unit_selected(self, event: Tree.NodeSelected[str | None]) -> None:
        if event.node.allow_expand and not event.node.is_expanded:
            event.node.expand()
        elif self.has_class("-narrow"):
            self.close_tree()
        self.set_query(AssetQuery(unit=event.node.data, text=self.asked.text,
                                  service=self.asked.service))

    # ------------------------------------------------------------------ rows

    @on(Input.Changed, "#text, #service")
    def filter_changed(self) -> None:
        self.set_query(AssetQuery(
            unit=self.asked.unit,
            text=self.query_one("#text", Input).value.strip() or None,
            service=self.query_one("#service", Input).value.strip() or None))

    def set_query(self, q: AssetQuery) -> None:
        if q != self.asked:
            self.asked = q
            self.reload()

    def reload(self) -> None:
        self.fetch(self.asked, self.limit)

    @work(thread=True, exclusive=True, group="rows")
    def fetch(self, q: AssetQuery, limit: int) -> None:
        from scanner.service import search

        worker = get_current_worker()
        try:
            page = search(self.context, q, limit=limit)
        except GarrisonError as exc:
            self.app.call_from_thread(self._show_problem, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_rows, q, page.rows, page.total)

    def _show_problem(self, exc: GarrisonError) -> None:
        self.query_one("#count", Label).update(Text(exc.message, style="bold red"))

    def local(self, value: datetime) -> str:
        return value.astimezone(ZoneInfo(self.settings.timezone)).strftime("%Y-%m-%d %H:%M")

    def _show_rows(self, q: AssetQuery, rows: list[AssetLine], total: int) -> None:
        if q != self.asked:
            return  # an older question
        table = self.query_one("#table", DataTable)
        kept = None  # the asset under the cursor stays under it when the rows are read again
        if table.row_count:
            kept = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        self.rows = {row.id: row for row in rows}
        self.total = total
        for row in rows:
            table.add_row(
                row.address, row.unit, row.hostname or "",
                Text(row.state, style=STATE_STYLE.get(row.state, "")),
                Text(_("{n} last seen").format(n=row.open_services), justify="right",
                     style="dim") if row.gone and row.open_services else
                Text(str(row.open_services), justify="right"),
                Text(str(row.open_findings), justify="right",
                     style="bold red" if row.open_findings else "dim"),
                self.local(row.last_seen), key=str(row.id))
        if rows:
            keys = [str(row.id) for row in rows]
            table.move_cursor(row=keys.index(kept) if kept in keys else 0)
        else:
            self._show_detail(None)
        self._count_text(q, len(rows), total)

    def _count_text(self, q: AssetQuery, shown: int, total: int) -> None:
        where = [_("unit {u} and below").format(u=q.unit) if q.unit else _("every unit")]
        if q.text:
            where.append(_("text {t!r}").format(t=q.text))
        if q.service:
            where.append(_("service {s!r}").format(s=q.service))
        scope = " · ".join(where)
        if total == 0:
            text = _("No asset matches ({w}).").format(w=scope)
            if not (q.unit or q.text or q.service):
                text = _("The inventory is empty: import a scan with garrison scan import.")
        elif shown < total:
            text = _("First {n:,} of {t:,} assets ({w}): narrow the filter to see the "
                     "rest.").format(n=shown, t=total, w=scope)
        else:
            text = ngettext("{t:,} asset ({w})", "{t:,} assets ({w})", total).format(
                t=total, w=scope)
        self.query_one("#count", Label).update(text)

    # ------------------------------------------------------------------ detail

    @on(DataTable.RowHighlighted, "#table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        row = self.rows.get(int(event.row_key.value))
        if row is not None:
            self.show_detail(row.id, row.address, row.unit)

    @work(thread=True, exclusive=True, group="detail")
    def show_detail(self, asset_id: int, address: str, unit: str) -> None:
        from scanner.service import asset_view

        try:
            view = asset_view(self.context, asset_id, address, unit)
        except GarrisonError as exc:  # deleted since the list was read
            self.app.call_from_thread(self._show_problem, exc)
            view = None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_detail, view)

    def _show_detail(self, view: AssetView | None) -> None:
        self.detail = view
        head = self.query_one("#detail-head", Static)
        services = self.query_one("#services", DataTable)
        findings = self.query_one("#asset-findings", DataTable)
        changes = self.query_one("#asset-changes", DataTable)
        for table in (services, findings, changes):
            table.clear()
        if view is None:
            head.update(Text(_("No asset selected."), style="dim"))
            return
        parts: list[str | tuple[str, str]] = [
            (view.address, "bold"), " · ", view.hostname or _("no hostname"), " · ",
            _("unit {u}").format(u=view.unit), " · ",
            (view.state, STATE_STYLE.get(view.state, ""))]
        if view.os_guess:
            parts += [" · ", view.os_guess]
        parts += [" · ", (_("first seen {a}, last seen {b}").format(
            a=zoned(view.first_seen, self.settings.timezone),
            b=zoned(view.last_seen, self.settings.timezone)), "dim")]
        head.update(Text.assemble(*parts))
        self.query_one("#services-title", Label).update(
            _("Services when last seen") if view.state == "gone" else _("Open services"))
        for port, name, product in view.services:
            services.add_row(port, name, product)
        for fid, severity, status, title in view.findings:
            findings.add_row(str(fid), Text(severity, style=SEVERITY_STYLE.get(severity, "")),
                             status, title)
        for at, what in view.changes:
            changes.add_row(self.local(at), what)
