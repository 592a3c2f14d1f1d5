"""``garrison experts`` (the expert pool arrives with issue 6)."""

from __future__ import annotations

import typer

from garrison.i18n import _

app = typer.Typer(
    help=_("The expert pool: roster, on-call, matching. [dim](not yet available)[/dim]"),
    no_args_is_help=True,
)


@app.callback()
def experts() -> None:
    """The expert pool: roster, on-call, matching (not yet available)."""
