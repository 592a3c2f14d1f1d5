"""``garrison experts``: the roster, availability, on-call rotations, matching, assignments.

Contact details are masked on every output path; ``--show-contacts`` unmasks them for
an actor named in ``GARRISON_CONTACT_VIEWERS``, and each unmasked view is audited in
the same transaction as the read. Every command is one action of
``expert_pool.service`` (``match`` may first take the quick road, ``expert_pool.quick``);
the service's errors are phrased here with this command's flags (``cli_common.phrased``).
"""

from __future__ import annotations

from pathlib import Path
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
from expert_pool.cli_oncall import oncall_app
from garrison.cli.context import console, err_console, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from datetime import date

    from expert_pool.matching import MatchResult
    from expert_pool.service_types import ExpertDetail, ExpertView

app = typer.Typer(help=_("The expert pool: roster, availability, on-call rotation, "
                         "conflict-aware matching, assignments."), no_args_is_help=True)
app.add_typer(oncall_app, name="oncall")


# ------------------------------------------------------------------ roster


@app.command("import")
def import_(ctx: typer.Context,
            file: Annotated[Path, typer.Argument(metavar="FILE", help=_(
                "A roster: CSV (UTF-8 or GBK/GB18030, English or Chinese headers), XLSX "
                "(the first sheet) or YAML."))],
            dry_run: Annotated[bool, typer.Option("--dry-run", help=_(
                "Check and show what would change; write nothing."))] = False,
            encoding: Annotated[str | None, typer.Option("--encoding", metavar="ENC", help=_(
                "The CSV file's encoding (e.g. gb18030, utf-8, big5); default: detect "
                "UTF-8 or GBK/GB18030."))] = None) -> None:
    """Add and update experts from a roster file (CSV, XLSX or YAML).

    Re-import updates by e-mail, else name + organisation. Every bad row is reported
    with its line (XLSX: sheet and row); nothing is written unless the whole file is
    good."""
    from expert_pool import service
    from expert_pool.roster_file import load_roster

    records = load_roster(file, encoding=encoding)
    result = service.import_roster(context(ctx), records=records, source=file,
                                   dry_run=dry_run)
    out = console()
    for name, fields in result.updated.items():
        out.print(_("  updated {name}: {fields}").format(name=name, fields=", ".join(fields)),
                  markup=False)
    out.print((_("Dry run: would add {a}, update {u}, leave {k} unchanged.") if dry_run else
               _("Added {a}, updated {u}, unchanged {k} expert(s) from {f}.")).format(
        a=len(result.added), u=len(result.updated), k=result.unchanged, f=file),
        markup=False)


@app.command()
def skills(as_json: JsonOpt = False) -> None:
    """The skills vocabulary (extend it with GARRISON_SKILLS_FILE)."""
    from rich.table import Table

    from expert_pool.vocab import skills as known

    vocabulary = known()
    if as_json:
        print_json([{"skill": s.name, "zh": s.zh, "description": s.description}
                    for s in vocabulary.values()])
        return
    table = Table(_("skill"), _("中文"), _("covers"))
    for s in vocabulary.values():
        table.add_row(s.name, s.zh, s.description)
    console().print(table)
    console().print(_("Levels: 1 working knowledge, 2 practitioner, 3 recognised expert."))


@app.command("list")
def list_(ctx: typer.Context, skill: SkillOpt = None, city: CityOpt = None,
          available_at: Annotated[str | None, typer.Option(
              "--available-at", metavar="TIME", help=_(
                  "Not on leave at this time ('YYYY-MM-DD HH:MM' or 'now')."))] = None,
          cert: Annotated[str | None, typer.Option("--cert", help=_(
              "Holding this certification, unexpired."))] = None,
          text: Annotated[str | None, typer.Option("--text", help=_(
              "Words in the name or organisation."))] = None,
          all_: Annotated[bool, typer.Option("--all", help=_(
              "Retired experts too."))] = False,
          as_json: JsonOpt = False, show_contacts: ContactsOpt = False) -> None:
    """Experts matching the filters (contacts masked)."""
    from expert_pool import service
    from expert_pool.filters import ExpertFilter

    actx = context(ctx)
    f = ExpertFilter(skills=_skills(skill), city=city,
                     available_at=_when(available_at, actx, "--available-at")
                     if available_at else None, cert=cert, include_retired=all_, text=text)
    experts = service.list_experts(actx, f, show_contacts=show_contacts)
    if as_json:
        print_json([e.as_json() for e in experts])
        return
    _render_lines(experts, show_contacts, actx.settings.timezone)


