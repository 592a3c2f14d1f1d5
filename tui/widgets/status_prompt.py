"""The modal asking for a finding's new status, with what the lifecycle requires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from garrison.i18n import _
from garrison.vocab import STATUS_MOVES, FindingStatus


@dataclass(frozen=True)
class StatusChange:
    status: FindingStatus
    reason: str | None
    until: date | None
    approver: str | None


class StatusPrompt(ModalScreen[StatusChange | None]):
    """Pick a status among the moves the lifecycle allows from the current one; a reason
    (required for false_positive and accepted_risk), and for accepted_risk an approver
    and an expiry date. The lifecycle itself decides: a refused move brings the prompt
    back with what was entered and why (``error``), not a crash."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, finding_id: int, current: FindingStatus,
                 initial: StatusChange | None = None, error: str | None = None) -> None:
        super().__init__()
        self.error = error
        self.finding_id = finding_id
        self.current = current
        self.initial = initial
        """What the user entered before (the database was busy): shown again as it was."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt"):
            yield Label(_("Finding #{id} is {s}. Move it to:").format(
                id=self.finding_id, s=self.current.value))
            yield Select([(s.value, s) for s in STATUS_MOVES[self.current]],
                         prompt=_("new status"), id="status")
            yield Input(placeholder=_("reason (false_positive, accepted_risk)"), id="reason")
            yield Input(placeholder=_("approver (accepted_risk)"), id="approver")
            yield Input(placeholder=_("until YYYY-MM-DD (accepted_risk)"), id="until")
            yield Label(self.error or "", id="error", classes="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(_("Change"), variant="primary", id="ok")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#status", Select).focus()
        if self.initial is not None:
            change = self.initial
            if change.status in STATUS_MOVES[self.current]:
                self.query_one("#status", Select).value = change.status
            self.query_one("#reason", Input).value = change.reason or ""
            self.query_one("#approver", Input).value = change.approver or ""
            self.query_one("#until", Input).value = change.until.isoformat() \
                if change.until else ""

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def submit(self) -> None:
        status = self.query_one("#status", Select).value
        if not isinstance(status, FindingStatus):
            self.query_one("#error", Label).update(_("choose the new status"))
            return
        text = self.query_one("#until", Input).value.strip()
        until = None
        if text:
            try:
                until = date.fromisoformat(text)
            except ValueError:
                self.query_one("#error", Label).update(
                    _("{v!r} is not a date; write YYYY-MM-DD").format(v=text))
                return
        self.dismiss(StatusChange(
            status, self.query_one("#reason", Input).value.strip() or None, until,
            self.query_one("#approver", Input).value.strip() or None))
