"""Per-invocation state shared by the commands: settings, consoles, rendering helpers."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from garrison.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

    from garrison.actions import ActionContext
    from garrison.settings import Settings


@dataclass
class CliState:
    """Options given on the command line; settings are built on first use (fast --help)."""

    db: str | None = None
    actor: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Built and checked on first use; a bad setting raises ``SettingsError`` (exit 2)
        naming ``--db``, ``--actor`` or the ``GARRISON_*`` variable."""
        if self._settings is None:
            from garrison.settings import Settings

            overrides: dict[str, Any] = {
                k: v for k, v in (("db", self.db), ("actor", self.actor)) if v}
            self._settings = Settings(**overrides)
        return self._settings


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def open_db(ctx: typer.Context, *, create: bool = False) -> Settings:
    """Settings for a command that uses the database, with the schema checked. Only a
    command that loads data (``create``) makes a new SQLite file; any other says there is
    no database there."""
    from garrison.db import display_url, ensure_schema

    settings = state(ctx).settings
    if ensure_schema(settings, create=create):
        err_console().print(
            _("[dim]Initialised a new Garrison database at {url}[/dim]").format(
                url=display_url(settings.db))
        )
    return settings


def action_ctx(ctx: typer.Context, *, create: bool = False) -> ActionContext:
    """The action context of this command: settings checked, schema at head (``open_db``),
    the deployment's policies, the display-safe database URL."""
    from garrison.actions import action_context

    return action_context(open_db(ctx, create=create))


def console() -> Console:
    """Standard output. When it is not a terminal (a pipe, a file), tables are laid out
    wide (``COLUMNS``, default 160) rather than cut at 80 columns."""
    import os

    from rich.console import Console

    width = None if sys.stdout.isatty() else _columns(os.environ.get("COLUMNS", ""))
    return Console(highlight=False, width=width)


def _columns(value: str) -> int:
    """``COLUMNS`` as a width; anything but a positive number means the default, 160 (it is
    the terminal's variable, not Garrison's, so a stray value is no error)."""
    return int(value) if value.isdigit() and int(value) > 0 else 160


def err_console() -> Console:
    """Standard error. Messages are never wrapped: a ``file:line: message`` stays one line
    for editors and scripts that read it."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def choice_values(kind: str, values: list[str], allowed: list[str]) -> list[str]:
    """``values`` when each is one of ``allowed``; else an error naming the ``kind``, the
    nearest allowed value and all of them."""
    from garrison.errors import GarrisonError
    from garrison.words import did_you_mean

    for value in values:
        if value not in allowed:
            raise GarrisonError(
                _("unknown {kind} {v!r}{hint}").format(
                    kind=kind, v=value, hint=did_you_mean(value, allowed)),
                hint=_("Use one of: {a}.").format(a=", ".join(allowed)))
    return values
