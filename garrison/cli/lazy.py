"""A Typer group whose sub-commands are imported only when used.

Kernel sub-commands are listed here by module path; the feature packages
(scanner, drills, expert_pool, tui) register theirs through the
``garrison.commands`` entry-point group, so the kernel never imports them and an
installation without one of them simply lacks that command.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import typer
from typer import _click
from typer.core import TyperGroup

KERNEL_COMMANDS: dict[str, str] = {
    "org": "garrison.cli.org:app",
    "scope": "garrison.cli.scope:app",
    "audit": "garrison.cli.audit:app",
    "findings": "garrison.cli.findings:app",
}
PLUGIN_GROUP = "garrison.commands"
#: Help lists commands in this order (the order of a working day), unknown ones last.
ORDER = ["init", "demo", "org", "scope", "scan", "assets", "findings", "drill", "experts",
         "tui", "audit"]


def _plugin_commands() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}


class LazyGroup(TyperGroup):
    """Resolve ``name -> "module:attr"`` to a click command on first use."""

    _lazy: dict[str, str] | None = None

    def _lazy_commands(self) -> dict[str, str]:
        if self._lazy is None:
            self._lazy = {**KERNEL_COMMANDS, **_plugin_commands()}
        return self._lazy

    def list_commands(self, ctx: _click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | set(self._lazy_commands())
        return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        target = self._lazy_commands().get(cmd_name)
        if target is None:
            return None
        module_name, _sep, attr = target.partition(":")
        sub_app = getattr(importlib.import_module(module_name), attr)
        command = typer.main.get_command(sub_app) if isinstance(sub_app, typer.Typer) else sub_app
        command.name = cmd_name
        self.commands[cmd_name] = command
        return command
