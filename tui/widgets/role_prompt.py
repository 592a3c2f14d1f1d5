"""The modals of calling an expert in: which role, and -- when the assignment was refused
for a conflict of interest or an absence -- the reason to assign anyway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
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


class OverridePrompt(ModalScreen[str | None]):
    """An assignment was refused: why, and the reason to assign anyway (stored on the
    assignment and audited). Escape assigns nobody; an empty reason is not accepted."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, refused: str, reasons: Sequence[str], *, value: str = "",
                 error: str | None = None) -> None:
        super().__init__()
        self.refused, self.reasons, self.value = refused, tuple(reasons), value
        self.error = error
        """Why the last attempt did not go through (the prompt came back with it)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt"):
            yield Label(self.refused, markup=False)
            for reason in self.reasons:
                yield Label(f"  • {reason}", classes="error", markup=False)
            yield Label(_("Assign anyway? Give the reason for the override; it is stored "
                          "with the assignment and audited."))
            yield Input(value=self.value, placeholder=_("why this expert, who approved it"),
                        id="reason")
            yield Label(self.error or "", id="error", classes="error", markup=False)
            yield Label(_("enter to assign anyway, escape to cancel"), classes="dim")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.query_one("#error", Label).update(_("an override needs a reason"))
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
