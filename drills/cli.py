"""``garrison drill``: playbooks, runs, responses, scores, reports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from garrison.cli.context import console, err_console, open_db, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from drills.loader import LoadedPlaybook
    from drills.service import Changed, ClockMode, InputRefused, RunStatus
    from garrison.actions import ActionContext
    from garrison.errors import GarrisonError

app = typer.Typer(
    help=_("Red/blue and opinion-response drills from YAML playbooks: validate, run on a "
           "live or fast clock, record what teams do, score, report."),
    no_args_is_help=True,
)

RunArg = Annotated[int, typer.Argument(metavar="RUN", help=_("A drill run id."))]
JsonOpt = Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))]


# ------------------------------------------------------------------ playbooks


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(metavar="FILE...")]) -> None:
    """Check playbooks; every problem as file:line (exit 1 if any file is invalid)."""
    from drills.loader import load_playbook
    from garrison.errors import DocumentError

    out, err = console(), err_console()
    bad = 0
    for path in files:
        try:
            loaded = load_playbook(path)
        except DocumentError as exc:
            bad += 1
            for problem in exc.problems:
                err.print(str(problem), markup=False, highlight=False)
            continue
        pb = loaded.playbook
        out.print(_("{f}: OK ({id}, {kind}, {n} steps, {t} teams)").format(
            f=path, id=pb.id, kind=pb.kind, n=len(pb.steps), t=len(pb.teams)),
            markup=False, highlight=False)
    if bad:
        err.print(_("{n} of {t} playbook(s) invalid").format(n=bad, t=len(files)))
        raise typer.Exit(1)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Shipped and user playbooks (GARRISON_PLAYBOOKS_DIR), valid or not."""
    from rich.table import Table

    from drills.loader import discover, user_dir

    entries = discover()
    if as_json:
        print_json([{"id": e.id, "origin": e.origin, "path": str(e.path),
                     "valid": e.loaded is not None,
                     "title": e.loaded.playbook.title if e.loaded else None,
                     "kind": e.loaded.playbook.kind if e.loaded else None,
                     "problems": [str(p) for p in e.problems]} for e in entries])
        return
    table = Table(_("id"), _("kind"), _("title"), _("steps"), _("from"))
    for e in entries:
        if e.loaded is None:
            table.add_row(e.id, "[red]invalid[/red]", _("{n} problem(s): garrison drill "
                                                        "validate {p}").format(
                n=len(e.problems), p=e.path), "", e.origin)
            continue
        pb = e.loaded.playbook
        table.add_row(pb.id, pb.kind, pb.title, str(len(pb.steps)), e.origin)
    console().print(table)
    console().print(_("User playbooks: {d}").format(d=user_dir()), highlight=False)


@app.command()
def show(playbook: Annotated[str, typer.Argument(metavar="ID|FILE")],
         as_json: JsonOpt = False) -> None:
    """A playbook: teams, timeline, expectations, posts, clocks, escalation."""
    from drills.loader import resolve

    loaded = resolve(playbook)
    if as_json:
        print_json({**loaded.playbook.model_dump(mode="json", by_alias=True,
                                                 exclude_defaults=True),
                    "clocks_in_force": [c.model_dump(mode="json") for c in loaded.clocks],
                    "sha256": loaded.sha256, "origin": loaded.origin})
        return
    _render_playbook(loaded)


