"""``garrison drill``: playbooks, runs, responses, scores, reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from garrison.cli.context import console, err_console, open_db, print_json
from garrison.i18n import _

if TYPE_CHECKING:
    from drills.loader import LoadedPlaybook
    from drills.store import Replay
    from garrison.settings import Settings

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
    from drills.engine import Engine, EngineOptions, start
    from drills.loader import resolve
    from drills.script import load_script
    from drills.store import ClockMode

    mode = ClockMode.parse(clock)
    loaded = resolve(playbook)
    script = load_script(responses, loaded) if responses is not None else []
    settings = open_db(ctx)
    run_id = start(settings, loaded, clock=mode, auto=auto, script=script)
    err_console().print(_("drill run {id} started: respond with `garrison drill respond {id} "
                          "--team T --does ACTION`").format(id=run_id))
    out = None if quiet else console()
    prompt = _prompt if mode.mode == "step" and not auto and sys.stdin.isatty() else None
    try:
        result = Engine(settings, run_id, EngineOptions(out=out, prompt=prompt)).drive()
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    _final(settings, result.id or run_id)


def _final(settings: Settings, run_id: int) -> None:
    from drills import store
    from garrison.db import read_session

    with read_session(settings) as session:
        run = store.get_run(session, run_id)
        scores = run.summary.get("scores", {})
        err_console().print(_("drill run {id}: {state}").format(id=run_id,
                                                                state=run.state.value))
        sys.stdout.write(_("run {id} {state}; scores: {s}\n").format(
            id=run_id, state=run.state.value,
            s=", ".join(f"{k} {v:g}" for k, v in scores.items()) or "-"))


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
    from drills import store
    from drills.durations import clock_text
    from garrison.db import write_session

    settings = open_db(ctx)
    with write_session(settings) as session:
        run = store.get_run(session, run_id)
        event = store.record_response(session, run, team=team, does=does, step=step,
                                      note=note, level=level, actor=settings.actor,
                                      now=settings.now())
        at = event.drill_at
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
    from drills import store
    from garrison.db import write_session

    settings = open_db(ctx)
    with write_session(settings) as session:
        run = store.get_run(session, run_id)
        store.record_adjustment(session, run, team=team, points=points, reason=reason,
                                actor=settings.actor, now=settings.now())
    console().print(_("adjusted {team} by {p:+g}: {r}").format(team=team, p=points, r=reason),
                    highlight=False)


def _set_state(ctx: typer.Context, run_id: int, state: str, reason: str | None) -> None:
    from drills import store
    from drills.durations import clock_text
    from garrison.db import write_session
    from garrison.models import DrillState

    settings = open_db(ctx)
    with write_session(settings) as session:
        run = store.get_run(session, run_id)
        store.set_state(session, run, DrillState(state), actor=settings.actor, reason=reason,
                        now=settings.now())
        at = run.anchor_drill
    console().print(_("drill run {id} {state} at {t}").format(id=run_id, state=state,
                                                             t=clock_text(at)))


@app.command()
def pause(ctx: typer.Context, run_id: RunArg) -> None:
    """Stop the drill clock (the engine waits; responses are still recorded)."""
    _set_state(ctx, run_id, "paused", None)


@app.command()
def abort(ctx: typer.Context, run_id: RunArg,
          reason: Annotated[str | None, typer.Option("--reason", "-r")] = None) -> None:
    """End the drill now; its report covers what happened until here."""
    _set_state(ctx, run_id, "aborted", reason)


@app.command()
def resume(ctx: typer.Context, run_id: RunArg,
           clock: Annotated[str | None, typer.Option("--clock", help=_(
               "Carry on with another clock: wall, fast:N or step."))] = None,
           auto: Annotated[bool | None, typer.Option("--auto/--no-auto", help=_(
               "Change whether the step clock waits for the coordinator."))] = None,
           quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False) -> None:
    """Continue a paused run, or take over one whose engine was killed (nothing
    recorded is lost). If its engine is still alive and waiting, it just continues."""
    from drills import store
    from drills.engine import Engine, EngineOptions
    from garrison.db import write_session
    from garrison.models import DrillState

    new_clock = store.ClockMode.parse(clock) if clock is not None else None
    settings = open_db(ctx)
    with write_session(settings) as session:
        run = store.get_run(session, run_id)
        if store.engine_alive(run, settings.now()):
            if new_clock is not None or auto is not None:
                raise_running(run)
            if run.state is DrillState.paused:
                store.set_state(session, run, DrillState.running, actor=settings.actor,
                                now=settings.now())
                console().print(_("drill run {id} resumed (its engine, {o}, carries on)")
                                .format(id=run_id, o=run.owner))
                return
            raise_running(run)
        mode = new_clock.mode if new_clock is not None else run.clock_mode
        automatic = auto if auto is not None else run.auto
    out = None if quiet else console()
    prompt = _prompt if mode == "step" and not automatic and sys.stdin.isatty() else None
    try:
        result = Engine(settings, run_id, EngineOptions(
            out=out, prompt=prompt, clock=new_clock, auto=auto)).drive()
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    _final(settings, result.id or run_id)


def raise_running(run: Any) -> None:
    from garrison.errors import GarrisonError

    raise GarrisonError(_("drill run {id} is running, driven by {o}").format(
        id=run.id, o=run.owner),
        hint=_("`garrison drill status {id}` shows it; pause or abort it first to take it "
               "over.").format(id=run.id))


@app.command()
def runs(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Drill runs, newest first."""
    from rich.table import Table
    from sqlmodel import col, select

    from drills.durations import clock_text
    from drills.store import drill_time, engine_alive
    from garrison.db import read_session
    from garrison.models import DrillRun

    settings = open_db(ctx)
    now = settings.now()
    with read_session(settings) as session:
        rows = session.exec(select(DrillRun).order_by(col(DrillRun.id).desc())).all()
        data = [{"id": r.id, "playbook": r.playbook_id, "title": r.playbook_title,
                 "state": r.state.value, "clock": r.clock_mode if r.clock_mode != "fast"
                 else f"fast:{r.speed:g}", "drill_time": round(drill_time(r, now), 1),
                 "engine": r.owner if engine_alive(r, now) else None,
                 "started_at": r.started_at.isoformat(),
                 "scores": r.summary.get("scores", {})} for r in rows]
    if as_json:
        print_json(data)
        return
    table = Table(_("run"), _("playbook"), _("state"), _("clock"), _("drill time"),
                  _("engine"), _("started (UTC)"))
    for d in data:
        table.add_row(str(d["id"]), str(d["playbook"]), str(d["state"]), str(d["clock"]),
                      clock_text(float(str(d["drill_time"]))), str(d["engine"] or "-"),
                      str(d["started_at"])[:19])
    console().print(table)


