"""``garrison experts oncall``: plan a rotation, who is on call, check a saved plan against
the roster as it is now and repair it, iCalendar export.

``check`` exits with ``CONFLICTS_EXIT`` (6) when the plan has conflicts, so a script or a
cron job can tell "conflicts to repair" (6) from "could not check" (1, e.g. no plan).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from expert_pool.cli_common import (
    AtOpt,
    ContactsOpt,
    JsonOpt,
    context,
    parse_skills,
    phrased,
    when,
)
from garrison.cli.context import console, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from expert_pool.service_types import CheckReport, RepairReport

CONFLICTS_EXIT = 6
"""``oncall check``'s exit status when the plan has conflicts."""

PlanArg = Annotated[int | None, typer.Argument(metavar="[PLAN]", help=_(
    "A plan id (see `oncall plans`); default: the newest plan."), show_default=False)]
oncall_app = typer.Typer(help=_("On-call rotations: plan, who is on call, check and repair a "
                                "plan, iCalendar export."), no_args_is_help=True)


@oncall_app.command("plan")
def oncall_plan(ctx: typer.Context,
                from_: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD")],
                to: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD")],
                per_shift: Annotated[int, typer.Option("--per-shift", min=1, help=_(
                    "Experts on each shift."))] = 1,
                require: Annotated[list[str] | None, typer.Option(
                    "--require-skill", metavar="SKILL[:LEVEL]", help=_(
                        "Someone with it on every shift; repeat for more."))] = None,
                pattern: Annotated[str | None, typer.Option("--shifts", metavar="HH:MM-HH:MM,...",
                                                            help=_(
                    "The day's shifts in local time (default 08:00-20:00,20:00-08:00)."))
                                   ] = None,
                min_rest: Annotated[float, typer.Option("--min-rest", metavar="HOURS", min=0,
                                                        help=_(
                    "Least time off between two shifts of one person."))] = 8.0,
                replace: Annotated[bool, typer.Option("--replace", help=_(
                    "Replace a saved plan that overlaps the period."))] = False,
                seed: Annotated[int, typer.Option("--seed", help=_(
                    "Tie-break seed (same seed, same plan)."))] = 0) -> None:
    """Build and save a fair on-call rotation.

    Every shift covered, required skills on every shift, nobody double-booked or on
    leave, the load spread evenly (the spread is reported)."""
    from expert_pool import service
    from expert_pool.rotation import DEFAULT_PATTERN
    from expert_pool.times import parse_day

    actx = context(ctx)
    first, last = parse_day(from_, option="--from"), parse_day(to, option="--to")
    with phrased():
        result = service.oncall_plan(actx, first_day=first, last_day=last,
                                     per_shift=per_shift, require=parse_skills(require),
                                     pattern=pattern or DEFAULT_PATTERN, replace=replace,
                                     seed=seed, rest_hours=min_rest)
    spread = result.plan.spread
    out = console()
    out.print(_("Saved on-call plan #{id}: {n} shifts from {f} to {t}, {p} per shift.").format(
        id=result.plan.id, n=result.shifts, f=first, t=last, p=per_shift), markup=False)
    if result.replaced:
        out.print(_("Replaced plan(s): {ids}").format(ids=", ".join(map(str, result.replaced))))
    counts = {int(k): v for k, v in spread["shifts"].items()}
    out.print(_("Load: {lo}-{hi} shifts per expert (spread {s}) over {w} expert(s) who could "
                "take a shift; {u} could take none (away throughout, or ruled out by the "
                "required skills).").format(
        lo=spread["min"], hi=spread["max"], s=spread["spread"],
        w=len(counts) - len(spread.get("unavailable", [])),
        u=len(spread.get("unavailable", []))), markup=False)


@oncall_app.command("show")
def oncall_show(ctx: typer.Context, at: AtOpt = None, as_json: JsonOpt = False,
                show_contacts: ContactsOpt = False) -> None:
    """Who is on call at a time (default now)."""
    from expert_pool import service
    from expert_pool.times import local_text

    actx = context(ctx)
    moment = when(at, actx, "--at")
    now = service.on_call(actx, at=moment, show_contacts=show_contacts)
    tz = actx.settings.timezone
    people: list[dict[str, Any]] = [] if now is None else [{
        "id": p.id, "name": p.name, "organisation": p.organisation, "phone": p.phone,
        "email": p.email, "conflict": p.mark} for p in now.people]
    if as_json:
        print_json({"at": moment.isoformat(), "plan": now.plan_id if now else None,
                    "starts": now.starts.isoformat() if now else None,
                    "ends": now.ends.isoformat() if now else None, "experts": people})
        return
    out = console()
    if now is None:
        out.print(_("Nobody is on call at {t}: no plan covers it.").format(
            t=local_text(moment, tz)), markup=False)
        out.print(_("Make one: garrison experts oncall plan --from YYYY-MM-DD --to YYYY-MM-DD"),
                  markup=False)
        raise typer.Exit(1)
    out.print(_("On call {s} to {e} (plan #{p}):").format(
        s=local_text(now.starts, tz), e=local_text(now.ends, tz), p=now.plan_id),
        markup=False)
    for p in people:
        mark = p["conflict"]
        out.print(f"  #{p['id']} {p['name']} · {p['organisation']} · {p['phone'] or '-'} · "
                  f"{p['email'] or '-'}" + (f"  ⚠ {mark['text']}" if mark else ""), markup=False)
    if now.marked:
        out.print(_("{n} of them cannot take this shift any more: `garrison experts oncall "
                    "check` lists the plan's conflicts, `garrison experts oncall repair` "
                    "refills them.").format(n=now.marked), markup=False)


