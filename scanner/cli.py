"""``garrison scan`` and ``garrison assets`` (scans and the inventory arrive with issue 3)."""

from __future__ import annotations

import typer

from garrison.i18n import _

scan_app = typer.Typer(
    help=_("Scope-guarded scans and nmap XML import. [dim](not yet available)[/dim]"),
    no_args_is_help=True,
)
assets_app = typer.Typer(
    help=_("The asset and service inventory. [dim](not yet available)[/dim]"),
    no_args_is_help=True,
)


@scan_app.callback()
def scan() -> None:
    """Scope-guarded scans and nmap XML import (not yet available)."""


@assets_app.callback()
def assets() -> None:
    """The asset and service inventory (not yet available)."""
