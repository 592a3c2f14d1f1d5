"""The modal asking where and how to export what the findings filter shows."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from garrison.findings.export.registry import FORMATS
from garrison.i18n import _


class ExportPrompt(ModalScreen[tuple[str, Path] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, describe: str, initial: tuple[str, Path] | None = None,
                 error: str | None = None) -> None:
        super().__init__()
        self.describe = describe
        self.error = error
        """Why the last export was refused (the prompt came back with it)."""
        self.initial = initial
        """The format and path entered before (the database was busy)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt"):
            yield Label(_("Export the findings that match: {f}").format(f=self.describe))
            fmt, path = self.initial or ("csv", Path.cwd() / "findings.csv")
            yield Select([(name, name) for name in FORMATS], value=fmt, allow_blank=False,
                         id="format")
            yield Input(value=str(path), id="path")
            yield Label(self.error or "", id="error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Export"), variant="primary", id="ok")
                yield Button(_("Cancel"), id="cancel")

    @on(Select.Changed, "#format")
    def format_changed(self, event: Select.Changed) -> None:
        path = Path(self.query_one("#path", Input).value)
        suffix = {"xlsx": ".xlsx", "html": ".html", "ocsf": ".json"}.get(str(event.value),
                                                                        f".{event.value}")
        self.query_one("#path", Input).value = str(path.with_suffix(suffix))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def submit(self) -> None:
        fmt = str(self.query_one("#format", Select).value)
        self.dismiss((fmt, Path(self.query_one("#path", Input).value).expanduser()))
