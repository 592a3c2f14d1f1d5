"""The ``garrison`` entry point: global options, kernel commands, lazy sub-commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from garrison import __version__
from garrison.cli.coercion import install as _lazy_coercion
from garrison.cli.context import CliState, console, err_console, open_db, state
from garrison.cli.lazy import LazyGroup
from garrison.errors import GarrisonError
from garrison.i18n import _

if TYPE_CHECKING:
    from rich.console import Console

    from garrison.settings import Settings

_lazy_coercion()  # plain option values skip pydantic (see garrison.cli.coercion)

app = typer.Typer(
    cls=LazyGroup,
    name="garrison",
    help=_(
        "Garrison: network-security supervision and drills for a provincial housing and "
        "construction department and its bureaus."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"garrison {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option(
        "--db", metavar="URL",
        help=_("Database URL (sqlite:///PATH or postgresql+psycopg://...). "
               "Env: GARRISON_DB. Default: a SQLite file in your data directory."))] = None,
    actor: Annotated[str | None, typer.Option(
        "--actor", metavar="NAME",
        help=_("Who is acting, for the audit trail. Env: GARRISON_ACTOR. "
               "Default: your OS user."))] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help=_("Print the version and exit."))] = False,
) -> None:
    del version  # handled by its eager callback
    ctx.obj = CliState(db=db, actor=actor)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database schema, or upgrade it to this version. Safe to repeat."""
    from garrison.db import SCHEMA_HEAD, display_url, upgrade

    settings = state(ctx).settings
    before, after = upgrade(settings)
    url = display_url(settings.db)
    if before == after:
        console().print(_("Database {url} is up to date (schema {rev}).").format(
            url=url, rev=SCHEMA_HEAD))
    elif before is None:
        console().print(_("Created the Garrison schema {rev} in {url}.").format(
            rev=after, url=url))
    else:
        console().print(_("Upgraded {url} from schema {old} to {new}.").format(
            url=url, old=before, new=after))


@app.command()
def demo(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option(
        "--force", help=_("Load the demo even if the database holds other units."))] = False,
    org_only: Annotated[bool, typer.Option(
        "--org-only", help=_("Only load the organisation; skip scans and the rest."))] = False,
) -> None:
    """Load the demo organisation (a province, 11 cities, their bureaus), then scan lab
    services on loopback and show the inventory, changes and findings."""
    from garrison.actions import action_context
    from garrison.cli.render import render_tree
    from garrison.demo import load
    from garrison.org.service import tree

    settings = open_db(ctx, create=True)
    context = action_context(settings)
    plan = load(context, force=force)
    render_tree(console(), tree(context, root=None))
    out = console()
    out.print(_("\n[bold]Demo organisation loaded[/bold]: {n} units created, {u} unchanged.")
              .format(n=len(plan.created), u=plan.unchanged))
    if not org_only:
        for step in _demo_steps():
            step(settings, out)
    out.print(_("Try next:\n"
                "  garrison scope list --unit hz-jw\n"
                "  garrison scope check 127.0.1.10 --unit hz-jw      # allowed\n"
                "  garrison scope check 0177.0.0.1 --unit hz-jw      # refused: octal\n"
                "  garrison audit log --limit 5\n"
                "  garrison audit verify"))


def _demo_steps() -> list[Callable[[Settings, Console], None]]:
    """Demo steps of the installed feature packages (entry-point group garrison.demo)."""
    from importlib.metadata import entry_points

    return [ep.load() for ep in sorted(entry_points(group="garrison.demo"),
                                       key=lambda ep: ep.name)]


def main() -> None:
    """Console-script entry point: user errors become one clear message, no traceback."""
    from garrison.dblock import on_lock_wait

    on_lock_wait(lambda note: err_console().print(f"[dim]{_escape(note)}[/dim]"))
    try:
        app(prog_name="garrison")
    except GarrisonError as exc:
        err = err_console()
        err.print(_("[bold red]error:[/bold red] {msg}").format(msg=_escape(exc.message)))
        hint = exc.hint or _cli_hint(exc)
        if hint:
            err.print(_escape(hint))
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.filename is None:  # not a path problem: a bug or the system's, keep the trace
            raise
        err_console().print(_("[bold red]error:[/bold red] {file}: {reason}").format(
            file=_escape(str(exc.filename)), reason=_escape(exc.strerror or str(exc))))
        sys.exit(1)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM inside sigterm_interrupts()
        err_console().print(_("interrupted"))
        sys.exit(getattr(exc, "exit_code", 130))
    except SystemExit as exc:
        # Typer turns an interrupt inside a command into exit 130 itself; a SIGTERM
        # (garrison.signals.Terminated) must still end with 143, and say so.
        interrupt = _interrupt_behind(exc)
        if interrupt is None:
            raise
        err_console().print(_("interrupted"))
        sys.exit(getattr(interrupt, "exit_code", 130))


def _cli_hint(exc: GarrisonError) -> str | None:
    """The CLI's own words for a service error that carries data but no hint."""
    from garrison.errors import NotFoundError

    if not isinstance(exc, NotFoundError):
        return None
    return {
        "finding": _("`garrison findings list` shows the findings."),
        "drill-run": _("`garrison drill runs` lists the runs."),
        "assignment": _("`garrison experts show EXPERT` lists an expert's assignments."),
    }.get(exc.kind or "")


def _interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM that an exit was raised for, if it was."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ if current.__cause__ is not None else (
            None if current.__suppress_context__ else current.__context__)
    return None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
