"""Pass 3 of loading a playbook: the cross-references the schema cannot see.

A playbook names its own parts by id: teams, steps, posts, clocks, escalations. The
schema (``drills.schema``) checks each value's shape; this pass checks that every name
points at something that exists, on the raw data, so it works even where the schema
rejected a neighbouring value:

- ids are unique (steps, posts, clocks and escalations share one set of ids) and a
  team is listed once;
- every team, ``after``, ``post``, clock trigger (``starts_on: step:...``) and post
  named in a condition exists, with a "did you mean" for a near miss;
- ``after`` chains do not loop; every post is injected by a step or spawned by
  another post, and has someone to answer it; ``reach`` alone is only used where it
  means something (a post's spawns);
- targets are addresses or networks (a hostname is left to the scope guard at run
  time, which resolves it);
- a playbook with posts, escalations or ``when:`` steps has a ``duration``.

``references`` runs one check per kind of reference (``REFERENCE_CHECKS``, in order)
and returns the problems found, each placed at its ``file:line``; ``drills.loader``
sorts them with those of the other passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from drills.conditions import parse_condition
from garrison.errors import Problem
from garrison.i18n import _
from garrison.targets import TargetError, parse_target
from garrison.words import did_you_mean
from garrison.yamldoc import Loc, YamlDocument

__all__ = ["REFERENCE_CHECKS", "items", "nested", "references"]


def items(data: Any, key: str) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """``(loc, item)`` for every mapping in the list ``data[key]`` (nothing if it is
    not a list)."""
    values = data.get(key) if isinstance(data, dict) else None
    for i, item in enumerate(values if isinstance(values, list) else []):
        if isinstance(item, dict):
            yield (key, i), item


def nested(loc: Loc, item: dict[str, Any], key: str) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """``(loc, value)`` for every mapping in the list ``item[key]``, ``item`` at ``loc``."""
    values = item.get(key)
    for i, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, dict):
            yield (*loc, key, i), value


@dataclass
class _Names:
    teams: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    clocks: list[str] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)


def _names(doc: YamlDocument, problems: list[Problem]) -> _Names:
    data = doc.data
    names = _Names()
    teams = data.get("teams")
    for i, team in enumerate(teams if isinstance(teams, list) else []):
        tid = team if isinstance(team, str) else team.get("id") if isinstance(team, dict) else None
        if isinstance(tid, str):
            if tid in names.teams:
                problems.append(doc.problem(("teams", i), _("team {t!r} is listed twice").format(
                    t=tid)))
            names.teams.append(tid)
    first: dict[str, Loc] = {}
    for key, bucket in (("steps", names.steps), ("posts", names.posts),
                        ("clocks", names.clocks), ("escalation", names.escalations)):
        for loc, item in items(data, key):
            iid = item.get("id")
            if not isinstance(iid, str):
                continue
            if iid in first:
                problems.append(doc.problem((*loc, "id"), _(
                    "id {i!r} is used twice (first on line {line}); steps, posts, clocks and "
                    "escalations share one set of ids").format(
                        i=iid, line=doc.line_of((*first[iid], "id")))))
            else:
                first[iid] = loc
            bucket.append(iid)
    return names


def _unknown(kind: str, value: str, known: list[str]) -> str:
    hint = did_you_mean(value, known) or (
        _(" (known: {k})").format(k=", ".join(known)) if known else "")
    return _("unknown {kind} {v!r}{hint}").format(kind=kind, v=value, hint=hint)


@dataclass
class _Refs:
    """What the checks share: the document, the ids it defines, the problems found so
    far, and the posts steps inject and posts spawn (for ``_posts_used``)."""

    doc: YamlDocument
    names: _Names
    problems: list[Problem]
    injected: set[str] = field(default_factory=set)
    spawned: set[str] = field(default_factory=set)

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(self.doc.problem(loc, message))

    def team(self, loc: Loc, value: Any) -> None:
        if isinstance(value, str) and self.names.teams and value not in self.names.teams:
            self.add(loc, _unknown(_("team"), value, self.names.teams))

    def expectations(self, loc: Loc, item: dict[str, Any]) -> None:
        for eloc, expect in nested(loc, item, "expect"):
            self.team((*eloc, "team"), expect.get("team"))

    def post(self, loc: Loc, value: str) -> None:
        if value not in self.names.posts:
            self.add(loc, _unknown(_("post"), value, self.names.posts))

    def condition(self, loc: Loc, value: Any, *, local_post: bool) -> None:
        if not isinstance(value, str):
            return
        try:
            cond = parse_condition(value)
        except ValueError:
            return  # the schema reports it
        for post in sorted(cond.posts - set(self.names.posts)):
            self.add(loc, _unknown(_("post"), post, self.names.posts))
        if cond.uses_local_reach and not local_post:
            self.add(loc, _("'reach' alone means the post's own reach, only in a post's "
                            "spawns; here write reach(post-id) or heat"))

    def targets(self, loc: Loc, holder: Any) -> None:
        targets = holder.get("targets") if isinstance(holder, dict) else None
        for j, target in enumerate(targets if isinstance(targets, list) else []):
            if not isinstance(target, str):
                continue
            try:
                parse_target(target, resolver=_no_lookup)
            except _Hostname:
                continue
            except TargetError as exc:
                self.add((*loc, j), str(exc))


class _Hostname(Exception):
    """A hostname: resolved by the guard at run time, not when validating."""


def _no_lookup(name: str) -> list[str]:
    raise _Hostname(name)


# ------------------------------------------------------------------ one check per kind


def _steps(refs: _Refs, data: dict[str, Any]) -> None:
    """A step's team, recipients, expectations, ``after``, ``when``, post, targets."""
    names = refs.names
    for loc, step in items(data, "steps"):
        refs.team((*loc, "team"), step.get("team"))
        to = step.get("to")
        for j, recipient in enumerate(to if isinstance(to, list) else []):
            refs.team((*loc, "to", j), recipient)
        refs.expectations(loc, step)
        after = step.get("after")
        if isinstance(after, str) and after not in names.steps + names.escalations:
            refs.add((*loc, "after"), _unknown(_("step or escalation"), after,
                                               names.steps + names.escalations))
        refs.condition((*loc, "when"), step.get("when"), local_post=False)
        post = step.get("post")
        if isinstance(post, str):
            refs.injected.add(post)
            refs.post((*loc, "post"), post)
        refs.targets((*loc, "with", "targets"), step.get("with"))


