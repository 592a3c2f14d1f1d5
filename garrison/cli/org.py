"""``garrison org``: load and show the organisation tree."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from garrison.cli.context import action_ctx, console, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from garrison.org.service import FieldChange, ImportPlan

app = typer.Typer(help=_("The organisation tree: units, officers, authorised scopes."),
                  no_args_is_help=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help=_("Org file (YAML)."),
                                         show_default=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_(
        "Show what would change; write nothing."))] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Load units and scopes from FILE; re-importing updates in place by unit code."""
    from garrison.org.loader import load_org_file
    from garrison.org.service import import_file

    doc = load_org_file(file)  # all file problems are reported before the database is opened
    plan = import_file(action_ctx(ctx, create=True), doc, dry_run=dry_run)
    if as_json:
        print_json({**plan.as_json(), "dry_run": dry_run})
        return
    _render_plan(plan, dry_run)


def _render_plan(plan: ImportPlan, dry_run: bool) -> None:
    from rich.markup import escape

    out = console()
    if not plan.changed:
        out.print(_("No changes: {n} units already match {file}.").format(
            n=plan.unchanged, file=escape(plan.file)))
        return
    verb = _("Would change") if dry_run else _("Changed")
    out.print(_("{verb} from {file}:").format(verb=verb, file=escape(plan.file)))
    unit_word, scope_word = _("unit"), _("scope")
    for code in plan.created:
        out.print(f"  [green]+ {unit_word}[/green] {code}")
    for code, changes in plan.updated.items():
        out.print(f"  [yellow]~ {unit_word}[/yellow] {code}  {escape(_changes(changes))}")
    for code, cidr in plan.scopes_added:
        out.print(f"  [green]+ {scope_word}[/green] {code} {cidr}")
    for (code, cidr), changes in plan.scopes_changed.items():
        out.print(f"  [yellow]~ {scope_word}[/yellow] {code} {cidr}  {escape(_changes(changes))}")
    for code, cidr in plan.scopes_removed:
        out.print(f"  [red]- {scope_word}[/red] {code} {cidr}")
    out.print(_("{c} created, {u} updated, {s} unchanged; {n} units in the database are "
                "not in this file and were left as they are.").format(
        c=len(plan.created), u=len(plan.updated), s=plan.unchanged, n=plan.not_in_file))
    if dry_run:
        out.print(_("Dry run: nothing was written."))


def _changes(changes: list[FieldChange]) -> str:
    return "; ".join(f"{c.field}: {c.old!s} -> {c.new!s}" for c in changes)


@app.command("list")
def list_(
    ctx: typer.Context,
    unit: Annotated[str | None, typer.Option("--unit", "-u", help=_(
        "Show only this unit and the units under it."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))] = False,
) -> None:
    """Print the organisation tree."""
    from garrison.cli.render import render_tree, tree_json
    from garrison.org.service import tree

    roots = tree(action_ctx(ctx), root=unit)
    if as_json:
        print_json([tree_json(r) for r in roots])
    else:
        render_tree(console(), roots)
