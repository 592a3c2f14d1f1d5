"""The playbook schema: what a drill coordinator writes, as pydantic models.

Every model forbids unknown keys, and every field has a docstring: they are the
reference (``garrison drill schema`` exports them as JSON Schema descriptions, so an
editor autocompletes and explains). Cross-references (team ids, ``after``, posts,
clocks, cycles) are checked by ``drills.loader``, which knows the file's lines.

There is deliberately no way to run a command: ``action`` is one of ``scan``,
``probe``, ``check-finding`` and ``wait``, each with typed parameters, and every one
that touches the network goes through the scope guard at run time.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from drills.conditions import Condition, parse_condition
from drills.durations import parse_duration
from garrison.i18n import _
from garrison.slug import slug_check
from garrison.vocab import Severity

Id = Annotated[str, AfterValidator(slug_check(_("id"), "recon"))]
Code = Annotated[str, AfterValidator(slug_check(_("unit code"), "hz-jw"))]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=5000)]
Duration = Annotated[int, BeforeValidator(parse_duration), WithJsonSchema({
    "anyOf": [{"type": "string", "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$",
               "examples": ["90s", "20m", "1h30m", "2d"]}, {"const": 0}]})]
"""Seconds of drill time, written ``90s``, ``20m``, ``1h30m`` or ``2d``."""
Points = Annotated[int, Field(ge=0, le=10_000)]

_ACTION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,47}$")

#: The responses the product knows by name; playbooks may use others (free-form
#: named actions), spelt the same way.
KNOWN_ACTIONS = (
    "acknowledge", "report-finding", "contain", "statement", "escalate", "notify-province",
    "classify", "approve-statement", "authoritative-info", "press-briefing",
    "respond-concerns", "detect", "analyse", "traceback", "coordinate", "lesson",
)
SHELL_WORDS = frozenset({"shell", "exec", "command", "cmd", "run", "script", "bash", "sh",
                         "powershell", "subprocess", "system", "eval"})


def _action_name(value: str) -> str:
    if not _ACTION_NAME.match(value):
        raise ValueError(_("{v!r} is not an action name: lower-case letters, digits and "
                           "hyphens, e.g. report-finding").format(v=value))
    return value


ActionName = Annotated[str, AfterValidator(_action_name)]


def _condition(value: object) -> Condition:
    if isinstance(value, Condition):
        return value
    if not isinstance(value, str):
        raise ValueError(_("expected a condition like 'heat > 50000', got {v!r}").format(
            v=value))
    return parse_condition(value)


ConditionText = Annotated[Condition, BeforeValidator(_condition), WithJsonSchema({
    "type": "string", "examples": ["heat > 50000", "reach(rumour) >= 20000 and elapsed > 30"],
})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True,
                              populate_by_name=True, arbitrary_types_allowed=True)


# ------------------------------------------------------------------ teams and scope

TeamRole = Literal["red", "blue", "white", "opinion", "press", "leadership", "city",
                   "province", "other"]


class TeamSpec(_Strict):
    """A team taking part. ``teams: [red, blue]`` is short for ids that are roles."""

    id: Id
    """How steps, expectations and ``drill respond --team`` name the team."""
    role: TeamRole = "other"
    """red (attack), blue (defence), white (referee), opinion (online-opinion duty),
    press (press office), leadership, city, province (the levels of the linkage)."""
    name: Text | None = None
    """A display name, e.g. 杭州市城建委网信办."""
    unit: Code | None = None
    """The unit this team stands for: findings for its missed expectations go to this
    unit (default: the playbook's scope unit)."""


def _team(value: object) -> object:
    if isinstance(value, str):
        roles = TeamRole.__args__  # type: ignore[attr-defined]
        return {"id": value, "role": value if value in roles else "other"}
    return value


Team = Annotated[TeamSpec, BeforeValidator(_team)]


class DrillScope(_Strict):
    """Where the drill may act. Targets must lie inside the unit's authorised scopes
    when the drill runs (the scope guard checks them again for every action)."""

    unit: Code
    """The unit whose authorised scopes bound every automated action."""
    targets: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                   max_length=100)]] = []
    """Addresses, CIDRs or ranges the red team's actions default to (empty: the unit's
    active scopes)."""


# ------------------------------------------------------------------ expectations


