"""The modal asking which role an expert is called in for."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from garrison.i18n import _
from garrison.vocab import AssignmentRole

ROLES = [(AssignmentRole.referee, _("referee: judges the response")),
         (AssignmentRole.evaluator, _("evaluator: assesses the finding")),
         (AssignmentRole.responder, _("responder: helps handle it"))]


class RolePrompt(ModalScreen[AssignmentRole | None]):
    """Which role the expert is called in for."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt"):
            yield Label(self.question)
            yield OptionList(*(Option(label, id=role.value) for role, label in ROLES),
                             id="role")
            yield Label(_("enter to assign, escape to cancel"), classes="dim")

    def on_mount(self) -> None:
        self.query_one("#role", OptionList).focus()

    @on(OptionList.OptionSelected, "#role")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(AssignmentRole(str(event.option_id)))

    def action_cancel(self) -> None:
        self.dismiss(None)
