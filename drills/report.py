"""The after-action report: what happened, who did what when, what it scored.

``build_report`` replays a run's stored inputs into a fresh simulation (so the
report is computed by the same rules that ran the drill) and gathers everything the
renderers need into plain frozen data: ``report_md.render`` and
``report_html.render`` only format it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from drills import store
from drills.durations import clock_text
from drills.events import QUIET, EventKind, describe, plain
from garrison.i18n import _
from garrison.models import DrillRun, Finding, FindingSource, Unit


@dataclass(frozen=True)
class TimelineEntry:
    drill_at: float
    wall_at: datetime | None
    kind: str
    """An ``EventKind``: inject, post, action, action-result, auto-check, response,
    verdict, clock, clock-start, escalation, reaction, spawn, fired, adjust, state."""
    team: str | None
    ref: str | None
    """The step, post, clock or escalation it concerns."""
    text: str


@dataclass(frozen=True)
class ExpectationRow:
    source: str
    team: str
    does: str
    opened_at: float
    deadline: float
    verdict: str
    """met, late, missed, or open (the drill ended first)."""
    judged_at: float | None
    points: float
    max_points: int
    category: str | None
    automatic: bool


@dataclass(frozen=True)
class ClockRow:
    id: str
    title: str
    team: str
    does: str
    basis: str | None
    started_at: float | None
    deadline: float | None
    verdict: str
    """met, missed, running, or not started."""
    points: float
    judged_at: float | None = None
    """When it was met or missed."""


@dataclass(frozen=True)
class ScoreEntry:
    at: float
    points: float
    reason: str
    source: str
    category: str | None


@dataclass(frozen=True)
class TeamScore:
    team: str
    name: str | None
    role: str
    total: float
    by_source: dict[str, float]
    by_category: dict[str, float]
    entries: tuple[ScoreEntry, ...]


@dataclass(frozen=True)
class PostRow:
    id: str
    platform: str
    author: str
    text: str
    appeared_at: float | None
    start_reach: int
    final_reach: float
    reaction: str | None


@dataclass(frozen=True)
class EscalationRow:
    id: str
    at: float
    to: str
    heat: float


@dataclass(frozen=True)
class FindingRow:
    id: int
    title: str
    unit: str
    severity: str
    status: str
    owner: str


@dataclass(frozen=True)
class Lesson:
    drill_at: float
    team: str | None
    text: str
    actor: str | None
    wall_at: datetime | None = None
    """When it was recorded (lessons often come in the hot wash, after the drill)."""


@dataclass(frozen=True)
class ReportData:
    run_id: int
    playbook_id: str
    playbook_sha256: str
    title: str
    kind: str
    description: str | None
    objectives: tuple[str, ...]
    unit: str
    clock: str
    state: str
    started_at: datetime
    finished_at: datetime | None
    drill_end: float
    level_start: str
    level_end: str
    timeline: tuple[TimelineEntry, ...]
    expectations: tuple[ExpectationRow, ...]
    clocks: tuple[ClockRow, ...]
    scores: tuple[TeamScore, ...]
    heat: tuple[tuple[float, float], ...]
    """(drill seconds, summed reach) every tick."""
    posts: tuple[PostRow, ...]
    escalations: tuple[EscalationRow, ...]
    findings: tuple[FindingRow, ...]
    lessons: tuple[Lesson, ...]
    generated_at: datetime
    notes: tuple[str, ...] = field(default=())


def build_report(session: Session, run: DrillRun, *, now: datetime) -> ReportData:
    rep = store.replay(session, run, now=now)
    sim, pb = rep.sim, rep.loaded.playbook
    unit = session.get(Unit, run.unit_id)
    assert unit is not None and run.id is not None
    walls = _wall_clock(list(rep.events))
    timeline = _timeline(rep, walls)
    exps = tuple(ExpectationRow(
        e.source, e.spec.team, e.spec.does, e.opened_at, e.deadline, e.verdict or "open",
        e.judged_at, e.points, e.spec.points, e.spec.category, e.spec.check is not None)
        for e in sim.expectations)
    clocks = tuple(ClockRow(
        c.spec.id, c.spec.title or c.spec.id, c.spec.team, c.spec.does, c.spec.basis,
        c.started_at, c.deadline,
        c.verdict or ("running" if c.started_at is not None else "not started"), c.points,
        c.judged_at)
        for c in sim.clocks.values())
    scores = []
    totals = sim.totals()
    for team in pb.teams:
        entries = tuple(ScoreEntry(s.at, s.points, s.reason, s.source, s.category)
                        for s in sim.scores if s.team == team.id)
        by_source: dict[str, float] = {}
        by_category: dict[str, float] = {}
        for entry in entries:
            by_source[entry.source] = round(by_source.get(entry.source, 0) + entry.points, 2)
            if entry.category:
                by_category[entry.category] = round(by_category.get(entry.category, 0)
                                                     + entry.points, 2)
        scores.append(TeamScore(team.id, team.name, team.role, totals.get(team.id, 0.0),
                                by_source, by_category, entries))
    posts = tuple(PostRow(
        p.id, p.platform, p.author, p.text,
        sim.posts[p.id].appeared_at if p.id in sim.posts else None, p.reach.start,
        sim.posts[p.id].reach if p.id in sim.posts else 0.0,
        sim.posts[p.id].reaction if p.id in sim.posts else None) for p in pb.posts)
    escalations = tuple(EscalationRow(e.id, at, e.to, _heat_at(sim.heat_curve, at))
                        for e in pb.escalation if (at := sim.escalated.get(e.id)) is not None)
    findings = tuple(FindingRow(f.id or 0, f.title, code, f.severity.value, f.status.value,
                                f.owner)
                     for f, code in session.exec(
                         select(Finding, Unit.code).join(Unit, col(Unit.id) == col(
                             Finding.unit_id)).where(
                             Finding.source == FindingSource.drill,
                             col(Finding.fingerprint).startswith(f"drill|{run.id}|"))
                         .order_by(col(Finding.id))).all())
    lessons = tuple(Lesson(e.drill_at or 0.0, e.team, e.note or "", e.actor, e.wall_at)
                    for e in rep.events
                    if e.kind == EventKind.response and e.action == "lesson")
    notes = []
    unjudged = [e for e in exps if e.verdict == "open"]
    if unjudged:
        notes.append(_("{n} expectation(s) were still open when the drill ended at {t}.")
                     .format(n=len(unjudged), t=clock_text(sim.t)))
    return ReportData(
        run.id, pb.id, run.playbook_sha256, pb.title, pb.kind, pb.description,
        tuple(pb.objectives), unit.code, _clock(run), run.state.value, run.started_at,
        run.finished_at, sim.t, pb.level, sim.level, timeline, exps, clocks, tuple(scores),
        tuple(sim.heat_curve), posts, escalations, findings, lessons, now, tuple(notes))


def _clock(run: DrillRun) -> str:
    if run.clock_mode == "fast":
        return f"fast:{run.speed:g}"
    return run.clock_mode + (" (auto)" if run.auto else "")


def _heat_at(curve: list[tuple[float, float]], at: float) -> float:
    best = 0.0
    for t, h in curve:
        if t > at + 1e-6:
            break
        best = h
    return best


def _wall_clock(events: list[object]) -> dict[str, datetime]:
    """Wall time of each stored event by key (what the engine recorded)."""
    out: dict[str, datetime] = {}
    for event in events:
        key = getattr(event, "key", None)
        wall = getattr(event, "wall_at", None)
        if key is not None and wall is not None:
            out[key] = wall
    return out


SAID_ELSEWHERE = QUIET | {EventKind.end, EventKind.overdue}
"""Kinds the timeline leaves out: the scores and verdicts have sections of their own."""

_ORDER: dict[str, int] = {
    EventKind.state: 0, EventKind.inject: 1, EventKind.post: 1, EventKind.fired: 1,
    EventKind.response: 2, EventKind.action_result: 2, EventKind.auto_check: 2,
    EventKind.adjust: 2, EventKind.verdict: 3, EventKind.clock: 3}


def _timeline(rep: store.Replay, walls: dict[str, datetime]) -> tuple[TimelineEntry, ...]:
    """What the simulation derived (replayed) and what was recorded (inputs and the
    run's own changes), each said as the engine and the console say it."""
    entries: list[TimelineEntry] = []
    for d in rep.sim.events:
        pieces = None if d.kind in SAID_ELSEWHERE else describe(d, subject=False)
        if pieces:
            entries.append(TimelineEntry(d.at, walls.get(d.key), d.kind, d.team, d.step,
                                         plain(pieces)))
    for e in rep.events:
        if e.drill_at is None or not (e.input or e.kind == EventKind.state):
            continue
        pieces = describe(e, subject=False)
        if pieces:
            entries.append(TimelineEntry(e.drill_at, e.wall_at, e.kind, e.team, e.step,
                                         plain(pieces)))
    entries.sort(key=lambda x: (x.drill_at, _ORDER.get(x.kind, 5)))
    return tuple(entries)


def wall_text(value: datetime | None) -> str:
    """A wall time in UTC (the reports label it so)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def delta_text(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))