@app.command()
def status(ctx: typer.Context, run_id: RunArg, as_json: JsonOpt = False) -> None:
    """Where a run is: clock, heat, level, expectations and clocks, scores."""
    from drills import store
    from garrison.db import read_session

    settings = open_db(ctx)
    with read_session(settings) as session:
        run = store.get_run(session, run_id)
        rep = store.replay(session, run, now=settings.now())
        alive = store.engine_alive(run, settings.now())
        pending = sum(1 for e in rep.events if e.input and e.drill_at is None)
    if as_json:
        print_json(_status_json(rep, alive, pending))
        return
    _render_status(rep, alive, pending)


def _status_json(rep: Replay, alive: bool, pending: int) -> dict[str, Any]:
    sim, run = rep.sim, rep.run
    return {
        "run": run.id, "playbook": run.playbook_id, "state": run.state.value,
        "drill_time": sim.t, "engine": run.owner if alive else None,
        "level": sim.level, "heat": round(sim.heat()),
        "posts": {pid: round(p.reach) for pid, p in sim.posts.items()},
        "steps": {sid: ("fired" if s.fired_at is not None else "pending")
                  for sid, s in sim.steps.items()},
        "expectations": [{"source": e.source, "team": e.spec.team, "does": e.spec.does,
                          "deadline": e.deadline, "verdict": e.verdict or "open",
                          "points": e.points} for e in sim.expectations],
        "clocks": {cid: {"started_at": c.started_at, "deadline": c.deadline,
                         "verdict": c.verdict} for cid, c in sim.clocks.items()},
        "scores": sim.totals(), "unstamped_responses": pending,
    }


def _render_status(rep: Replay, alive: bool, pending: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from drills.durations import clock_text

    sim, run = rep.sim, rep.run
    out = console()
    engine = run.owner if alive else _("none (resume it with `garrison drill resume {id}`)"
                                       ).format(id=run.id)
    out.print(_("[bold]Drill run {id}[/bold] {title}: {state} at {t}; level {level}; heat "
                "{heat:,.0f}; engine {engine}").format(
                    id=run.id, title=escape(run.playbook_title), state=run.state.value,
                    t=clock_text(sim.t), level=sim.level, heat=sim.heat(),
                    engine=escape(str(engine))))
    if pending:
        out.print(_("{n} response(s) waiting for the engine to stamp them").format(n=pending))
    table = Table(_("due"), _("team"), _("must"), _("for"), _("verdict"), _("points"),
                  title=_("Expectations"))
    for e in sim.expectations:
        colour = {"met": "green", "late": "yellow", "missed": "red"}.get(e.verdict or "", "")
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
                           c.verdict or ("running" if c.started_at is not None else "-"))
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
    from drills import store
    from drills.report import build_report
    from garrison.db import read_session
    from garrison.errors import GarrisonError

    fmt = fmt.strip().lower()
    if fmt not in ("md", "html"):
        raise GarrisonError(_("--format {f!r}: use md or html").format(f=fmt))
    settings = open_db(ctx)
    with read_session(settings) as session:
        data = build_report(session, store.get_run(session, run_id), now=settings.now())
    if fmt == "md":
        from drills.report_md import render
    else:
        from drills.report_html import render
    text = render(data)
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