class CheckFinding(_Strict):
    """A finding to look for: open, of the scope unit (or its sub-units), first seen
    after the drill started, matching every field given."""

    rule: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """A rule id, e.g. redis-exposed (``garrison scan rules`` lists them)."""
    asset: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """An asset address, e.g. 127.0.3.10."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """A port number."""
    severity: Severity | None = None
    """At least this severity."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.rule is None and self.asset is None and self.port is None \
                and self.severity is None:
            raise ValueError(_("a check needs at least one of rule, asset, port, severity"))
        return self


class LateCredit(_Strict):
    """Partial credit for a response after the deadline."""

    within: Duration
    """How long after the deadline a response still earns something."""
    credit: Annotated[float, Field(gt=0, le=1)] = 0.5
    """The share of the points a late response earns (with ``linear``: at the deadline)."""
    linear: bool = False
    """Credit falls linearly from ``credit`` at the deadline to 0 at the end of ``within``."""


Category = Literal["detection", "analysis", "response", "notification", "coordination",
                   "traceback"]


class ExpectSpec(_Strict):
    """What a team must do, by when, for how many points."""

    team: Id
    """The team that must act."""
    does: ActionName
    """The action: acknowledge, report-finding, contain, statement, escalate,
    notify-province, classify ... or a named action of your own."""
    within: Duration
    """Deadline, counted from the moment the step fires (or the post appears)."""
    points: Points = 10
    """Points for meeting it in time."""
    late: LateCredit | None = None
    """Partial credit for a late response; without it a late response earns nothing."""
    penalty: Points = 0
    """Points deducted when it is missed."""
    category: Category | None = None
    """Attack-defense scoring category of a defender's report (HW-style): detection,
    analysis, response, notification, coordination or traceback."""
    check: CheckFinding | None = None
    """Judge it automatically: met as soon as such a finding exists (the blue team's
    detection). Without it a person records the response (``drill respond``)."""
    severity: Severity = Severity.medium
    """Severity of the finding raised against the team's unit when it is missed."""
    note: Text | None = None
    """What a referee should look for."""


# ------------------------------------------------------------------ actions


