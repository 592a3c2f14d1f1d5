"""``garrison tui`` (the Textual app arrives with issue 7)."""

from __future__ import annotations

import sys

import typer

from garrison.i18n import _

app = typer.Typer(help=_("The terminal UI for security officers. [dim](not yet available)[/dim]"))


@app.command()
def tui() -> None:
    """The terminal UI for security officers (not yet available)."""
    sys.stderr.write(_("The terminal UI is not available in this version yet.\n"))
    raise typer.Exit(2)
