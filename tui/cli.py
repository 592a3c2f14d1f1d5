"""``garrison tui``: open the terminal UI."""

from __future__ import annotations

from typing import Annotated

import typer

from garrison.i18n import _

SCREENS = ("dashboard", "assets", "findings", "experts", "drills")

app = typer.Typer(help=_("The terminal UI for security officers."))


@app.command()
def tui(ctx: typer.Context,
        screen: Annotated[str, typer.Option("--screen", "-s", help=_(
            "Open on this screen: dashboard, assets, findings, experts or drills."))] =
        "dashboard",
        light: Annotated[bool, typer.Option("--light", help=_("Start with the light theme."))
                         ] = False) -> None:
    """Dashboard, assets, findings, experts and live drills in the terminal."""
    from garrison.cli.context import open_db, state
    from garrison.errors import GarrisonError

    if screen not in SCREENS:
        from garrison.words import did_you_mean

        raise GarrisonError(
            _("unknown screen {s!r}{hint}").format(s=screen, hint=did_you_mean(screen, SCREENS)),
            hint=_("Screens: {a}.").format(a=", ".join(SCREENS)))
    settings = state(ctx).settings
    from garrison.quickread import at_head

    # Checked with the DB-API driver so the TUI paints before SQLAlchemy is imported;
    # otherwise create or explain (the ORM: half a second).
    if not at_head(settings.db):
        settings = open_db(ctx)
    from tui import prefetch

    first = prefetch.start(settings, screen)  # while Textual is imported
    from tui.app import LIGHT, GarrisonApp

    GarrisonApp(settings, screen=screen, theme=LIGHT if light else None, follow=True,
                prefetched=first).run()

