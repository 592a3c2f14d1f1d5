"""The drill's events: one vocabulary of kinds, and one way to say each event.

A drill's timeline (``DrillEvent`` rows, the simulation's ``Derived`` events) is made
of the kinds below. ``describe`` turns any of them into styled pieces of text --
``(text, style)`` pairs, the style a Rich style or ``""`` -- and every place that shows
an event uses it: the engine's printer, the TUI's live console and the after-action
report. Each adds only the time in its own way (and leaves out the kinds it says
itself), so the three cannot drift apart.

No database and no terminal here: the simulation imports the kinds.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

from garrison.i18n import _


class EventKind(StrEnum):
    """What a drill event is (``DrillEvent.kind``, ``Input.kind``, ``Derived.kind``)."""

    # inputs: what the drill's state is computed from
    response = "response"
    """A team did something (``drill respond``, a scripted response)."""
    action_result = "action-result"
    """An automated action (scan, probe, check-finding) came back."""
    auto_check = "auto-check"
    """An automatic check found the finding an expectation waits for."""
    adjust = "adjust"
    """A referee adjusted a team's score."""
    # the run's own record
    state = "state"
    """The run started, paused, resumed, was aborted or changed its clock
    (``action``: a ``RunChange``)."""
    # derived by the simulation
    start = "start"
    fired = "fired"
    inject = "inject"
    action = "action"
    """An automated action was requested."""
    done = "done"
    post = "post"
    reaction = "reaction"
    spawn = "spawn"
    escalation = "escalation"
    expect = "expect"
    verdict = "verdict"
    overdue = "overdue"
    clock = "clock"
    clock_start = "clock-start"
    adjusted = "adjusted"
    lesson = "lesson"
    end = "end"


INPUTS = frozenset({EventKind.response, EventKind.action_result, EventKind.auto_check,
                    EventKind.adjust})
"""The kinds the drill's state is computed from."""

QUIET = frozenset({EventKind.start, EventKind.expect, EventKind.done, EventKind.lesson,
                   EventKind.adjusted})
"""Kinds no timeline shows: bookkeeping, or said already by the input that caused them
(a lesson is shown as the response that recorded it, an adjustment as the referee's)."""

SIGNED = frozenset({EventKind.response, EventKind.adjust, EventKind.state})
"""Kinds that stand for a person's action: ``describe`` names who, when told."""


class RunChange(StrEnum):
    """What a ``state`` event records (its ``action``)."""

    started = "started"
    running = "running"
    """Resumed."""
    paused = "paused"
    aborted = "aborted"
    done = "done"
    failed = "failed"
    clock = "clock"
    """Carried on with another clock."""


Piece = tuple[str, str]
"""A piece of an event's text and its Rich style (``""``: plain)."""

VERDICT_STYLE = {"met": "green", "late": "yellow", "missed": "red", "open": "dim"}