def _render_lines(experts: list[ExpertView], show_contacts: bool, tz: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from expert_pool.export import skills_text
    from expert_pool.times import local_text

    if not experts:
        console().print(_("No experts match."))
        return
    table = Table(_("id"), _("name"), _("organisation"), _("city"), _("skills"),
                  _("certifications"), _("phone"), _("e-mail"), _("load"), _("status"))
    for e in experts:
        status = _("retired") if not e.active else (
            _("away until {t}").format(t=local_text(e.away.ends, tz)) if e.away
            else _("available"))
        table.add_row(str(e.id), escape(e.name), escape(e.organisation), escape(e.city or ""),
                      skills_text(e.skills), ", ".join(c["name"] for c in e.certifications),
                      e.phone or "", escape(e.email or ""), str(e.load), status)
    console().print(table)
    console().print(_("{n} expert(s). Contacts {m}.").format(
        n=len(experts), m=_("shown (audited)") if show_contacts else _("masked")))


@app.command()
def show(ctx: typer.Context, expert: ExpertArg, as_json: JsonOpt = False,
         show_contacts: ContactsOpt = False) -> None:
    """One expert: skills, certifications, contacts (masked), leave, assignments."""
    from expert_pool import service

    actx = context(ctx)
    detail = service.show(actx, expert, show_contacts=show_contacts)
    if as_json:
        print_json(detail.as_json())
        return
    _render_show(detail, actx.settings.timezone, actx.today())


def _render_show(detail: ExpertDetail, tz: str, today: date) -> None:
    from rich.markup import escape

    from expert_pool.export import certs_text, skills_text
    from expert_pool.times import local_text

    out, e = console(), detail.expert
    out.print(f"[bold]#{e.id} {escape(e.name)}[/bold] · {escape(e.organisation)}"
              + ("" if e.active else f" [red]{_('retired')}[/red]"))
    rows = [(_("home unit"), e.home_unit or "-"), (_("city"), e.city or "-"),
            (_("skills"), skills_text(e.skills) or "-"),
            (_("certifications"), certs_text(e.certifications, today=today) or "-"),
            (_("clearance"), e.clearance or "-"),
            (_("languages"), ", ".join(e.languages) or "-"),
            (_("phone"), e.phone or "-"), (_("e-mail"), e.email or "-"),
            (_("open assignments"), str(e.load)), (_("notes"), e.notes or "-")]
    for label, value in rows:
        out.print(f"  {label:<18} {escape(str(value))}")
    if detail.unavailability:
        out.print(_("Unavailable:"))
        for p in detail.unavailability:
            out.print(f"  #{p.id} {local_text(p.starts, tz)} → {local_text(p.ends, tz)} "
                      f"{escape(p.reason or '')}")
    if detail.assignments:
        out.print(_("Assignments:"))
        for a in detail.assignments:
            what = (_("finding #{id}").format(id=a.finding_id) if a.finding_id
                    else _("drill run #{id}").format(id=a.drill_run_id))
            state = _("open") if a.open else _("released")
            extra = (" " + _("(conflict overridden: {r})").format(r=a.override_reason)
                     if a.override_reason else "")
            out.print(f"  #{a.id} {a.role.value} · {what} · {state}{escape(extra)}")


def _record_from(values: dict[str, str], source: str) -> Any:
    from expert_pool.roster_file import record_from_values

    return record_from_values(values, source)


@app.command()
def add(ctx: typer.Context,
        name: Annotated[str, typer.Option("--name", help=_("Full name."))],
        organisation: Annotated[str, typer.Option("--organisation", "--org", help=_(
            "Employer."))],
        home_unit: Annotated[str | None, typer.Option("--home-unit", help=_(
            "The unit code, if a bureau employs the expert (conflict of interest)."))] = None,
        city: CityOpt = None,
        skill: Annotated[str | None, typer.Option("--skills", metavar="web:3;forensics:2",
                                                  help=_("Skills with levels."))] = None,
        cert: Annotated[str | None, typer.Option("--certs", metavar="CISP:2028-06-30;OSCP",
                                                 help=_("Certifications, expiry optional."))
                        ] = None,
        phone: Annotated[str | None, typer.Option("--phone")] = None,
        email: Annotated[str | None, typer.Option("--email")] = None,
        languages: Annotated[str | None, typer.Option("--languages", metavar="zh;en")] = None,
        clearance: Annotated[str | None, typer.Option("--clearance")] = None,
        notes: Annotated[str | None, typer.Option("--notes")] = None) -> None:
    """Add one expert."""
    from expert_pool import service

    values = {k: v for k, v in {
        "name": name, "organisation": organisation, "home_unit": home_unit, "city": city,
        "skills": skill, "certifications": cert, "phone": phone, "email": email,
        "languages": languages, "clearance": clearance, "notes": notes}.items() if v is not None}
    rec = _record_from(values, "experts add")
    expert = service.add_expert(context(ctx), rec)
    console().print(_("Added expert #{id} {name}.").format(id=expert.id, name=expert.name),
                    markup=False)


@app.command()
def edit(ctx: typer.Context, expert: ExpertArg,
         name: Annotated[str | None, typer.Option("--name")] = None,
         organisation: Annotated[str | None, typer.Option("--organisation", "--org")] = None,
         home_unit: Annotated[str | None, typer.Option("--home-unit", help=_(
             "A unit code; '-' clears it."))] = None,
         city: CityOpt = None,
         skill: Annotated[str | None, typer.Option("--skills", metavar="web:3;forensics:2",
                                                   help=_("Replaces the skills."))] = None,
         cert: Annotated[str | None, typer.Option("--certs", metavar="CISP:2028-06-30;OSCP",
                                                  help=_("Replaces the certifications."))
                         ] = None,
         phone: Annotated[str | None, typer.Option("--phone")] = None,
         email: Annotated[str | None, typer.Option("--email")] = None,
         languages: Annotated[str | None, typer.Option("--languages")] = None,
         clearance: Annotated[str | None, typer.Option("--clearance")] = None,
         notes: Annotated[str | None, typer.Option("--notes")] = None,
         active: Annotated[bool | None, typer.Option("--active/--retired", help=_(
             "Bring a retired expert back, or retire."))] = None) -> None:
    """Change an expert's fields (only those given)."""
    from expert_pool import service

    given = {k: v for k, v in {
        "name": name, "organisation": organisation, "city": city, "skills": skill,
        "certifications": cert, "phone": phone, "email": email, "languages": languages,
        "clearance": clearance, "notes": notes}.items() if v is not None}
    e = service.edit_expert(context(ctx), expert, values=given,
                            home_unit=None if home_unit == "-" else home_unit,
                            clear_home_unit=home_unit == "-", active=active)
    console().print(
        _("Expert #{id} {name}: changed {fields}.").format(
            id=e.id, name=e.name, fields=", ".join(e.changed)) if e.changed
        else _("Nothing to change."), markup=False)


@app.command()
def retire(ctx: typer.Context, expert: ExpertArg,
           reason: Annotated[str | None, typer.Option("--reason")] = None) -> None:
    """Take an expert out of matching and rotations (history stays)."""
    from expert_pool import service

    with phrased():
        e = service.retire(context(ctx), expert, reason=reason)
    console().print(_("Retired expert #{id} {name}.").format(id=e.id, name=e.name),
                    markup=False)


@app.command()
def away(ctx: typer.Context, expert: ExpertArg,
         from_: Annotated[str, typer.Option("--from", metavar="TIME", help=_(
             "'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM' (local time)."))],
         to: Annotated[str, typer.Option("--to", metavar="TIME", help=_(
             "The end; a bare date means to the end of that day."))],
         reason: Annotated[str | None, typer.Option("--reason", help=_(
             "Leave, travel, ..."))] = None) -> None:
    """Record a period an expert cannot be called (leave, travel)."""
    from datetime import timedelta

    from expert_pool import service

    actx = context(ctx)
    starts = _when(from_, actx, "--from")
    ends = _when(to, actx, "--to")
    if len(to.strip()) == 10:  # a bare date: through the end of that day
        ends += timedelta(days=1)
    period = service.away(actx, expert, starts=starts, ends=ends, reason=reason)
    console().print(_("Recorded unavailability #{id}.").format(id=period.id))


@app.command()
def back(ctx: typer.Context, period: Annotated[int, typer.Argument(metavar="PERIOD", help=_(
        "An unavailability id (see `experts show`)."))]) -> None:
    """Remove an unavailability period."""
    from expert_pool import service

    service.back(context(ctx), period)
    console().print(_("Removed unavailability #{id}.").format(id=period))


# ------------------------------------------------------------------ matching, assignments


@app.command()
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


@app.command()
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


@app.command()
def release(ctx: typer.Context, assignment: Annotated[int, typer.Argument(
        metavar="ASSIGNMENT")]) -> None:
    """Close an assignment (it stops counting towards the expert's load)."""
    from expert_pool import service

    service.release(context(ctx), assignment)
    console().print(_("Released assignment #{id}.").format(id=assignment))


@app.command()
def export(ctx: typer.Context,
           fmt: Annotated[str, typer.Option("--format", "-f", help=_("csv, xlsx or json."))],
           output: Annotated[Path, typer.Option("-o", "--output", metavar="FILE")],
           skill: SkillOpt = None, city: CityOpt = None,
           all_: Annotated[bool, typer.Option("--all", help=_(
               "Retired experts too."))] = False,
           show_contacts: ContactsOpt = False) -> None:
    """Write the roster (contacts masked unless --show-contacts by an authorised actor)."""
    from expert_pool import service
    from expert_pool.filters import ExpertFilter

    actx = context(ctx)
    f = ExpertFilter(skills=_skills(skill), city=city, include_retired=all_)
    with phrased():
        n = service.export_roster(actx, fmt=fmt, path=output, filters=f,
                                  show_contacts=show_contacts)
    console().print(_("Wrote {n} expert(s) to {p} (contacts {m}).").format(
        n=n, p=output, m=_("shown, audited") if show_contacts else _("masked")), markup=False)
