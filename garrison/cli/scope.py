"""``garrison scope``: list authorised scopes and check targets against them."""

from __future__ import annotations

from typing import Annotated

import typer

from garrison.cli.context import action_ctx, console, print_json
from garrison.errors import ScopeRefused
from garrison.i18n import _

app = typer.Typer(help=_("Authorised address ranges and the scope guard."),
                  no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=_(
        "Only this unit and the units under it."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """List authorised scopes with their state today (active, expired, pending)."""
    from rich.table import Table

    from garrison.scope_service import scopes as list_scopes

    scopes = list_scopes(action_ctx(ctx), unit_code=unit)
    if as_json:
        print_json([s.as_json() for s in scopes])
        return
    table = Table(_("unit"), _("scope"), _("authorised by"), _("valid from"),
                  _("valid until"), _("max pps"), _("state"))
    colour = {"active": "green", "expired": "red", "pending": "yellow"}
    for s in scopes:
        table.add_row(s.unit, s.cidr, s.authorized_by, str(s.valid_from or ""),
                      str(s.valid_until or ""), str(s.max_rate or ""),
                      f"[{colour[s.state.value]}]{s.state.value}[/]")
    console().print(table)


@app.command("check")
def check(
    ctx: typer.Context,
    targets: Annotated[list[str], typer.Argument(
        metavar="TARGET...", show_default=False,
        help=_("Addresses, CIDRs, nmap-style ranges or hostnames (put them after -- if one "
               "starts with '-')."))],
    unit: Annotated[str, typer.Option("--unit", "-u", help=_(
        "The unit whose scopes must allow the targets."), show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Say which scope allows each TARGET, or why not (exit 4). Sends no packet."""
    from rich.markup import escape

    from garrison.scope_service import check as check_targets

    verdicts = check_targets(action_ctx(ctx), unit_code=unit, targets=targets)
    refused = [v for v in verdicts if not v.allowed]
    if as_json:
        print_json([v.as_json() for v in verdicts])
    else:
        out = console()
        for v in verdicts:
            mark = "[green]allowed[/green]" if v.allowed else "[red]refused[/red]"
            out.print(f"{mark} {escape(v.target)}: {escape(v.reason)}")
    if refused:
        if as_json:
            raise typer.Exit(ScopeRefused.exit_code)
        raise ScopeRefused(
            _("{n} of {total} targets refused for {unit}; the refusal is in the audit trail.")
            .format(n=len(refused), total=len(verdicts), unit=unit),
            hint=_("`garrison scope list --unit {u}` shows what {u} authorised.").format(u=unit),
        )