@app.command()
def schema(output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE",
                                                       help=_("Write to FILE."))] = None
           ) -> None:
    """The playbook JSON Schema, for editors (e.g. yaml-language-server)."""
    import json

    from drills.schema import Playbook

    text = json.dumps(Playbook.model_json_schema(by_alias=True), ensure_ascii=False, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console().print(_("Wrote the playbook schema to {p}").format(p=output))


# ------------------------------------------------------------------ runs

#: How this command names what a response or an adjustment may get wrong.
FLAGS = {"team": "--team", "step": "--step", "does": "--does", "level": "--level",
         "reason": "--reason", "points": "--points"}


def _context(ctx: typer.Context) -> ActionContext:
    """The action context of this command (settings checked, schema at head)."""
    from garrison.actions import action_context

    return action_context(open_db(ctx))


def _clock(text: str) -> ClockMode:
    """``--clock``, refused in the option's own words."""
    from drills import service
    from garrison.errors import GarrisonError

    try:
        return service.parse_clock(text)
    except service.BadClock as exc:
        raise GarrisonError(_("--clock {v!r}: use wall, step or fast:N (N from 1 to 1000000, "
                              "e.g. fast:60 runs an hour of drill time per minute)").format(
                                  v=exc.value)) from None


def _refused(exc: InputRefused) -> GarrisonError:
    """The run's refusal of a response or adjustment, phrased with this command's flags."""
    from drills.service import MAX_POINTS
    from garrison.errors import GarrisonError

    if exc.field == "level" and exc.goes_with is not None:
        field, value = exc.goes_with
        return GarrisonError(_("--level goes with {flag} {v}").format(flag=FLAGS[field],
                                                                      v=value))
    if exc.field == "level" and exc.allowed:
        return GarrisonError(_("--level {v!r}: use one of {levels}").format(
            v=exc.value, levels=", ".join(exc.allowed)), hint=exc.hint)
    if exc.field == "does" and exc.allowed:
        return GarrisonError(exc.message + _(" ({flag} {v})").format(
            flag=FLAGS["does"], v=" | ".join(exc.allowed)), hint=exc.hint)
    if exc.field == "reason":
        return GarrisonError(exc.message + f" ({FLAGS['reason']})", hint=exc.hint)
    if exc.field == "points":
        return GarrisonError(_("--points must be a non-zero number between -{m} and {m}")
                             .format(m=MAX_POINTS), hint=exc.hint)
    return exc


def _prompt(message: str) -> None:
    err_console().print(f"[dim]{message}[/dim]", end="")
    sys.stdin.readline()


@app.command()
def run(
    ctx: typer.Context,
    playbook: Annotated[str, typer.Argument(metavar="FILE|ID")],
    clock: Annotated[str, typer.Option("--clock", help=_(
        "wall (a live drill), fast:N (N times faster: fast:60 is an hour per minute) or "
        "step (event by event)."))] = "wall",
    responses: Annotated[Path | None, typer.Option("--responses", metavar="FILE", help=_(
        "Scripted responses replayed at their drill times (a reproducible rehearsal)."))
    ] = None,
    auto: Annotated[bool, typer.Option("--auto", help=_(
        "Never wait for the coordinator: the step clock advances by itself."))] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_(
        "Print only the run id and the final scores."))] = False,
) -> None:
    """Run a playbook. Teams respond from other terminals with `drill respond`; Ctrl-C
    pauses the run (`drill resume RUN` continues it)."""
    from drills import service
    from drills.loader import resolve
    from drills.script import load_script

    mode = _clock(clock)
    loaded = resolve(playbook)
    script = load_script(responses, loaded) if responses is not None else []
    context = _context(ctx)
    run_id = service.start(context, loaded, clock=mode, auto=auto, script=script)
    err_console().print(_("drill run {id} started: respond with `garrison drill respond {id} "
                          "--team T --does ACTION`").format(id=run_id))
    prompt = _prompt if mode.mode == "step" and not auto and sys.stdin.isatty() else None
    _drive(context, run_id, quiet=quiet, prompt=prompt)


def _drive(context: ActionContext, run_id: int, *, quiet: bool,
           prompt: Callable[[str], None] | None) -> None:
    from drills import service

    try:
        outcome = service.drive(context, run_id, out=None if quiet else console(),
                                prompt=prompt)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    err_console().print(_("drill run {id}: {state}").format(id=run_id,
                                                            state=outcome.state.value))
    sys.stdout.write(_("run {id} {state}; scores: {s}\n").format(
        id=run_id, state=outcome.state.value,
        s=", ".join(f"{k} {v:g}" for k, v in outcome.scores.items()) or "-"))


