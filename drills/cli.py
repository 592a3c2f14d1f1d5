"""``garrison drill`` (playbooks and the drill engine arrive with issue 5)."""

from __future__ import annotations

import typer

from garrison.i18n import _

app = typer.Typer(
    help=_("Red/blue and opinion-response drills from YAML playbooks. "
           "[dim](not yet available)[/dim]"),
    no_args_is_help=True,
)


@app.callback()
def drill() -> None:
    """Red/blue and opinion-response drills (not yet available)."""
