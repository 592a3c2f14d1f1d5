"""``?``: the keys, the screens and where to learn more."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from garrison.i18n import _

HELP = _("""\
# Garrison

| key | |
|---|---|
| `d` `a` `f` `e` `r` | dashboard, assets, findings, experts, drills |
| `/` | focus the filter of the screen |
| `ctrl+p` | the command palette: every action of the screen |
| `ctrl+t` | light or dark theme |
| `?` | this help (`escape` closes it) |
| `ctrl+q` | quit |

**Dashboard**: refreshes every 30 s; `ctrl+r` now. **Assets**: `u` the unit tree
(`enter` shows a unit and its sub-units), `/` the text filter, a service filter (`ssh`,
`443`, `tcp/22`), `escape` back to the table, `ctrl+r` reload.

**Findings**: `s` change the status (a reason, an approver and an expiry when the
lifecycle needs them), `o` assign an owner, `n` add a note, `x` export what the
filter shows (CSV, XLSX, JSON, OCSF, HTML); click a column header (or pick "sort by" in
the command palette) to sort, again to reverse.

**Experts**: fill the match form (skills such as `forensics:2`, a city, the unit under
review) and press `enter`; `g` assigns the highlighted expert to a finding.

**Drills**: `enter` opens the live console of a run; its form records a team's
response, exactly as `garrison drill respond` does.

Everything here calls the same services as the `garrison` command line, so the audit
trail records the same events.
""")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", _("Close"))]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