@app.command()
def respond(
    ctx: typer.Context, run_id: RunArg,
    team: Annotated[str, typer.Option("--team", "-t", show_default=False, help=_(
        "The team that acted."))],
    does: Annotated[str, typer.Option("--does", "-d", show_default=False, help=_(
        "What it did: acknowledge, report-finding, contain, statement, escalate, "
        "notify-province, classify, approve-statement, lesson, or your own action."))],
    step: Annotated[str | None, typer.Option("--step", "-s", help=_(
        "The step, post, escalation or clock it answers (default: every open one of "
        "that team and action)."))] = None,
    note: Annotated[str | None, typer.Option("--note", "-n", help=_(
        "The statement's wording, the finding reported, the lesson learnt ..."))] = None,
    level: Annotated[str | None, typer.Option("--level", help=_(
        "With --does classify: especially-serious, serious, relatively-serious or "
        "general."))] = None,
) -> None:
    """Record what a team did, now (drill time from the run's clock)."""
    from drills import service
    from drills.durations import clock_text

    try:
        recorded = service.respond(_context(ctx), run_id, team=team, does=does, step=step,
                                   note=note, level=level)
    except service.InputRefused as exc:
        raise _refused(exc) from exc
    at = recorded.drill_at
    when = clock_text(at) if at is not None else _("now (the engine stamps it)")
    console().print(_("recorded: {team} {does}{step} at {when}").format(
        team=team, does=does, step=f" ({step})" if step else "", when=when), highlight=False)


@app.command()
def adjust(
    ctx: typer.Context, run_id: RunArg,
    team: Annotated[str, typer.Option("--team", "-t", show_default=False)],
    points: Annotated[float, typer.Option("--points", "-p", show_default=False, help=_(
        "Points to add (negative to deduct)."))],
    reason: Annotated[str, typer.Option("--reason", "-r", show_default=False, help=_(
        "Why: it is shown in the report and audited."))],
) -> None:
    """A referee's score adjustment, with the reason."""
    from drills import service

    try:
        service.adjust(_context(ctx), run_id, team=team, points=points, reason=reason)
    except service.InputRefused as exc:
        raise _refused(exc) from exc
    console().print(_("adjusted {team} by {p:+g}: {r}").format(team=team, p=points, r=reason),
                    highlight=False)


def _changed(run_id: int, changed: Changed) -> None:
    from drills.durations import clock_text

    console().print(_("drill run {id} {state} at {t}").format(
        id=run_id, state=changed.state.value, t=clock_text(changed.drill_at)))


@app.command()
def pause(ctx: typer.Context, run_id: RunArg) -> None:
    """Stop the drill clock (the engine waits; responses are still recorded)."""
    from drills import service

    _changed(run_id, service.pause(_context(ctx), run_id, reason=None))


@app.command()
def abort(ctx: typer.Context, run_id: RunArg,
          reason: Annotated[str | None, typer.Option("--reason", "-r")] = None) -> None:
    """End the drill now; its report covers what happened until here."""
    from drills import service

    _changed(run_id, service.abort(_context(ctx), run_id, reason=reason))


@app.command()
def resume(ctx: typer.Context, run_id: RunArg,
           clock: Annotated[str | None, typer.Option("--clock", help=_(
               "Carry on with another clock: wall, fast:N or step."))] = None,
           auto: Annotated[bool | None, typer.Option("--auto/--no-auto", help=_(
               "Change whether the step clock waits for the coordinator."))] = None,
           quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False) -> None:
    """Continue a paused run, or take over one whose engine was killed (nothing
    recorded is lost). If its engine is still alive and waiting, it just continues."""
    from drills import service

    new_clock = _clock(clock) if clock is not None else None
    context = _context(ctx)
    resumed = service.resume(context, run_id, clock=new_clock, auto=auto)
    if resumed.engine is not None:
        console().print(_("drill run {id} resumed (its engine, {o}, carries on)")
                        .format(id=run_id, o=resumed.engine))
        return
    prompt = (_prompt if resumed.clock_mode == "step" and not resumed.auto
              and sys.stdin.isatty() else None)
    _drive(context, run_id, quiet=quiet, prompt=prompt)


