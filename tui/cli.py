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
        import difflib

        close = difflib.get_close_matches(screen, SCREENS, n=1)
        raise GarrisonError(
            _("unknown screen {s!r}{hint}").format(
                s=screen, hint=_(" (did you mean {c!r}?)").format(c=close[0]) if close else ""),
            hint=_("Screens: {a}.").format(a=", ".join(SCREENS)))
    settings = state(ctx).settings
    if not _at_head(settings.db):
        settings = open_db(ctx)  # creates or explains (loads the ORM: half a second)
    from tui.app import LIGHT, GarrisonApp

    GarrisonApp(settings, screen=screen, theme=LIGHT if light else None).run()


def _at_head(url: str) -> bool:
    """Is this an existing SQLite database at the current schema? Checked with the
    standard library, so the TUI paints before SQLAlchemy is even imported (its
    workers import it in the background)."""
    import sqlite3
    from contextlib import closing
    from pathlib import Path

    from garrison.dburl import SCHEMA_HEAD
    from garrison.findings.quick import sqlite_path

    path = sqlite_path(url)
    if path is None or not Path(path).is_file():
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == SCHEMA_HEAD