def _cycles(refs: _Refs, data: dict[str, Any]) -> None:
    """``after`` chains that loop: the steps would wait for each other forever."""
    doc = refs.doc
    after: dict[str, str] = {}
    where: dict[str, Loc] = {}
    for loc, step in items(data, "steps"):
        sid, target = step.get("id"), step.get("after")
        if isinstance(sid, str) and isinstance(target, str):
            after[sid] = target
            where[sid] = (*loc, "after")
    reported: set[frozenset[str]] = set()
    for start in after:
        path, node = [start], after[start]
        while node in after and node not in path:
            path.append(node)
            node = after[node]
        if node in path:
            cycle = path[path.index(node):]
            key = frozenset(cycle)
            if key in reported:
                continue
            reported.add(key)
            first = min(cycle, key=lambda s: doc.line_of(where[s]) or 0)
            ring = cycle[cycle.index(first):] + cycle[:cycle.index(first)]
            refs.add(where[first], _(
                "{ring} is a cycle: these steps would wait for each other forever").format(
                    ring=" -> ".join([*ring, first])))


def _posts(refs: _Refs, data: dict[str, Any]) -> None:
    """Who answers a post, its expectations, and the posts its spawns name."""
    opinion_teams = _role_teams(data, "opinion")
    for loc, post in items(data, "posts"):
        if "answered_by" in post:
            refs.team((*loc, "answered_by"), post.get("answered_by"))
        elif not opinion_teams and isinstance(post.get("id"), str):
            refs.add(loc, _(
                "post {p!r} has no answered_by and the playbook has no team with role "
                "opinion to answer it").format(p=post.get("id")))
        refs.expectations(loc, post)
        for sloc, spawn in nested(loc, post, "spawns"):
            refs.condition((*sloc, "when"), spawn.get("when"), local_post=True)
            child = spawn.get("post")
            if isinstance(child, str):
                refs.spawned.add(child)
                refs.post((*sloc, "post"), child)