@oncall_app.command("check")
def oncall_check(ctx: typer.Context, plan_id: PlanArg = None, as_json: JsonOpt = False) -> None:
    """List a saved plan's conflicts with the roster as it is now (exit 6 if any).

    Leave or retirement recorded after the plan was saved, a required skill nobody on a
    shift holds now, too little rest between two shifts of one expert. Shifts that have
    ended are not checked."""
    from expert_pool import service

    with phrased():
        check = service.check_plan(context(ctx), plan_id)
    if as_json:
        print_json(check.as_json())
    else:
        _render_check(check)
    if check.conflicts:
        raise typer.Exit(CONFLICTS_EXIT)


def _render_check(check: CheckReport) -> None:
    from expert_pool.times import local_text

    tz, out = check.timezone, console()
    where = _("Plan #{id}, {s} to {e}").format(id=check.plan.id, s=local_text(
        check.plan.starts, tz), e=local_text(check.plan.ends, tz))
    since = local_text(check.since, tz)
    if not check.conflicts:
        out.print(_("{plan}: no conflicts in the shifts from {t} on.").format(
            plan=where, t=since), markup=False)
        return
    out.print(_("{plan}: {n} conflict(s) in the shifts from {t} on:").format(
        plan=where, n=len(check.conflicts), t=since), markup=False)
    for c in check.conflicts:
        who = f"#{c.expert_id} {c.expert_name}: " if c.expert_id is not None else ""
        out.print(f"  {c.span}  {who}{c.text}", markup=False)
    out.print(_("`garrison experts oncall repair {id}` refills these places (add --dry-run "
                "to see how first).").format(id=check.plan.id), markup=False)


@oncall_app.command("repair")
def oncall_repair(ctx: typer.Context, plan_id: PlanArg = None,
                  dry_run: Annotated[bool, typer.Option("--dry-run", help=_(
                      "Show who would replace whom; change nothing."))] = False) -> None:
    """Refill the places a plan's conflicts broke; keep everyone else (audited).

    The plan's own rules apply (people per shift, required skills, minimum rest); an
    impossible repair says what is missing and changes nothing."""
    from expert_pool import service
    from expert_pool.rotation import Infeasible

    actx = context(ctx)
    with phrased():
        try:
            result = service.repair_plan(actx, plan_id, dry_run=dry_run)
        except Infeasible as exc:
            raise Infeasible(exc.reasons, hint=_(
                "Nothing was changed. Free someone (`garrison experts back PERIOD`), add "
                "experts, or plan the period again with `garrison experts oncall plan ... "
                "--replace`.")) from exc
    _render_repair(result, dry_run)


def _render_repair(result: RepairReport, dry_run: bool) -> None:
    out, plan_id = console(), result.plan_id
    if not result.conflicts:
        out.print(_("Plan #{id} has no conflicts: nothing to repair.").format(id=plan_id),
                  markup=False)
        return
    out.print((_("Dry run: plan #{id} would have {n} place(s) refilled:") if dry_run else
               _("Repaired plan #{id}: {n} place(s) refilled:")).format(
        id=plan_id, n=len(result.replacements)), markup=False)
    for r in result.replacements:
        out.print(f"  {r.span}  #{r.out.id} {r.out.name} → #{r.into.id} {r.into.name} "
                  f"({r.why})", markup=False)
    if dry_run:
        out.print(_("Nothing was changed."), markup=False)


@oncall_app.command("plans")
def oncall_plans(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Saved rotations."""
    from rich.table import Table

    from expert_pool import service
    from expert_pool.times import local_text

    actx = context(ctx)
    plans = service.plans(actx)
    tz = actx.settings.timezone
    if as_json:
        print_json([{"id": p.id, "starts": p.starts.isoformat(), "ends": p.ends.isoformat(),
                     "per_shift": p.per_shift, "request": p.request,
                     "spread": p.spread["spread"], "actor": p.actor} for p in plans])
        return
    if not plans:
        console().print(_("No on-call plans yet."))
        return
    table = Table(_("plan"), _("from"), _("to"), _("per shift"), _("required"), _("spread"),
                  _("by"))
    for p in plans:
        table.add_row(str(p.id), local_text(p.starts, tz), local_text(p.ends, tz),
                      str(p.per_shift), ", ".join(p.required) or "-",
                      str(p.spread["spread"]), p.actor)
    console().print(table)


@oncall_app.command("export")
def oncall_export(ctx: typer.Context,
                  output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE.ics")],
                  plan_id: Annotated[int | None, typer.Option("--plan", metavar="ID", help=_(
                      "Default: the newest plan."))] = None,
                  show_contacts: ContactsOpt = False) -> None:
    """Write a rotation as iCalendar (.ics): one event per shift."""
    from expert_pool import service

    with phrased():
        n = service.export_oncall(context(ctx), plan_id=plan_id, path=output,
                                  show_contacts=show_contacts)
    console().print(_("Wrote {n} shift(s) to {p}.").format(n=n, p=output), markup=False)
