"""``garrison findings`` (the findings lifecycle and exports arrive with issue 4)."""

from __future__ import annotations

import typer

from garrison.i18n import _

app = typer.Typer(
    help=_("Findings: owners, deadlines, status history, exports. [dim](not yet available)[/dim]"),
    no_args_is_help=True,
)


@app.callback()
def findings() -> None:
    """Findings: owners, deadlines, status history, exports (not yet available)."""