def _posts_used(refs: _Refs, data: dict[str, Any]) -> None:
    """Every post is injected by a step or spawned by a post (after ``_steps`` and
    ``_posts`` have collected both)."""
    for loc, post in items(data, "posts"):
        pid = post.get("id")
        if isinstance(pid, str) and pid not in refs.injected | refs.spawned:
            refs.add((*loc, "id"), _(
                "post {p!r} never appears: inject it from a step (inject: post, post: {p}) "
                "or spawn it from another post").format(p=pid))


def _clocks(refs: _Refs, data: dict[str, Any]) -> None:
    """A clock's team and what starts it (``starts_on: step:...``, ``post:...``,
    ``escalation:...``)."""
    names = refs.names
    for loc, clock in items(data, "clocks"):
        refs.team((*loc, "team"), clock.get("team"))
        trigger = clock.get("starts_on")
        if isinstance(trigger, str) and ":" in trigger:
            kind, _sep, ref = trigger.partition(":")
            known = {"step": names.steps, "post": names.posts,
                     "escalation": names.escalations}.get(kind)
            if known is not None and ref not in known:
                refs.add((*loc, "starts_on"), _unknown(kind, ref, known))


def _escalations(refs: _Refs, data: dict[str, Any]) -> None:
    """An escalation's ``when``, the teams it notifies, its expectations."""
    for loc, esc in items(data, "escalation"):
        refs.condition((*loc, "when"), esc.get("when"), local_post=False)
        notify = esc.get("notify")
        for j, recipient in enumerate(notify if isinstance(notify, list) else []):
            refs.team((*loc, "notify", j), recipient)
        refs.expectations(loc, esc)


def _approval(refs: _Refs, data: dict[str, Any]) -> None:
    """The team that approves statements."""
    approval = data.get("statement_approval")
    if isinstance(approval, dict):
        refs.team(("statement_approval", "team"), approval.get("team"))


def _scoring(refs: _Refs, data: dict[str, Any]) -> None:
    """The red teams scored, and the teams they play against."""
    scoring = data.get("scoring")
    if isinstance(scoring, dict):
        for loc, red in items(scoring, "red"):
            refs.team(("scoring", *loc, "team"), red.get("team"))
            refs.team(("scoring", *loc, "against"), red.get("against"))


def _scope(refs: _Refs, data: dict[str, Any]) -> None:
    """The targets of the playbook's scope."""
    scope = data.get("scope")
    if isinstance(scope, dict):
        refs.targets(("scope", "targets"), scope)


def _duration(refs: _Refs, data: dict[str, Any]) -> None:
    """A drill with timed parts must know when to stop."""
    names = refs.names
    timed = any(isinstance(s.get("when"), str) for _l, s in items(data, "steps"))
    if (names.posts or names.escalations or timed) and data.get("duration") is None:
        refs.add((), _(
            "duration is required when a playbook has posts, escalations or `when:` steps "
            "(the drill must know when to stop), e.g. duration: 8h"))


Check = Callable[[_Refs, dict[str, Any]], None]

REFERENCE_CHECKS: dict[str, Check] = {
    "steps": _steps,
    "after cycles": _cycles,
    "posts": _posts,
    "posts used": _posts_used,
    "clocks": _clocks,
    "escalation": _escalations,
    "statement_approval": _approval,
    "scoring": _scoring,
    "scope": _scope,
    "duration": _duration,
}
"""Kind of reference -> its check, run in this order (``_posts_used`` needs what
``_steps`` and ``_posts`` collected)."""


def references(doc: YamlDocument) -> list[Problem]:
    """Every broken reference of the playbook ``doc`` (a mapping), with its line."""
    problems: list[Problem] = []
    refs = _Refs(doc, _names(doc, problems), problems)
    for check in REFERENCE_CHECKS.values():
        check(refs, doc.data)
    return problems


def _role_teams(data: Any, role: str) -> list[str]:
    teams = data.get("teams") if isinstance(data, dict) else None
    out = []
    for team in teams if isinstance(teams, list) else []:
        if team == role:
            out.append(team)
        elif isinstance(team, dict) and team.get("role") == role and isinstance(team.get("id"),
                                                                                 str):
            out.append(team["id"])
    return out