class EventLike(Protocol):
    """A stored ``DrillEvent``, a plain copy of one, or the simulation's ``Derived``."""

    @property
    def kind(self) -> str: ...
    @property
    def team(self) -> str | None: ...
    @property
    def step(self) -> str | None: ...
    @property
    def action(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


def clock_name(mode: str, speed: float, auto: bool) -> str:
    """``fast:60``, ``step``, ``step auto``, ``wall``."""
    if mode == "fast":
        return f"fast:{speed:g}"
    return mode + (" auto" if mode == "step" and auto else "")


def run_change_text(change: str | None) -> str:
    """What a ``state`` event's ``RunChange`` says (``running``: the run resumed)."""
    texts: dict[str, str] = {
        RunChange.started: _("run started"), RunChange.running: _("run resumed"),
        RunChange.paused: _("run paused"), RunChange.aborted: _("run aborted"),
        RunChange.done: _("run done"), RunChange.failed: _("run failed"),
        RunChange.clock: _("run clock")}
    return texts.get(change or "", _("run {what}").format(what=change or ""))


def describe(event: EventLike, *, subject: bool = True, actor: str | None = None
             ) -> list[Piece] | None:
    """The event as styled pieces of text, without its time; None when it is not worth
    a line (a step fired without a title).

    ``subject=False`` leaves out the team and the step or clock the event concerns,
    for a table that shows them in columns of their own (the report). ``actor``: who
    recorded an input, shown after it."""
    kind, data = event.kind, event.data
    note, team, step = event.note or "", event.team or "", event.step or ""
    action = event.action or ""
    pieces: list[Piece] = []

    def add(text: str, style: str = "") -> None:
        if text:
            pieces.append((text, style))

    def points() -> str:
        return f"{float(data.get('points', 0) or 0):+g}"

    if kind == EventKind.response:
        if subject:
            add(team or "?", "cyan")
            add(" ")
        add(action)
        if subject and step:
            add(f" ({step})")
        if data.get("level"):
            add(f" [{data['level']}]")
        if note:
            add(f": {note}")
    elif kind == EventKind.action_result:
        what = f"{action} {step}" if subject and step else action
        if "error" in data:
            add(_("{what} failed").format(what=what), "red")
            add(f": {data['error']}")
        else:
            add(_("{what} done: {result}").format(what=what, result=result_text(data)))
    elif kind == EventKind.auto_check:
        add(_("automatic check"), "green")
        if subject and step:
            add(f" {step}")
        if note:
            add(f": {note}")
    elif kind == EventKind.adjust:
        add(_("referee"), "magenta")
        if subject and team:
            add(f" {team}")
        add(f" {points()}: {note}")
    elif kind == EventKind.state:
        add(run_change_text(event.action), "bold")
        if data.get("reason"):
            add(f": {data['reason']}")
        to = data.get("to")
        if event.action == RunChange.clock and isinstance(to, dict):
            add(" → " + clock_name(str(to.get("clock")), float(to.get("speed", 0)),
                                   bool(to.get("auto"))))
    elif kind == EventKind.inject:
        recipients = data.get("to")
        names = ", ".join(map(str, recipients)) if isinstance(recipients, list) else team
        add(f"{action} → {names}" if subject else action, "yellow")
        if data.get("from"):
            add(f" [{data['from']}]")
        if note:
            add(f" {note}")
    elif kind == EventKind.post:
        add(_("post"), "yellow")
        add(f" {data.get('platform')} {data.get('author')}: {note} "
            + _("(reach {r})").format(r=data.get("reach")))
    elif kind == EventKind.verdict:
        add(note, VERDICT_STYLE.get(note, ""))
        add(f" {team} {action} ({step})" if subject else f" {action}")
        add(f" {points()}")
    elif kind == EventKind.clock:
        add(_("clock {c} {v}").format(c=step, v=note) if subject
            else _("clock {v}").format(v=note), "green" if note == "met" else "red")
        if data.get("points"):
            add(f" {points()}")
    elif kind == EventKind.clock_start:
        add(_("clock {c} started").format(c=step) if subject else _("clock started"))
        if note:
            add(f": {note}")
    elif kind == EventKind.escalation:
        before, after = data.get("from"), data.get("to")
        add(_("escalated {f} → {t}").format(f=before, t=after) if before
            else _("escalated to {t}").format(t=after), "bold red")
        add(" " + _("(heat {h})").format(h=data.get("heat")))
        if note:
            add(f": {note}")
    elif kind == EventKind.reaction:
        add(_("reach"))
        if subject and (step or team):
            add(f" {step or team}")
        add(": " + _("{effect}, growing x{g}/h").format(effect=data.get("effect"),
                                                        g=data.get("growth_per_hour")))
    elif kind == EventKind.spawn:
        add(_("rumour variant"))
        add(f" {data.get('post') or step}")
        if note:
            add(f": {note}")
    elif kind == EventKind.overdue:
        add(_("overdue"))
        if subject and step:
            add(f" {step}")
        add(": " + _("{team} {does}, late credit still possible").format(team=team,
                                                                         does=action))
    elif kind == EventKind.fired:
        if not note:
            return None
        add(_("step"))
        if subject and step:
            add(f" {step}")
        add(f": {note}")
    elif kind == EventKind.action:
        add(_("{a} requested").format(a=action))
    elif kind == EventKind.end:
        add(_("drill over"), "bold green")
        scores = data.get("scores") or {}
        if isinstance(scores, dict) and scores:
            add("; " + ", ".join(f"{k} {v:g}" for k, v in scores.items()))
    elif kind == EventKind.adjusted:
        add(_("adjusted"))
        if subject and team:
            add(f" {team}")
        add(f" {points()}")
        if note:
            add(f": {note}")
    elif kind == EventKind.lesson:
        add(_("lesson"))
        if subject and team:
            add(f" {team}")
        if note:
            add(f": {note}")
    elif kind == EventKind.start:
        add(_("drill started"))
        if note:
            add(f": {note}")
    elif kind == EventKind.expect:
        add(_("{team} expected to {does}").format(team=team, does=action) if subject
            else _("expected to {does}").format(does=action))
    elif kind == EventKind.done:
        add(_("step {s} done").format(s=step) if subject else _("step done"))
    else:
        add(kind)
        if note:
            add(f": {note}")
    if actor and kind in SIGNED:
        add(f"  — {actor}", "dim")
    return pieces


def plain(pieces: list[Piece]) -> str:
    """The pieces' text without their styles."""
    return "".join(text for text, _style in pieces)


def result_text(data: Mapping[str, Any]) -> str:
    """What an automated action found (an ``action-result``'s data)."""
    if "error" in data:
        return _("failed: {e}").format(e=data["error"])
    if "answered" in data:
        answered = data["answered"]
        text = _("{n} answered of {p} probed").format(n=len(answered), p=data.get("probed"))
        return text + (": " + ", ".join(f"{a['address']} ({a['method']})" for a in answered)
                       if answered else "")
    if "found" in data:
        return (_("found findings {f}").format(f=data.get("findings")) if data["found"]
                else _("nothing found"))
    if "scan_run" in data:
        return _("scan run {r}: {h} hosts up, {s} services, new findings {f}").format(
            r=data["scan_run"], h=data.get("hosts_up"), s=data.get("services"),
            f=data.get("new_findings") or {})
    return str(dict(data))


__all__ = ["INPUTS", "QUIET", "SIGNED", "VERDICT_STYLE", "EventKind", "EventLike", "Piece",
           "RunChange", "clock_name", "describe", "plain", "result_text",
           "run_change_text"]