class ScanParams(_Strict):
    """``action: scan``: the real scanner with a named profile, scope-guarded."""

    profile: Literal["discovery", "quick", "standard", "full", "udp-common"] = "quick"
    """A scan profile (``garrison scan profiles``)."""
    targets: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = []
    """Targets (default: the playbook scope's targets, else the unit's scopes)."""
    rate: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Packets per second at most."""


class ProbeParams(_Strict):
    """``action: probe``: scapy TCP SYN and/or ICMP echo to in-scope targets; records
    what answered."""

    targets: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = []
    """Targets (default: the playbook scope's targets)."""
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = [80, 443]
    """TCP ports to send a SYN to ([] for none)."""
    icmp: bool = True
    """Send an ICMP echo request too."""


class CheckParams(CheckFinding):
    """``action: check-finding``: did a finding matching these fields appear?"""


class WaitParams(_Strict):
    """``action: wait``: do nothing for a while (steps ``after`` it wait too)."""

    for_: Duration = Field(alias="for")
    """How long."""


ActionKind = Literal["scan", "probe", "check-finding", "wait"]
InjectKind = Literal["message", "incident-report", "post"]
PARAMS: dict[str, type[_Strict]] = {"scan": ScanParams, "probe": ProbeParams,
                                     "check-finding": CheckParams, "wait": WaitParams}


# ------------------------------------------------------------------ steps


class StepSpec(_Strict):
    """One timed step: an automated action, an inject, expectations, or several."""

    id: Id
    """Unique in the playbook; ``after:`` and ``drill respond --step`` name it."""
    title: Text | None = None
    """A short description for the timeline."""
    at: Duration | None = None
    """Fire at this drill time (``0m`` is the start)."""
    after: Id | None = None
    """Fire when this step (or escalation) has completed; an action step completes
    when its action has."""
    delay: Duration = 0
    """With ``after``: wait this long more."""
    when: ConditionText | None = None
    """Fire when this condition first holds, e.g. ``heat > 50000``."""
    team: Id | None = None
    """The team acting (automated actions: the team credited; injects: default
    recipient)."""
    action: ActionKind | None = None
    """An automated action: scan, probe, check-finding or wait. There is no shell."""
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    """The action's parameters (see ScanParams, ProbeParams, CheckParams, WaitParams)."""
    inject: InjectKind | None = None
    """Deliver something: a message, a simulated incident report, or a post."""
    to: list[Id] = []
    """Recipients of the inject (default: ``team``)."""
    sender: Text | None = Field(default=None, alias="from")
    """Who the message or report is from, as the teams see it."""
    text: LongText | None = None
    """The message or report text."""
    severity: Severity | None = None
    """An incident report's severity."""
    post: Id | None = None
    """``inject: post``: the id of a post in ``posts:`` that appears now."""
    expect: list[ExpectSpec] = []
    """What teams must do in response, with deadlines counted from this step."""

    @model_validator(mode="after")
    def _shape(self) -> Self:
        triggers = [name for name in ("at", "after", "when") if getattr(self, name) is not None]
        if len(triggers) != 1:
            raise ValueError(_("a step needs exactly one of at, after, when (has {n})").format(
                n=", ".join(triggers) or _("none")))
        if self.delay and self.after is None:
            raise ValueError(_("delay only goes with after"))
        if self.action is None and self.inject is None and not self.expect:
            raise ValueError(_("a step needs an action, an inject or expectations"))
        if self.action is None and self.with_:
            raise ValueError(_("'with' holds an action's parameters; this step has no action"))
        if self.inject == "post" and self.post is None:
            raise ValueError(_("inject: post needs post: <post id>"))
        if self.inject in ("message", "incident-report") and self.text is None:
            raise ValueError(_("inject: {k} needs text").format(k=self.inject))
        if self.inject is not None and not self.to and self.team is None \
                and self.inject != "post":
            raise ValueError(_("say who receives the inject: to: [team] (or team:)"))
        return self

    def params(self) -> BaseModel:
        """The typed parameters of the action (``drills.loader`` checked them, with
        the lines of any problem)."""
        assert self.action is not None
        return PARAMS[self.action].model_validate(self.with_)

    @property
    def recipients(self) -> list[str]:
        return list(self.to) if self.to else ([self.team] if self.team else [])


# ------------------------------------------------------------------ opinion model


class Growth(_Strict):
    """How fast a post spreads: its reach is multiplied by ``growth_per_hour`` every
    hour of drill time (below 1 it fades)."""

    growth_per_hour: Annotated[float, Field(gt=0, le=100)]
    """Multiplier per hour of drill time."""


class Silence(Growth):
    """The spread once the responsible team has stayed silent for ``after``."""

    after: Duration
    """Silence this long after the post appeared accelerates it."""


class Reactions(_Strict):
    """How a post reacts to the team's statements (and their absence)."""

    statement: Growth | None = None
    """After a timely, approved statement."""
    late_statement: Growth | None = None
    """After a statement that came late or without the required approval."""
    silence: Silence | None = None
    """While no statement has been made, from ``after`` on."""


class Reach(_Strict):
    """A post's reach (people who saw it) at the start, and how it grows."""

    start: Annotated[int, Field(ge=0, le=1_000_000_000)]
    """Reach when the post appears."""
    growth_per_hour: Annotated[float, Field(gt=0, le=100)] = 2.0
    """Multiplier per hour while nobody has answered."""
    max: Annotated[int, Field(ge=1, le=2_000_000_000)] = 100_000_000
    """The platform's ceiling: reach never exceeds it."""


class Spawn(_Strict):
    """A follow-up post (a rumour variant) that appears when the condition first holds."""

    when: ConditionText
    """E.g. ``reach > 20000`` (``reach`` is this post's)."""
    post: Id
    """The post that appears."""


Platform = Literal["weibo", "wechat", "douyin", "toutiao", "zhihu", "xiaohongshu", "kuaishou",
                   "bilibili", "news", "forum", "other"]


class PostSpec(_Strict):
    """A simulated social-media post. It appears through a step (``inject: post``) or
    a parent's ``spawns``; its reach then evolves with drill time and the team's
    statements."""

    id: Id
    """Unique in the playbook."""
    platform: Platform
    """Where it is posted."""
    author: Text
    """The account, e.g. @工地目击者."""
    text: LongText
    """The post as the public sees it."""
    reach: Reach
    """Starting reach and growth."""
    answered_by: Id | None = None
    """The team whose statement answers it (default: the first opinion team)."""
    timely_within: Duration = 3600
    """A statement this soon after the post appeared counts as timely (default 1h)."""
    on: Reactions = Reactions()
    """How it reacts to statements and silence."""
    spawns: list[Spawn] = []
    """Follow-up posts and when they appear."""
    expect: list[ExpectSpec] = []
    """What teams must do once it appears (deadlines from its appearance)."""


class ClockSpec(_Strict):
    """A statutory clock: starts on an event, must be met by a team's action in time."""

    id: Id
    """Unique; ``drill respond --step`` may name it."""
    title: Text | None = None
    """E.g. 黄金4小时首次回应."""
    starts_on: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    """``classify`` (a team classified the incident), ``step:ID``, ``post:ID`` or
    ``escalation:ID``."""
    levels: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = []
    """Only when the classification (``drill respond --level``) is one of these."""
    within: Duration
    """Deadline from the start."""
    team: Id
    """The team that must act."""
    does: ActionName
    """The action that meets it."""
    points: Points = 10
    """Points for meeting it."""
    penalty: Points = 0
    """Points deducted when it is missed."""
    severity: Severity = Severity.high
    """Severity of the finding raised when it is missed."""
    basis: Text | None = None
    """The rule it comes from, for the report."""

    @field_validator("starts_on")
    @classmethod
    def _trigger(cls, value: str) -> str:
        if value == "classify" or re.match(r"^(step|post|escalation):[a-z0-9][a-z0-9-]*$",
                                           value):
            return value
        raise ValueError(_("starts_on {v!r}: use classify, step:ID, post:ID or "
                           "escalation:ID").format(v=value))


class EscalationSpec(_Strict):
    """When the heat crosses a threshold the drill escalates a level (city -> province)."""

    id: Id
    """Unique; steps may run ``after`` it."""
    when: ConditionText
    """E.g. ``heat > 50000``."""
    to: Literal["city", "province"]
    """The level it escalates to."""
    notify: list[Id] = []
    """Teams that receive the escalation notice."""
    text: LongText | None = None
    """The notice."""
    expect: list[ExpectSpec] = []
    """What teams must do once it escalates (deadlines from the escalation)."""


class RedScoring(_Strict):
    """HW-style attacker results: what a red team's scans find is credited to it and
    debited from the defending team."""

    team: Id
    """The attacking team."""
    against: Id
    """The defending team the points are taken from."""
    per_finding: dict[Severity, Points] = {Severity.critical: 20, Severity.high: 10,
                                           Severity.medium: 5, Severity.low: 2,
                                           Severity.info: 0}
    """Points per new finding a red scan turns up, by severity."""


class ScoringSpec(_Strict):
    """Scoring beyond expectations and clocks."""

    red: list[RedScoring] = []
    """Attacker results, credited against a defender."""


class ApprovalRule(_Strict):
    """Who must approve a statement before it counts as approved."""

    team: Id
    """The approving team, e.g. leadership."""
    does: ActionName = "approve-statement"
    """The action that approves."""


# ------------------------------------------------------------------ the playbook

Kind = Literal["attack-defense", "opinion-response", "tabletop", "mixed"]


class Playbook(_Strict):
    """A drill: who takes part, what happens when, and what each team must do."""

    id: Id
    """Stable id, e.g. web-portal-redblue (``garrison drill run ID``)."""
    title: Text
    """Title for lists and reports."""
    kind: Kind
    """attack-defense, opinion-response, tabletop or mixed."""
    description: LongText | None = None
    """The scenario, as the situation manual tells it."""
    objectives: list[Text] = []
    """What the drill is meant to test."""
    scope: DrillScope
    """The unit (and targets) the drill may touch."""
    teams: list[Team]
    """Who takes part."""
    level: Literal["city", "province"] = "city"
    """The level the drill starts at (escalations raise it)."""
    duration: Duration | None = None
    """When the drill ends (drill time). Required with posts or ``when:`` steps; without
    it the drill ends once everything has fired and been judged."""
    tick: Duration = 60
    """How often conditions and reach are evaluated (drill time)."""
    steps: list[StepSpec]
    """The timeline."""
    posts: list[PostSpec] = []
    """Simulated social-media posts (they appear through steps and spawns)."""
    clocks: list[ClockSpec] = []
    """Statutory clocks of this playbook."""
    clock_sets: list[Literal["statutory"]] = []
    """Shipped sets of clocks to include (``statutory``: the government-information
    response deadlines, see playbooks/clocks/statutory.yaml)."""
    statement_approval: ApprovalRule | None = None
    """If given, a statement counts as approved only when this team has done this
    action (e.g. leadership: approve-statement) before it."""
    escalation: list[EscalationSpec] = []
    """Escalation thresholds."""
    scoring: ScoringSpec = ScoringSpec()
    """Attacker results and other scoring."""

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, value: list[StepSpec]) -> list[StepSpec]:
        if not value:
            raise ValueError(_("a playbook needs at least one step"))
        return value

    @property
    def team_ids(self) -> list[str]:
        return [t.id for t in self.teams]

    def team(self, team_id: str) -> TeamSpec:
        return next(t for t in self.teams if t.id == team_id)