@app.command()
def runs(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Drill runs, newest first."""
    from rich.table import Table

    from drills import service
    from drills.durations import clock_text

    rows = service.list_runs(_context(ctx), limit=None)
    if as_json:
        print_json([{"id": r.id, "playbook": r.playbook_id, "title": r.title,
                     "state": r.state.value, "clock": r.plain_clock,
                     "drill_time": round(r.drill_time, 1), "engine": r.engine,
                     "started_at": r.started_at.isoformat(), "scores": r.scores}
                    for r in rows])
        return
    table = Table(_("run"), _("playbook"), _("state"), _("clock"), _("drill time"),
                  _("engine"), _("started (UTC)"))
    for r in rows:
        table.add_row(str(r.id), r.playbook_id, r.state.value, r.plain_clock,
                      clock_text(round(r.drill_time, 1)), r.engine or "-",
                      r.started_at.isoformat()[:19])
    console().print(table)


@app.command()
def status(ctx: typer.Context, run_id: RunArg, as_json: JsonOpt = False) -> None:
    """Where a run is: clock, heat, level, expectations and clocks, scores."""
    from drills import service

    shown = service.show(_context(ctx), run_id)
    if as_json:
        print_json(_status_json(shown))
        return
    _render_status(shown)


def _status_json(run: RunStatus) -> dict[str, Any]:
    sim = run.sim
    return {
        "run": run.id, "playbook": run.playbook_id, "state": run.state.value,
        "drill_time": sim.t, "engine": run.engine,
        "level": sim.level, "heat": round(sim.heat()),
        "posts": {pid: round(p.reach) for pid, p in sim.posts.items()},
        "steps": {sid: ("fired" if s.fired_at is not None else "pending")
                  for sid, s in sim.steps.items()},
        "expectations": [{"source": e.source, "team": e.spec.team, "does": e.spec.does,
                          "deadline": e.deadline, "verdict": e.verdict or "open",
                          "points": e.points} for e in sim.expectations],
        "clocks": {cid: {"started_at": c.started_at, "deadline": c.deadline,
                         "verdict": c.verdict} for cid, c in sim.clocks.items()},
        "scores": sim.totals(), "unstamped_responses": run.unstamped,
    }


def _render_status(run: RunStatus) -> None:
    from rich.markup import escape
    from rich.table import Table

    from drills.durations import clock_text
    from drills.events import VERDICT_STYLE

    sim = run.sim
    out = console()
    engine = run.engine or _("none (resume it with `garrison drill resume {id}`)").format(
        id=run.id)
    out.print(_("[bold]Drill run {id}[/bold] {title}: {state} at {t}; level {level}; heat "
                "{heat:,.0f}; engine {engine}").format(
                    id=run.id, title=escape(run.title), state=run.state.value,
                    t=clock_text(sim.t), level=sim.level, heat=sim.heat(),
                    engine=escape(str(engine))))
    if run.unstamped:
        out.print(_("{n} response(s) waiting for the engine to stamp them").format(
            n=run.unstamped))
    table = Table(_("due"), _("team"), _("must"), _("for"), _("verdict"), _("points"),
                  title=_("Expectations"))
    for e in sim.expectations:
        colour = VERDICT_STYLE.get(e.verdict or "", "") if e.verdict != "open" else ""
        verdict = f"[{colour}]{e.verdict}[/{colour}]" if colour else (e.verdict or _("open"))
        table.add_row(clock_text(e.deadline), e.spec.team, e.spec.does, e.source, verdict,
                      f"{e.points:g}")
    out.print(table)
    if sim.clocks:
        clocks = Table(_("clock"), _("team"), _("must"), _("started"), _("deadline"),
                       _("verdict"), title=_("Statutory clocks"))
        for c in sim.clocks.values():
            clocks.add_row(c.spec.id, c.spec.team, c.spec.does,
                           clock_text(c.started_at) if c.started_at is not None else "-",
                           clock_text(c.deadline) if c.deadline is not None else "-",
                           c.verdict or (_("running") if c.started_at is not None else "-"))
        out.print(clocks)
    if sim.posts:
        out.print(_("Posts: {p}").format(p=", ".join(
            f"{pid} {p.reach:,.0f}" + (f" ({p.reaction})" if p.reaction else "")
            for pid, p in sim.posts.items())))
    out.print(_("Scores: {s}").format(s=", ".join(f"{k} {v:g}" for k, v in
                                                  sim.totals().items())))


@app.command()
def report(
    ctx: typer.Context, run_id: RunArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("md or html."))] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE", help=_(
        "Where to write (default: standard output)."))] = None,
) -> None:
    """The after-action report: objectives, timeline, expectations, clocks, scores, the
    heat curve, findings raised, lessons."""
    from drills import service
    from garrison.errors import GarrisonError

    fmt = fmt.strip().lower()
    if fmt not in service.REPORT_FORMATS:  # before the database is opened
        raise GarrisonError(_("--format {f!r}: use md or html").format(f=fmt))
    text = service.report(_context(ctx), run_id, fmt=fmt)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    console().print(_("Wrote the report of drill run {id} to {p}").format(id=run_id, p=output))


# ------------------------------------------------------------------ rendering


def _render_playbook(loaded: LoadedPlaybook) -> None:
    from rich.markup import escape
    from rich.table import Table

    from drills.durations import clock_text, format_duration

    pb = loaded.playbook
    out = console()
    out.print(_("[bold]{title}[/bold] ({id}, {kind}; unit {unit}; {origin})").format(
        title=escape(pb.title), id=pb.id, kind=pb.kind, unit=pb.scope.unit,
        origin=loaded.origin))
    if pb.description:
        out.print(escape(pb.description))
    for objective in pb.objectives:
        out.print(f"  - {escape(objective)}")
    out.print(_("Teams: {t}").format(t=", ".join(
        f"{t.id} ({t.role}{', ' + escape(t.name) if t.name else ''})" for t in pb.teams)))
    table = Table(_("when"), _("step"), _("team"), _("what"), _("expectations"),
                  title=_("Timeline"))
    for step in pb.steps:
        when = (clock_text(step.at) if step.at is not None else
                _("after {s}{d}").format(s=step.after, d=f" +{format_duration(step.delay)}"
                                         if step.delay else "") if step.after else
                _("when {c}").format(c=step.when.text if step.when else ""))
        what: str = step.action or step.inject or ""
        if step.inject == "post":
            what += f" {step.post}"
        expects = "; ".join(f"{e.team} {e.does} {format_duration(e.within)} {e.points}p"
                            for e in step.expect)
        table.add_row(when, step.id, step.team or ", ".join(step.to), escape(what),
                      escape(expects))
    out.print(table)
    for post in pb.posts:
        out.print(_("post {id} on {p} by {a}: reach {r} x{g}/h").format(
            id=post.id, p=post.platform, a=escape(post.author), r=post.reach.start,
            g=post.reach.growth_per_hour), highlight=False)
    for clock in loaded.clocks:
        out.print(_("clock {id}: {team} {does} within {w} of {s}").format(
            id=clock.id, team=clock.team, does=clock.does, w=format_duration(clock.within),
            s=clock.starts_on), highlight=False)
    for esc in pb.escalation:
        out.print(_("escalation {id}: to {to} when {c}").format(id=esc.id, to=esc.to,
                                                               c=esc.when.text),
                  highlight=False)
    if pb.duration:
        out.print(_("Ends at {t}.").format(t=clock_text(pb.duration)))
