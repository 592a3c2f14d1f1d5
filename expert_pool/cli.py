"""``garrison experts``: the roster and availability; matching and assignments are
``cli_match``, the on-call rotation ``cli_oncall``.

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
from expert_pool.cli_match import register
from expert_pool.cli_oncall import oncall_app
from garrison.cli.context import console, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from datetime import date

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


register(app)  # match, assign, release (expert_pool/cli_match.py), in this place in --help


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
