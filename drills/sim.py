"""The drill as a deterministic simulation over drill time.

Given a playbook and its *inputs* -- team responses, results of automated actions,
automatic check results, referee adjustments, each at a drill time -- the drill's
state at any drill time is a pure function of them. ``Sim`` computes it:

- steps fire at ``at``, ``after`` another step or escalation has completed (plus
  ``delay``), or ``when`` a condition first holds (conditions are evaluated every
  ``tick``); firing delivers the inject, opens the expectations, requests the action;
- posts appear through steps and spawns; each post's reach grows by its
  ``growth_per_hour`` and changes growth when the team makes a statement (timely and
  approved, or not) or stays silent too long; a spawn or an escalation happens at
  the first tick its condition holds;
- expectations and clocks are judged met, late (partial credit) or missed;
- scores add up points, late credit, penalties, attacker results and adjustments.

The engine (``drills.engine``) feeds it the inputs as they happen and stores what it
derives; a report or a status view replays the same inputs into a fresh ``Sim``. At
equal drill times, inputs come first: a response at the deadline is in time.

There is no I/O here: this module is the rules of the drill, testable alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drills.events import EventKind
from drills.schema import (
    CheckFinding,
    ClockSpec,
    EscalationSpec,
    ExpectSpec,
    Playbook,
    PostSpec,
    StepSpec,
    WaitParams,
)
from garrison.vocab import Severity

EPSILON = 1e-6


@dataclass(frozen=True)
class Input:
    """Something that happened in the drill: the sim's only source of change."""

    at: float
    kind: str
    """One of ``events.INPUTS``: ``response``, ``action-result``, ``auto-check`` or
    ``adjust`` (an ``EventKind``, or the same text read from the database)."""
    key: str
    team: str | None = None
    step: str | None = None
    does: str | None = None
    level: str | None = None
    note: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Derived:
    """Something the drill's rules made happen, for the timeline."""

    key: str
    at: float
    kind: EventKind
    team: str | None = None
    step: str | None = None
    action: str | None = None
    note: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Expectation:
    """An expectation once its step, post or escalation has opened it."""

    key: str
    spec: ExpectSpec
    source: str
    """The step, post or escalation id it belongs to."""
    opened_at: float
    verdict: str | None = None
    """None (open), ``met``, ``late``, ``missed``; ``open`` when the drill ended first."""
    judged_at: float | None = None
    points: float = 0.0
    response: str | None = None
    """Key of the input that met it."""

    @property
    def deadline(self) -> float:
        return self.opened_at + self.spec.within

    @property
    def late_end(self) -> float | None:
        return self.deadline + self.spec.late.within if self.spec.late else None

    def credit(self, at: float) -> float:
        """Points for a response at ``at`` (0 when too late)."""
        if at <= self.deadline + EPSILON:
            return float(self.spec.points)
        late = self.spec.late
        if late is None or at > self.deadline + late.within + EPSILON:
            return 0.0
        share = late.credit
        if late.linear and late.within:
            share *= max(0.0, 1 - (at - self.deadline) / late.within)
        return round(self.spec.points * share, 2)


@dataclass
class Clock:
    spec: ClockSpec
    started_at: float | None = None
    verdict: str | None = None
    judged_at: float | None = None
    points: float = 0.0
    response: str | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.started_at is None else self.started_at + self.spec.within


@dataclass
class PostState:
    spec: PostSpec
    appeared_at: float
    reach: float
    growth: float
    updated_at: float
    reaction: str | None = None
    """``statement`` or ``late_statement`` once answered; ``silence`` while it is."""
    spawned: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ScoreLine:
    team: str
    points: float
    at: float
    reason: str
    source: str
    """``expectation``, ``clock``, ``attack``, ``adjust``."""
    category: str | None = None
    key: str = ""


@dataclass
class _StepState:
    spec: StepSpec
    fired_at: float | None = None
    done_at: float | None = None
    scheduled: float | None = None
    result: Mapping[str, Any] | None = None


