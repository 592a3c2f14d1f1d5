"""Driving a drill run: the clock, the inputs, the automated actions, the timeline.

The engine owns no state of its own that matters: everything it learns (a stamped
response, an action's result, an automatic check) is written to the database as an
input before the simulation sees it, and everything the simulation derives is
written with a key unique in the run. A killed engine is replaced by
``garrison drill resume RUN``: it replays the stored inputs into a fresh simulation,
which derives the same events again (already stored, so skipped), and carries on.

Clocks: ``wall`` and ``fast:N`` follow the run's clock anchor (drill time runs N
times faster than wall time; pausing re-anchors it); ``step`` jumps from one due
event to the next, waiting for the coordinator's Enter unless ``--auto``.
Ctrl-C (or SIGTERM) pauses the run: ``drill resume`` continues it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from drills import service, store
from drills.actions import check_finding, run_probe_action, run_scan_action
from drills.durations import clock_text, format_duration
from drills.events import QUIET, EventKind, EventLike, describe
from drills.loader import LoadedPlaybook
from drills.schema import ProbeParams, ScanParams, StepSpec
from drills.sim import Derived, Input, Sim
from garrison import audit
from garrison.actions import ActionContext, action_context
from garrison.db import write_session
from garrison.findings.manual import add_manual
from garrison.i18n import _
from garrison.models import DrillEvent, DrillRun, DrillState, FindingSource, Severity
from garrison.settings import Settings
from garrison.signals import sigterm_interrupts

SAID_HERE = QUIET | {EventKind.action, EventKind.end, EventKind.state}
"""Kinds the printer leaves out: the engine says these in its own words (``running scan
for step ...``, ``drill over ...``, ``paused at ...``)."""


@dataclass
class EngineOptions:
    poll: float = 0.2
    """Longest sleep between looks at the clock and the database (wall seconds)."""
    out: Console | None = None
    """Where the timeline is printed (None: silent)."""
    prompt: Callable[[str], None] | None = None
    """Step clock without --auto: called before each step (waits for Enter)."""
    max_wall: float | None = None
    """Stop driving after this many wall seconds (tests, benchmarks)."""


@dataclass
class _Script:
    """Scripted responses (``--responses FILE``) not yet recorded."""

    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def next_at(self) -> float | None:
        return float(self.items[0][1]["at"]) if self.items else None


class Engine:
    def __init__(self, context: ActionContext | Settings, run_id: int,
                 options: EngineOptions | None = None) -> None:
        self.ctx = context if isinstance(context, ActionContext) else action_context(context)
        """Who drives the run, on which clock, under which policies (a missed
        expectation's finding gets the deployment's deadline)."""
        self.settings = self.ctx.settings
        self.run_id = run_id
        self.opts = options or EngineOptions()
        self.me = store.me()
        self.seen_id = 0
        self.known: set[str] = set()
        self.loaded: LoadedPlaybook
        self.sim: Sim
        self.script = _Script()
        self.started_wall: datetime

    # ------------------------------------------------------------ setup

    def _take_over(self) -> DrillRun:
        """Own the run (``service.take_over``: refused if it ended or a live engine
        drives it) and rebuild the simulation from what the database holds."""
        service.take_over(self.ctx, self.run_id, engine=self.me)
        now = self.ctx.now()
        with write_session(self.settings) as session:
            run = store.get_run(session, self.run_id)
            events = store.stamp_pending(session, run)  # any recorded since: their own time
            self.loaded = store.playbook_of(run)
            self.sim = Sim(self.loaded.playbook, self.loaded.clocks)
            self.started_wall = run.started_at
            self.known = store.derived_keys(session, run)
            recorded = {e.key for e in events}
            self.script = _Script([(i, item) for i, item in enumerate(run.script)
                                   if f"script:{i}" not in recorded])
            self.script.items.sort(key=lambda pair: (float(pair[1]["at"]), pair[0]))
            stamped = store.ordered(events)
            for event in stamped:
                self.sim.apply(store.as_input(event))
            self.seen_id = max((e.id or 0 for e in events), default=0)
            # derive again up to where the run had got: those events are stored already
            last = max([e.drill_at or 0.0 for e in stamped] + [run.anchor_drill], default=0.0)
            if run.speed > 0:
                last = max(last, store.drill_time(run, now))
            self._say(_("[bold]Drill run {id}[/bold]: {t} ({clock}); {n} steps").format(
                id=run.id, t=escape(run.playbook_title), clock=self._clock_name(run),
                n=len(self.loaded.playbook.steps)))
            self._advance(session, run, min(last, self._end_limit()))
            return run

    def _end_limit(self) -> float:
        duration = self.loaded.playbook.duration
        return float(duration) if duration is not None else float("inf")

    # ------------------------------------------------------------ the loop

    def drive(self) -> DrillRun:
        """Run until the drill ends, is aborted, is paused (Ctrl-C), or another engine
        takes it over; return the run as it then is."""
        run = self._take_over()
        started = time.monotonic()
        try:
            with sigterm_interrupts():
                paused = False
                while True:
                    run = self._iteration()
                    if run.owner != self.me or run.state in store.ENDED:
                        return run
                    if self.opts.max_wall is not None \
                            and time.monotonic() - started > self.opts.max_wall:
                        return run
                    if run.state is DrillState.paused:  # by `drill pause`: wait for resume
                        if not paused:
                            self._say(_("[yellow]paused[/yellow] at {t}; waiting for "
                                        "`garrison drill resume {id}`").format(
                                            t=clock_text(run.anchor_drill), id=run.id))
                        paused = True
                        time.sleep(self.opts.poll)
                        continue
                    if paused:
                        self._say(_("resumed at {t}").format(t=clock_text(run.anchor_drill)))
                        paused = False
                    self._wait(run)
        except KeyboardInterrupt:
            at = run.anchor_drill
            try:  # the coordinator's pause, as `garrison drill pause` records it
                at = service.pause(self.ctx, self.run_id,
                                   reason=_("the engine was interrupted")).drill_at
            except (store.NothingToChange, store.RunEnded):
                pass  # paused or ended already
            self._say(_("[yellow]paused[/yellow] at {t}; `garrison drill resume {id}` "
                        "continues it").format(t=clock_text(at), id=self.run_id))
            raise

    def _iteration(self) -> DrillRun:
        now = self.ctx.now()
        with write_session(self.settings) as session:
            run = store.get_run(session, self.run_id)
            if run.owner != self.me:
                self._say(_("run {id} is now driven by {o}; this engine stops").format(
                    id=run.id, o=run.owner))
                return run
            run.heartbeat_at = now
            session.add(run)
            if run.state is not DrillState.running:
                if run.state is DrillState.aborted:
                    self._say(_("[red]aborted[/red] at {t}").format(t=clock_text(
                        run.drill_end or run.anchor_drill)))
                    self._summarise(session, run)
                return run
            self._take_inputs(session, run)
            if run.clock_mode == "step":
                self._step(session, run, now)
            else:
                target = self._target(run, now)
                self._take_script(session, run, target, now)
                self._advance(session, run, target)
            if run.clock_mode == "step":
                run.anchor_drill, run.anchor_wall = self.sim.t, now
                session.add(run)
            if self.sim.finished:
                self._finish(session, run, now)
                return run
        self._run_actions()
        self._run_checks()
        return run

    def _target(self, run: DrillRun, now: datetime) -> float:
        if run.clock_mode == "step":
            due = [t for t in (self.sim.next_due(), self.script.next_at()) if t is not None]
            return min(due) if due else self.sim.t
        return min(store.drill_time(run, now), self._end_limit())

    def _take_inputs(self, session: Any, run: DrillRun) -> None:
        """Stamp and apply the responses recorded elsewhere since the last look."""
        from sqlmodel import col, select

        fresh = list(session.exec(select(DrillEvent).where(
            DrillEvent.run_id == run.id, col(DrillEvent.input).is_(True),
            col(DrillEvent.id) > self.seen_id).order_by(col(DrillEvent.id))).all())
        for event in fresh:
            if event.drill_at is None or event.drill_at < self.sim.t:
                clock = store.drill_time(run, event.wall_at) if run.speed > 0 else self.sim.t
                event.drill_at = max(clock, self.sim.t)
                session.add(event)
        session.flush()
        for event in sorted(fresh, key=lambda e: (e.drill_at or 0.0, e.id or 0)):
            self.seen_id = max(self.seen_id, event.id or 0)
            if event.key.startswith("script:"):
                continue  # recorded by this engine, applied already
            self.sim.apply(store.as_input(event))
            self._print_input(event)

    def _step(self, session: Any, run: DrillRun, now: datetime) -> None:
        """Step clock: advance due time by due time until something visible happens
        (a quiet tick of the reach model is not an event worth a keypress)."""
        while not self.sim.finished:
            if self.sim.pending_actions():
                return  # run them first: their results come back at this drill time
            target = self._target(run, now)
            emitted = len(self.sim.events)
            self._take_script(session, run, target, now)
            self._advance(session, run, target)
            if len(self.sim.events) > emitted or self.sim.pending_actions() \
                    or self.sim.open_checks() or target <= self.sim.t - 1e-9 \
                    or (self.sim.next_due() is None and self.script.next_at() is None):
                return

    def _take_script(self, session: Any, run: DrillRun, limit: float, now: datetime) -> None:
        """Record and apply the scripted responses due by ``limit``."""
        while self.script.items and float(self.script.items[0][1]["at"]) <= limit:
            index, item = self.script.items.pop(0)
            event = store.record_response(
                session, run, team=item["team"], does=item["does"], step=item.get("step"),
                note=item.get("note"), level=item.get("level"), actor=f"script:{run.actor}",
                key=f"script:{index}", drill_at=float(item["at"]), now=now)
            self.seen_id = max(self.seen_id, event.id or 0)
            self._write(session, run)  # what happened before it, first
            self.sim.apply(store.as_input(event))
            self._print_input(event)

    def _advance(self, session: Any, run: DrillRun, to: float) -> None:
        self.sim.advance(to)
        self._write(session, run)

    def _write(self, session: Any, run: DrillRun) -> None:
        written = store.write_derived(session, run, self.sim.drain(), self.known,
                                      self.ctx.now())
        for event in written:
            self._print_derived(event)
            if event.kind in (EventKind.verdict, EventKind.clock) and event.note == "missed":
                self._raise_finding(session, run, event)

    # ------------------------------------------------------------ side effects

    def _run_actions(self) -> None:
        """Run the requested actions. On the live clock an action takes the time it
        takes; on a compressed clock (fast, step) the drill clock stands still while
        it runs -- a 5-second scan must not eat 5 hours of a fast:3600 rehearsal -- so
        a rehearsal's results do not depend on how fast the machine scans."""
        for step, fired_at in self.sim.pending_actions():
            started = self.ctx.now()
            self._say(_("  {t}  running {a} for step {s} ...").format(
                t=clock_text(fired_at), a=step.action, s=step.id))
            with write_session(self.settings) as session:
                before = self._now_drill(store.get_run(session, self.run_id))
            result = self._execute(step, started)
            with write_session(self.settings) as session:
                fresh = store.get_run(session, self.run_id)
                if f"result:{step.id}" in store.input_keys(session, fresh):
                    continue  # recorded already (by an engine that was then killed)
                if fresh.clock_mode == "fast" and fresh.state is DrillState.running:
                    fresh.anchor_drill, fresh.anchor_wall = before, self.ctx.now()
                    session.add(fresh)
                at = self._now_drill(fresh)
                event = store.record_input(session, fresh, key=f"result:{step.id}",
                                           kind=EventKind.action_result, at=at, step=step.id,
                                           team=step.team, action=step.action,
                                           data=result, now=self.ctx.now())
                self.seen_id = max(self.seen_id, event.id or 0)
                self.sim.apply(store.as_input(event))
                self._print_input(event)
                self._write(session, fresh)

    def _execute(self, step: StepSpec, started: datetime) -> dict[str, Any]:
        params = step.params()
        pb = self.loaded.playbook
        if isinstance(params, ScanParams):
            return run_scan_action(self.settings, pb, params, started)
        if isinstance(params, ProbeParams):
            return run_probe_action(self.settings, pb, params)
        ids = check_finding(self.settings, pb.scope.unit, params, self.started_wall)  # type: ignore[arg-type]
        return {"found": bool(ids), "findings": ids}

    def _run_checks(self) -> None:
        for exp, check in self.sim.open_checks():
            if exp.opened_at > self.sim.t:
                continue
            ids = check_finding(self.settings, self.loaded.playbook.scope.unit, check,
                                self.started_wall)
            if not ids:
                continue
            with write_session(self.settings) as session:
                fresh = store.get_run(session, self.run_id)
                at = max(self._now_drill(fresh), exp.opened_at)
                event = store.record_input(session, fresh, key=f"check:{exp.key}",
                                           kind=EventKind.auto_check, at=at, step=exp.source,
                                           team=exp.spec.team, action=exp.spec.does,
                                           now=self.ctx.now(),
                                           note=_("finding {ids} matches").format(
                                               ids=", ".join(f"#{i}" for i in ids)),
                                           data={"expectation": exp.key, "findings": ids})
                self.seen_id = max(self.seen_id, event.id or 0)
                self.sim.apply(store.as_input(event))
                self._print_input(event)
                self._write(session, fresh)

    def _now_drill(self, run: DrillRun) -> float:
        if run.speed <= 0:
            return self.sim.t
        return min(max(store.drill_time(run, self.ctx.now()), self.sim.t),
                   self._end_limit())

    def _raise_finding(self, session: Any, run: DrillRun, event: Derived) -> None:
        """A missed expectation or clock becomes a finding of the team's unit."""
        pb = self.loaded.playbook
        team = pb.team(event.team) if event.team in pb.team_ids else None
        unit = (team.unit if team and team.unit else None) or pb.scope.unit
        what = (_("clock {c}").format(c=event.step) if event.kind == EventKind.clock
                else event.step)
        title = _("Drill {p}: {team} did not {does} in time ({what})").format(
            p=pb.id, team=event.team, does=event.action, what=what)
        deadline = event.data.get("deadline")
        add_manual(session, unit_code=unit, title=title[:300],
                   severity=Severity(event.data.get("severity", "medium")),
                   actor="garrison", source=FindingSource.drill, now=self.ctx.now(),
                   fingerprint=f"drill|{run.id}|{event.key}", rule_id=f"drill:{pb.id}"[:100],
                   description=_("Drill run {id} ({title}): team {team} was expected to {does} "
                                 "by {deadline} drill time and did not.").format(
                                     id=run.id, title=run.playbook_title, team=event.team,
                                     does=event.action,
                                     deadline=clock_text(deadline) if deadline else "?"),
                   evidence={"drill_run": run.id, "playbook": pb.id, "key": event.key,
                             "team": event.team, "deadline": deadline},
                   note=_("missed in drill run {id}").format(id=run.id),
                   policy=self.ctx.policies.sla)

    def _finish(self, session: Any, run: DrillRun, now: datetime) -> None:
        for index, item in self.script.items:  # the hot wash: lessons after the end
            if item["does"] == "lesson":
                event = store.record_response(
                    session, run, team=item["team"], does="lesson", step=item.get("step"),
                    note=item.get("note"), actor=f"script:{run.actor}", key=f"script:{index}",
                    drill_at=self.sim.t, now=now)
                self.sim.apply(store.as_input(event))
                self._print_input(event)
        self.script.items = []
        self._write(session, run)
        run.state, run.finished_at, run.drill_end = DrillState.done, now, self.sim.t
        run.anchor_drill, run.anchor_wall = self.sim.t, now
        session.add(run)
        self._summarise(session, run)
        audit.record(session, actor=self.ctx.actor, action="drill.done",
                     subject=f"drill:{run.id}", payload={"scores": run.summary.get("scores"),
                                                          "drill_end": self.sim.t}, at=now)
        self._say(_("[bold green]drill over[/bold green] at {t}; scores: {s}").format(
            t=clock_text(self.sim.t), s=", ".join(f"{k} {v:g}" for k, v in
                                                   run.summary["scores"].items())))

    def _summarise(self, session: Any, run: DrillRun) -> None:
        verdicts: dict[str, int] = {}
        for exp in self.sim.expectations:
            verdicts[exp.verdict or "open"] = verdicts.get(exp.verdict or "open", 0) + 1
        run.summary = {"scores": self.sim.totals(), "verdicts": verdicts,
                       "level": self.sim.level, "heat": round(self.sim.heat())}
        session.add(run)

    # ------------------------------------------------------------ waiting

    def _wait(self, run: DrillRun) -> None:
        if run.clock_mode == "step":
            if self.sim.pending_actions():
                return
            if self.opts.prompt is not None and not run.auto:
                upcoming = [t for t in (self.sim.next_due(), self.script.next_at())
                            if t is not None]
                self.opts.prompt(_("Enter: next event ({t})").format(
                    t=clock_text(min(upcoming)) if upcoming else _("waiting")))
            return
        due = [t for t in (self.sim.next_due(), self.script.next_at()) if t is not None]
        if self.sim.pending_actions():
            return
        now_drill = store.drill_time(run, self.ctx.now())
        delay = self.opts.poll
        if due and run.speed > 0:
            delay = min(delay, max(0.0, (min(due) - now_drill) / run.speed))
        if delay > 0:
            time.sleep(delay)

    def _clock_name(self, run: DrillRun) -> str:
        if run.clock_mode == "fast":
            return _("fast clock, {n:g}x: {d} of drill time per minute").format(
                n=run.speed, d=format_duration(run.speed * 60))
        if run.clock_mode == "step":
            return _("step clock") + (_(", automatic") if run.auto else "")
        return _("wall clock (live)")

    # ------------------------------------------------------------ printing

    def _say(self, text: str) -> None:
        if self.opts.out is not None:
            self.opts.out.print(text, highlight=False)

    def _print_input(self, event: DrillEvent) -> None:
        scripted = event.key.startswith("script:")  # a rehearsal's: every one the same
        self._print(event, event.drill_at, None if scripted else event.actor)

    def _print_derived(self, d: Derived) -> None:
        self._print(d, d.at, None)

    def _print(self, event: EventLike, at: float | None, actor: str | None) -> None:
        """One timeline line, as the console and the report say it (``events.describe``)."""
        if self.opts.out is None or at is None or event.kind in SAID_HERE:
            return
        pieces = describe(event, actor=actor)
        if pieces:
            self.opts.out.print(Text.assemble(f"  {clock_text(at)}  ", *pieces),
                                highlight=False)


def start(settings: ActionContext | Settings, loaded: LoadedPlaybook, *,
          clock: store.ClockMode, auto: bool, script: list[dict[str, Any]]) -> int:
    """``service.start`` for callers that hold settings (the demo, test fixtures)."""
    ctx = settings if isinstance(settings, ActionContext) else action_context(settings)
    return service.start(ctx, loaded, clock=clock, auto=auto, script=script)


__all__ = ["Engine", "EngineOptions", "Input", "start"]
