"""``garrison experts match / assign / release``: calling an expert in.

``match`` ranks the available, unconflicted experts (first through the quick road,
``expert_pool.quick``, when it can answer exactly); ``assign`` calls one in on a finding
or a drill run, refusing a conflict of interest or an absence unless overridden with an
audited reason; ``release`` closes an assignment. Registered on ``garrison experts`` by
``expert_pool.cli`` (:func:`register`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from expert_pool.cli_common import (
    AtOpt,
    CityOpt,
    ContactsOpt,
    ExpertArg,
    JsonOpt,
    SkillOpt,
    context,
    phrased,
)
from expert_pool.cli_common import parse_skills as _skills
from expert_pool.cli_common import when as _when
from garrison.cli.context import console, err_console, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from expert_pool.matching import MatchResult


def register(app: typer.Typer) -> None:
    """Add the commands to ``garrison experts``, in this order."""
    for command in (match, assign, release):
        app.command()(command)


def match(ctx: typer.Context, skill: SkillOpt = None, city: CityOpt = None,
          for_unit: Annotated[str | None, typer.Option("--for-unit", metavar="UNIT", help=_(
              "The unit under review: its staff and its sub-units' are excluded."))] = None,
          count: Annotated[int, typer.Option("--count", "-n", min=1, help=_(
              "How many to propose."))] = 5,
          at: AtOpt = None,
          explain: Annotated[bool, typer.Option("--explain", help=_(
              "List the excluded experts with the reason."))] = False,
          as_json: JsonOpt = False, show_contacts: ContactsOpt = False) -> None:
    """Rank available, unconflicted experts: skill coverage, same city, load, certs."""
    import os

    from expert_pool.matching import masked
    from garrison.errors import GarrisonError

    wanted = _skills(skill)
    if not wanted:
        raise GarrisonError(_("give at least one --skill SKILL[:LEVEL]"),
                            hint=_("e.g. garrison experts match --skill forensics:2 "
                                   "--for-unit hz-jw"))
    result = None
    if not show_contacts and not os.environ.get("GARRISON_NO_QUICK"):
        result = _quick_match(ctx, wanted, city, for_unit, count, at)
        if result is not None:
            result = masked(result)
    if result is None:
        from expert_pool import service

        actx = context(ctx)
        result = service.match(actx, skills=wanted, city=city, unit=for_unit, count=count,
                               at=_when(at, actx, "--at"), show_contacts=show_contacts)
    contacts = {m.candidate.id: (m.candidate.phone, m.candidate.email) for m in result.ranked}
    if as_json:
        print_json(_match_json(result, contacts, explain))
        return
    _render_match(result, contacts, explain, wanted)


def _quick_match(ctx: typer.Context, wanted: tuple[tuple[str, int], ...], city: str | None,
                 unit: str | None, count: int, at: str | None) -> MatchResult | None:
    """The match without loading the ORM, when that road can answer (see expert_pool.quick)."""
    import os
    from zoneinfo import ZoneInfo

    from expert_pool.quick import quick_match
    from expert_pool.times import parse_when
    from garrison.cli.context import state
    from garrison.clock import clock_from_env
    from garrison.dburl import resolve_db_url

    tz = os.environ.get("GARRISON_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
        url = resolve_db_url(state(ctx).db)
        now = clock_from_env().now()
    except (ValueError, KeyError):
        return None  # the full path reports the bad setting
    moment = parse_when(at or "now", tz, now=now, option="--at")
    return quick_match(url, skills=wanted, city=city, unit=unit, count=count, at=moment, tz=tz)


def _match_json(result: MatchResult, contacts: dict[int, tuple[str | None, str | None]],
                explain: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "considered": result.considered, "eligible": result.eligible,
        "unqualified": result.unqualified, "notes": result.notes,
        "ranked": [{
            "rank": i, "id": m.candidate.id, "name": m.candidate.name,
            "organisation": m.candidate.organisation, "city": m.candidate.city,
            "coverage": round(m.coverage, 3), "covered": list(m.covered),
            "short": list(m.short), "same_city": m.same_city, "load": m.candidate.load,
            "certifications": list(m.candidate.certs), "skills": dict(m.candidate.skills),
            "phone": contacts.get(m.candidate.id, (None, None))[0],
            "email": contacts.get(m.candidate.id, (None, None))[1],
        } for i, m in enumerate(result.ranked, start=1)],
        "excluded_count": len(result.excluded),
    }
    if explain:
        out["excluded"] = [{"id": x.candidate.id, "name": x.candidate.name,
                            "home_unit": x.candidate.home_unit, "reasons": list(x.reasons)}
                           for x in result.excluded]
    return out


def _render_match(result: MatchResult, contacts: dict[int, tuple[str | None, str | None]],
                  explain: bool, wanted: tuple[tuple[str, int], ...]) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = console()
    for note in result.notes:
        out.print(f"[yellow]{escape(note)}[/yellow]")
    if not result.ranked:
        out.print(_("Nobody available matches {s}.").format(
            s=", ".join(f"{s}:{level}" for s, level in wanted)))
    else:
        table = Table("#", _("id"), _("name"), _("organisation"), _("city"), _("covers"),
                      _("load"), _("certifications"), _("phone"), _("e-mail"))
        for i, m in enumerate(result.ranked, start=1):
            c = m.candidate
            covers = ", ".join(f"{s}:{c.skills.get(s, 0)}" for s, _level in wanted)
            if m.short:
                covers += " [yellow]" + _("(short: {s})").format(s=", ".join(m.short)) + "[/]"
            phone, email = contacts.get(c.id, (None, None))
            table.add_row(str(i), str(c.id), escape(c.name), escape(c.organisation),
                          escape(c.city or "") + (" ✓" if m.same_city else ""), covers,
                          str(c.load), ", ".join(c.certs), phone or "", escape(email or ""))
        out.print(table)
    summary = _("{e} eligible of {n} experts; {x} excluded; {u} without the skills.").format(
        e=result.eligible, n=result.considered, x=len(result.excluded), u=result.unqualified)
    out.print(summary)
    if explain and result.excluded:
        out.print(_("Excluded:"))
        for x in result.excluded:
            out.print(f"  #{x.candidate.id} {escape(x.candidate.name)}: "
                      f"{escape('; '.join(x.reasons))}")
    elif result.excluded:
        out.print(_("[dim]--explain says why each excluded expert is out.[/dim]"))


def assign(ctx: typer.Context, expert: ExpertArg,
           role: Annotated[str, typer.Option("--role", help=_(
               "referee, evaluator or responder."))],
           finding: Annotated[int | None, typer.Option("--finding", metavar="ID")] = None,
           drill: Annotated[int | None, typer.Option("--drill", metavar="RUN")] = None,
           override: Annotated[str | None, typer.Option("--override", metavar="REASON", help=_(
               "Assign despite a conflict of interest or absence; the reason is audited."))
                               ] = None) -> None:
    """Call an expert in on a finding or a drill run (audited).

    A conflict of interest or an absence is refused unless overridden with a reason."""
    from expert_pool import service
    from garrison.errors import GarrisonError
    from garrison.vocab import AssignmentRole

    roles = [r.value for r in AssignmentRole]
    if role not in roles:
        raise GarrisonError(_("unknown role {r!r}").format(r=role),
                            hint=_("Use one of: {a}.").format(a=", ".join(roles)))
    if (finding is None) == (drill is None):
        raise GarrisonError(_("give one of --finding ID or --drill RUN"))
    if override is not None and not override.strip():
        raise GarrisonError(_("--override needs a reason"))
    with phrased():
        a = service.assign(context(ctx), expert, role=AssignmentRole(role), finding_id=finding,
                           run_id=drill, override=override)
    what = (_("finding #{id}").format(id=a.finding_id) if a.finding_id
            else _("drill run #{id}").format(id=a.drill_run_id))
    console().print(_("Assignment #{id}: expert #{e} is {role} on {what}.").format(
        id=a.id, e=a.expert_id, role=a.role.value, what=what), markup=False)
    if a.override_reason:
        err_console().print(_("[yellow]Conflict overridden: {r}[/yellow]").format(
            r=a.override_reason))


def release(ctx: typer.Context, assignment: Annotated[int, typer.Argument(
        metavar="ASSIGNMENT")]) -> None:
    """Close an assignment (it stops counting towards the expert's load)."""
    from expert_pool import service

    service.release(context(ctx), assignment)
    console().print(_("Released assignment #{id}.").format(id=assignment))
