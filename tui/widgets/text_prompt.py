"""A modal asking for one line of text (an owner's name, a note)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from garrison.i18n import _


class TextPrompt(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, question: str, *, placeholder: str = "", value: str = "",
                 error: str | None = None) -> None:
        super().__init__()
        self.question, self.placeholder, self.value = question, placeholder, value
        self.error = error
        """Why the last answer was refused (the prompt came back with it)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt"):
            yield Label(self.question)
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            yield Label(self.error or "", id="error", classes="error", markup=False)
            yield Label(_("enter to confirm, escape to cancel"), classes="dim")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