class Sim:
    """The drill's state at drill time ``t``; feed inputs in time order."""

    def __init__(self, playbook: Playbook, clocks: Iterable[ClockSpec] = ()) -> None:
        self.pb = playbook
        self.t = 0.0
        self.started = False
        self.level = playbook.level
        self.steps = {s.id: _StepState(s) for s in playbook.steps}
        self.posts_spec = {p.id: p for p in playbook.posts}
        self.posts: dict[str, PostState] = {}
        self.escalations = {e.id: e for e in playbook.escalation}
        self.escalated: dict[str, float] = {}
        self.clocks = {c.id: Clock(c) for c in clocks}
        self.expectations: list[Expectation] = []
        self.responses: list[Input] = []
        self.scores: list[ScoreLine] = []
        self.events: list[Derived] = []
        self.heat_curve: list[tuple[float, float]] = []
        self.finished_at: float | None = None
        self._last_tick: float | None = None
        self._drained = 0
        self._keys: set[str] = set()
        self._classified: list[Input] = []

    # ------------------------------------------------------------ public API

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def drain(self) -> list[Derived]:
        """Events derived since the last call."""
        new = self.events[self._drained:]
        self._drained = len(self.events)
        return new

    def apply(self, item: Input) -> None:
        """Advance to just before ``item.at``, then apply it (inputs precede same-time
        rules: a response at the deadline is in time)."""
        if self.finished:  # after the end only responses count (lessons of the hot wash)
            if item.kind == EventKind.response:
                self.responses.append(item)
                if item.does == "lesson":
                    self._emit(f"lesson:{item.key}", item.at, EventKind.lesson, team=item.team,
                               step=item.step, note=item.note)
            return
        self._advance(max(item.at, self.t), inclusive=False)
        self._update_reach(self.t)
        if item.kind == EventKind.action_result:
            # the action's step may be due at this very time (``after`` a result that
            # came in at the same drill time): it fired before its result came back
            state = self.steps.get(item.step or "")
            if state is not None and state.fired_at is None and state.scheduled is not None \
                    and state.scheduled <= item.at + EPSILON:
                self._fire(state, item.at)
        if item.kind == EventKind.response:
            self._response(item)
        elif item.kind == EventKind.action_result:
            self._action_result(item)
        elif item.kind == EventKind.auto_check:
            self._auto_check(item)
        elif item.kind == EventKind.adjust:
            self._adjust(item)

    def advance(self, to: float) -> None:
        """Process every rule due at or before ``to``; the drill time becomes ``to``."""
        self._advance(to, inclusive=True)

    def next_due(self) -> float | None:
        """The next drill time at which a rule is due (None: nothing left)."""
        if self.finished:
            return None
        if not self.started:
            return 0.0
        times = [s.scheduled for s in self.steps.values()
                 if s.fired_at is None and s.scheduled is not None]
        times += [s.fired_at + self._wait(s.spec) for s in self.steps.values()
                  if s.fired_at is not None and s.done_at is None and s.spec.action == "wait"]
        times += [e.deadline if e.judged_at is None else e.late_end or e.deadline
                  for e in self.expectations if e.verdict is None]
        times += [c.deadline for c in self.clocks.values()
                  if c.verdict is None and c.deadline is not None]
        for post in self.posts.values():
            silence = post.spec.on.silence
            if silence and post.reaction is None:
                times.append(post.appeared_at + silence.after)
        if self._ticking():
            times.append(0.0 if self._last_tick is None else self._last_tick + self.pb.tick)
        if self.pb.duration is not None:
            times.append(float(self.pb.duration))
        future = [t for t in times if t is not None and t >= self.t - EPSILON]
        if future:
            return min(future)
        # Nothing scheduled: either the drill is over (process now, and it ends) or it
        # waits for an input (an action's result) that only the engine can give.
        return self.t if self._idle() else None

    def pending_actions(self) -> list[tuple[StepSpec, float]]:
        """Automated actions requested but without a result (the engine runs them)."""
        return [(s.spec, s.fired_at) for s in self.steps.values()
                if s.fired_at is not None and s.result is None
                and s.spec.action in ("scan", "probe", "check-finding")]

    def open_checks(self) -> list[tuple[Expectation, CheckFinding]]:
        """Open expectations judged by a finding check (the engine runs the check)."""
        return [(e, e.spec.check) for e in self.expectations
                if e.verdict is None and e.spec.check is not None]

    def heat(self) -> float:
        return sum(p.reach for p in self.posts.values())

    def totals(self) -> dict[str, float]:
        out = dict.fromkeys(self.pb.team_ids, 0.0)
        for line in self.scores:
            out[line.team] = round(out.get(line.team, 0.0) + line.points, 2)
        return out

    def values(self) -> dict[str, float]:
        """What conditions can test."""
        out = {"heat": self.heat(), "elapsed": self.t / 60}
        for pid in self.posts_spec:
            out[f"reach:{pid}"] = self.posts[pid].reach if pid in self.posts else 0.0
        return out

    # ------------------------------------------------------------ the loop

    def _advance(self, to: float, *, inclusive: bool) -> None:
        if not self.started:
            self._start()
        guard = 0
        while not self.finished:
            due = self.next_due()
            if due is None or due > to + EPSILON or (not inclusive and due >= to - EPSILON):
                break
            self._update_reach(due)
            self.t = max(self.t, due)
            self._process(self.t)
            guard += 1
            if guard > 1_000_000:  # a rule that keeps itself due: a bug, not a drill
                raise RuntimeError("drill simulation does not advance")
        if not self.finished and to > self.t:
            self._update_reach(to)
            self.t = to

    def _start(self) -> None:
        self.started = True
        self._last_tick = None
        for state in self.steps.values():
            if state.spec.at is not None:
                state.scheduled = float(state.spec.at)
        self._emit("start", 0.0, EventKind.start, note=self.pb.title)

    def _process(self, t: float) -> None:
        for state in self.steps.values():  # steps due now, in playbook order
            if state.fired_at is None and state.scheduled is not None \
                    and state.scheduled <= t + EPSILON:
                self._fire(state, t)
        for state in self.steps.values():
            if state.fired_at is not None and state.done_at is None \
                    and state.spec.action == "wait" \
                    and state.fired_at + self._wait(state.spec) <= t + EPSILON:
                self._complete(state, t, {"waited": self._wait(state.spec)})
        for post in self.posts.values():
            silence = post.spec.on.silence
            if silence and post.reaction is None \
                    and post.appeared_at + silence.after <= t + EPSILON:
                post.reaction = "silence"
                post.growth = silence.growth_per_hour
                self._emit(f"reaction:{post.spec.id}:silence", t, EventKind.reaction,
                           step=post.spec.id, note="silence",
                           data={"post": post.spec.id, "effect": "silence",
                                 "growth_per_hour": post.growth, "reach": round(post.reach)})
        if self._ticking() and (self._last_tick is None
                                or self._last_tick + self.pb.tick <= t + EPSILON):
            self._tick(t)
        self._deadlines(t)
        if self.pb.duration is not None and t >= self.pb.duration - EPSILON:
            self._finish(t)
        elif self._idle():
            self._finish(t)

    def _ticking(self) -> bool:
        """Whether something evolves between events: reach, conditions to test."""
        if self._last_tick is None:
            return True
        return (bool(self.posts)
                or any(s.fired_at is None and s.spec.when is not None
                       for s in self.steps.values())
                or any(e.id not in self.escalated for e in self.pb.escalation))

    def _idle(self) -> bool:
        """Nothing left to happen (a playbook without ``duration`` ends here)."""
        if self.pb.duration is not None:
            return False
        steps_done = all(s.fired_at is not None and (s.done_at is not None)
                         for s in self.steps.values())
        judged = all(e.verdict is not None for e in self.expectations) and all(
            c.verdict is not None or c.started_at is None for c in self.clocks.values())
        return self.started and steps_done and judged

    # ------------------------------------------------------------ steps

    def _fire(self, state: _StepState, t: float) -> None:
        spec = state.spec
        state.fired_at = t
        self._emit(f"fired:{spec.id}", t, EventKind.fired, team=spec.team, step=spec.id,
                   note=spec.title, data={"action": spec.action, "inject": spec.inject})
        if spec.inject in ("message", "incident-report"):
            self._emit(f"inject:{spec.id}", t, EventKind.inject, team=",".join(spec.recipients),
                       step=spec.id, action=spec.inject, note=spec.text,
                       data={"to": spec.recipients, "from": spec.sender,
                             "severity": spec.severity.value if spec.severity else None})
        elif spec.inject == "post" and spec.post is not None:
            self._appear(spec.post, t, cause=spec.id)
        for i, expect in enumerate(spec.expect):
            self._open(f"step:{spec.id}:{i}", expect, spec.id, t)
        self._start_clocks(f"step:{spec.id}", t)
        if spec.action in ("scan", "probe", "check-finding"):
            self._emit(f"action:{spec.id}", t, EventKind.action, team=spec.team, step=spec.id,
                       action=spec.action, data=spec.params().model_dump(by_alias=True))
        elif spec.action is None:
            self._complete(state, t, None)

    def _wait(self, spec: StepSpec) -> float:
        params = spec.params()
        assert isinstance(params, WaitParams)
        return float(params.for_)

    def _complete(self, state: _StepState, t: float, result: Mapping[str, Any] | None) -> None:
        state.done_at = t
        if result is not None:
            state.result = result
            self._emit(f"done:{state.spec.id}", t, EventKind.done, team=state.spec.team,
                       step=state.spec.id, action=state.spec.action, data=dict(result))
        self._schedule_after(state.spec.id, t)

    def _schedule_after(self, ref: str, t: float) -> None:
        for other in self.steps.values():
            if other.spec.after == ref and other.scheduled is None:
                other.scheduled = t + other.spec.delay

    def _action_result(self, item: Input) -> None:
        state = self.steps.get(item.step or "")
        if state is None or state.fired_at is None or state.result is not None:
            return
        self._complete(state, item.at, dict(item.data))
        counts = item.data.get("new_findings") or {}
        for rule in self.pb.scoring.red:
            if rule.team != state.spec.team or not counts:
                continue
            gained = sum(rule.per_finding.get(Severity(sev), 0) * int(n)
                         for sev, n in counts.items())
            if gained:
                why = f"attack result of {state.spec.id}: " + ", ".join(
                    f"{n} {sev}" for sev, n in sorted(counts.items()))
                self._score(rule.team, gained, item.at, why, "attack", key=f"{item.key}:red")
                self._score(rule.against, -gained, item.at, why, "attack",
                            key=f"{item.key}:against")

    # ------------------------------------------------------------ posts

    def _appear(self, post_id: str, t: float, *, cause: str) -> None:
        if post_id in self.posts:
            return
        spec = self.posts_spec[post_id]
        state = PostState(spec, t, float(spec.reach.start), spec.reach.growth_per_hour, t)
        self.posts[post_id] = state
        self._emit(f"post:{post_id}", t, EventKind.post, team=self._answerer(spec), step=post_id,
                   note=spec.text, data={"platform": spec.platform, "author": spec.author,
                                         "reach": spec.reach.start, "cause": cause})
        for i, expect in enumerate(spec.expect):
            self._open(f"post:{post_id}:{i}", expect, post_id, t)
        self._start_clocks(f"post:{post_id}", t)
        statement = self._first_statement(spec)
        if statement is not None:  # answered before it even appeared
            self._react(state, statement)

    def _answerer(self, spec: PostSpec) -> str | None:
        if spec.answered_by:
            return spec.answered_by
        return next((t.id for t in self.pb.teams if t.role == "opinion"), None)

    def _update_reach(self, t: float) -> None:
        for post in self.posts.values():
            if t > post.updated_at:
                hours = (t - post.updated_at) / 3600
                post.reach = min(float(post.spec.reach.max),
                                 post.reach * math.pow(post.growth, hours))
                post.updated_at = t

    def _first_statement(self, spec: PostSpec) -> Input | None:
        team = self._answerer(spec)
        for r in self.responses:
            if r.does == "statement" and r.team == team and (r.step in (None, spec.id)
                                                              or r.step not in self.posts_spec):
                return r
        return None

    def _react(self, post: PostState, statement: Input) -> None:
        if post.reaction in ("statement", "late_statement"):
            return
        timely = statement.at - post.appeared_at <= post.spec.timely_within + EPSILON
        approved = self._approved(statement)
        effect = "statement" if timely and approved else "late_statement"
        growth = getattr(post.spec.on, effect)
        post.reaction = effect
        if growth is not None:
            post.growth = growth.growth_per_hour
        self._emit(f"reaction:{post.spec.id}:{effect}", max(statement.at, post.appeared_at),
                   EventKind.reaction, team=statement.team, step=post.spec.id, note=effect,
                   data={"post": post.spec.id, "effect": effect, "timely": timely,
                         "approved": approved, "growth_per_hour": post.growth,
                         "reach": round(post.reach)})

    def _approved(self, statement: Input) -> bool:
        rule = self.pb.statement_approval
        if rule is None:
            return True
        return any(r.team == rule.team and r.does == rule.does and r.at <= statement.at + EPSILON
                   for r in self.responses)

    # ------------------------------------------------------------ ticks

    def _tick(self, t: float) -> None:
        self._last_tick = t if self._last_tick is None else self._last_tick + self.pb.tick
        values = self.values()
        self.heat_curve.append((t, round(values["heat"], 1)))
        for post in list(self.posts.values()):
            local = {**values, "reach": post.reach}
            for spawn in post.spec.spawns:
                if spawn.post not in post.spawned and spawn.when.holds(local):
                    post.spawned.add(spawn.post)
                    self._emit(f"spawn:{post.spec.id}:{spawn.post}", t, EventKind.spawn,
                               step=spawn.post, note=spawn.when.text,
                               data={"parent": post.spec.id, "post": spawn.post,
                                     "reach": round(post.reach)})
                    self._appear(spawn.post, t, cause=post.spec.id)
        for esc in self.pb.escalation:
            if esc.id not in self.escalated and esc.when.holds(self.values()):
                self._escalate(esc, t)
        for state in self.steps.values():
            if state.fired_at is None and state.spec.when is not None \
                    and state.spec.when.holds(self.values()):
                state.scheduled = t
                self._fire(state, t)

    def _escalate(self, esc: EscalationSpec, t: float) -> None:
        self.escalated[esc.id] = t
        previous, self.level = self.level, esc.to
        self._emit(f"escalation:{esc.id}", t, EventKind.escalation, team=",".join(esc.notify),
                   step=esc.id, note=esc.text,
                   data={"from": previous, "to": esc.to, "heat": round(self.heat()),
                         "when": esc.when.text, "notify": list(esc.notify)})
        for i, expect in enumerate(esc.expect):
            self._open(f"escalation:{esc.id}:{i}", expect, esc.id, t)
        self._start_clocks(f"escalation:{esc.id}", t)
        self._schedule_after(esc.id, t)

    # ------------------------------------------------------------ expectations

    def _open(self, key: str, spec: ExpectSpec, source: str, t: float) -> None:
        exp = Expectation(key, spec, source, t)
        self.expectations.append(exp)
        self._emit(f"open:{key}", t, EventKind.expect, team=spec.team, step=source,
                   action=spec.does, data={"within": spec.within, "points": spec.points,
                         "deadline": exp.deadline, "check": spec.check is not None})
        for r in self.responses:  # a response recorded at this very moment counts
            if abs(r.at - t) <= EPSILON and self._matches(r, exp):
                self._meet(exp, r)
                break

    def _matches(self, r: Input, exp: Expectation) -> bool:
        return (r.kind == EventKind.response and r.team == exp.spec.team and r.does == exp.spec.does
                and (r.step is None or r.step == exp.source))

    def _meet(self, exp: Expectation, r: Input) -> None:
        points = exp.credit(r.at)
        late = r.at > exp.deadline + EPSILON
        if late and points <= 0:
            return
        exp.verdict = "late" if late else "met"
        exp.judged_at, exp.points, exp.response = r.at, points, r.key
        self._emit(f"verdict:{exp.key}", r.at, EventKind.verdict, team=exp.spec.team,
                   step=exp.source, action=exp.spec.does, note=exp.verdict,
                   data={"verdict": exp.verdict, "points": points, "response": r.key,
                         "deadline": exp.deadline})
        self._score(exp.spec.team, points, r.at,
                    f"{exp.verdict}: {exp.spec.does} ({exp.source})", "expectation",
                    exp.spec.category, key=f"exp:{exp.key}")

    def _response(self, r: Input) -> None:
        self.responses.append(r)
        for exp in self.expectations:
            if exp.verdict is None and self._matches(r, exp):
                self._meet(exp, r)
        if r.does == "classify":
            self._classified.append(r)
            self._start_clocks("classify", r.at, level=r.level)
        for clock in self.clocks.values():
            if clock.verdict is None and clock.started_at is not None \
                    and r.team == clock.spec.team and r.does == clock.spec.does:
                self._clock_met(clock, r, r.at)
        if r.does == "statement":
            for post in self.posts.values():
                if post.reaction in (None, "silence") and r.team == self._answerer(post.spec) \
                        and (r.step in (None, post.spec.id) or r.step not in self.posts_spec):
                    self._react(post, r)
        if r.does == "lesson":
            self._emit(f"lesson:{r.key}", r.at, EventKind.lesson, team=r.team, step=r.step,
                       note=r.note)

    def _auto_check(self, item: Input) -> None:
        exp = next((e for e in self.expectations if e.key == item.data.get("expectation")),
                   None)
        if exp is None or exp.verdict is not None:
            return
        proxy = Input(item.at, EventKind.response, item.key, exp.spec.team, exp.source,
                      exp.spec.does, note=item.note, data=item.data)
        self._meet(exp, proxy)

    def _deadlines(self, t: float) -> None:
        for exp in self.expectations:
            if exp.verdict is not None:
                continue
            end = exp.late_end if exp.late_end is not None else exp.deadline
            if exp.judged_at is None and exp.late_end is not None \
                    and exp.deadline <= t + EPSILON:
                exp.judged_at = exp.deadline  # now overdue: a late response earns credit
                self._emit(f"overdue:{exp.key}", exp.deadline, EventKind.overdue,
                           team=exp.spec.team, step=exp.source, action=exp.spec.does)
            if end <= t + EPSILON:
                self._miss(exp, end)
        for clock in self.clocks.values():
            deadline = clock.deadline
            if clock.verdict is None and deadline is not None and deadline <= t + EPSILON:
                clock.verdict, clock.judged_at = "missed", deadline
                clock.points = -float(clock.spec.penalty) if clock.spec.penalty else 0.0
                self._emit(f"clock:{clock.spec.id}", deadline, EventKind.clock,
                           team=clock.spec.team, step=clock.spec.id, action=clock.spec.does,
                           note="missed",
                           data={"verdict": "missed", "points": clock.points,
                                 "deadline": deadline, "severity": clock.spec.severity.value})
                if clock.spec.penalty:
                    self._score(clock.spec.team, clock.points, deadline,
                                f"missed clock {clock.spec.id}", "clock",
                                key=f"clock:{clock.spec.id}")

    def _miss(self, exp: Expectation, t: float) -> None:
        exp.verdict, exp.judged_at = "missed", t
        exp.points = -float(exp.spec.penalty) if exp.spec.penalty else 0.0
        self._emit(f"verdict:{exp.key}", t, EventKind.verdict, team=exp.spec.team, step=exp.source,
                   action=exp.spec.does, note="missed",
                   data={"verdict": "missed", "points": exp.points, "deadline": exp.deadline,
                         "severity": exp.spec.severity.value})
        if exp.spec.penalty:
            self._score(exp.spec.team, exp.points, t,
                        f"missed: {exp.spec.does} ({exp.source})", "expectation",
                        exp.spec.category, key=f"exp:{exp.key}")

    # ------------------------------------------------------------ clocks

    def _start_clocks(self, trigger: str, t: float, *, level: str | None = None) -> None:
        for clock in self.clocks.values():
            spec = clock.spec
            if clock.started_at is not None or spec.starts_on != trigger:
                continue
            if spec.levels and level not in spec.levels:
                continue
            clock.started_at = t
            self._emit(f"clock-start:{spec.id}", t, EventKind.clock_start, team=spec.team,
                       step=spec.id, action=spec.does, note=spec.title,
                       data={"deadline": t + spec.within, "level": level})
            earlier = next((r for r in self.responses if r.team == spec.team
                            and r.does == spec.does and r.at <= t + EPSILON), None)
            if earlier is not None:  # already done before the clock started
                self._clock_met(clock, earlier, t)

    def _clock_met(self, clock: Clock, r: Input, t: float) -> None:
        clock.verdict, clock.judged_at = "met", t
        clock.points, clock.response = float(clock.spec.points), r.key
        self._emit(f"clock:{clock.spec.id}", t, EventKind.clock, team=clock.spec.team,
                   step=clock.spec.id, action=clock.spec.does, note="met",
                   data={"verdict": "met", "points": clock.points, "deadline": clock.deadline})
        self._score(clock.spec.team, clock.points, t, f"met clock {clock.spec.id}", "clock",
                    key=f"clock:{clock.spec.id}")

    # ------------------------------------------------------------ scores and the end

    def _adjust(self, item: Input) -> None:
        team = item.team or ""
        points = float(item.data.get("points", 0))
        self._score(team, points, item.at, item.note or "referee adjustment", "adjust",
                    key=item.key)
        self._emit(f"adjusted:{item.key}", item.at, EventKind.adjusted, team=team, note=item.note,
                   data={"points": points})

    def _score(self, team: str, points: float, at: float, reason: str, source: str,
               category: str | None = None, *, key: str) -> None:
        self.scores.append(ScoreLine(team, round(points, 2), at, reason, source, category, key))

    def _finish(self, t: float) -> None:
        for exp in self.expectations:
            if exp.verdict is None:
                exp.verdict, exp.judged_at = "open", t
        self.finished_at = t
        self.heat_curve.append((t, round(self.heat(), 1)))
        self._emit("end", t, EventKind.end, data={"scores": self.totals(), "level": self.level})

    def _emit(self, key: str, at: float, kind: EventKind, *, team: str | None = None,
              step: str | None = None, action: str | None = None, note: str | None = None,
              data: Mapping[str, Any] | None = None) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        self.events.append(Derived(key, at, kind, team, step, action, note, dict(data or {})))
