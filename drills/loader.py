"""Load a playbook: YAML -> ``Playbook``, with every problem as ``file:line: message``.

Four passes, all of which run so one attempt shows every problem:

1. reading (``garrison.yamldoc``: size, depth and alias limits, no tags, no
   duplicate keys) and a look for anything that asks to run a command;
2. the schema (``drills.schema``), unknown keys with "did you mean";
3. the cross-references the schema cannot see -- team ids, ``after`` (dangling or in
   a cycle), posts, clocks, conditions that name posts, targets that cannot be
   addresses -- checked on the raw data, so they work even where the schema
   rejected a neighbouring value;
4. each action's parameters (``with:``) against its own model.

Where the targets lie (inside the unit's authorised scopes or not) is the scope
guard's business at run time: ``drills.loader.check_scope`` asks it before a run.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from drills.conditions import parse_condition
from drills.schema import PARAMS, SHELL_WORDS, ClockSpec, Playbook
from garrison.canonical import sha256_text
from garrison.errors import DocumentError, GarrisonError, NotFoundError, Problem
from garrison.i18n import _
from garrison.targets import TargetError, parse_target
from garrison.yamldoc import (
    Loc,
    YamlDocument,
    collect,
    load_yaml,
    load_yaml_text,
    problems_from,
    sort_problems,
)

CLOCK_SETS = ("statutory",)
ENV_DIR = "GARRISON_PLAYBOOKS_DIR"


@dataclass(frozen=True)
class LoadedPlaybook:
    """A valid playbook, where it came from, and the clocks it runs with."""

    playbook: Playbook
    path: Path | None
    source: str
    """The YAML text, stored with every run (a run can be resumed and reported even if
    the file changes or goes)."""
    sha256: str
    clocks: tuple[ClockSpec, ...]
    """The playbook's own clocks plus those of its ``clock_sets``."""
    origin: str = "file"
    """``shipped``, ``user`` or ``file``."""


def load_playbook(path: Path, *, origin: str = "file") -> LoadedPlaybook:
    """Load and check ``path``; ``DocumentError`` lists every problem."""
    doc = load_yaml(path)
    text = path.read_bytes().decode("utf-8-sig")  # load_yaml checked it is UTF-8
    return _check(doc, text, path, origin)


def load_playbook_text(text: str, name: str = "<stored playbook>") -> LoadedPlaybook:
    """The same checks on text (a run's stored copy of its playbook)."""
    return _check(load_yaml_text(text, name), text, None, "stored")


def _check(doc: YamlDocument, text: str, path: Path | None, origin: str) -> LoadedPlaybook:
    if not isinstance(doc.data, dict):
        raise DocumentError([Problem(doc.file, 1, _(
            "expected a playbook: a mapping with id, title, kind, scope, teams and steps"))])
    _shell_keys(doc)
    playbook, problems = collect(Playbook, doc)
    problems += _references(doc) + _params(doc)
    clocks: list[ClockSpec] = []
    if playbook is not None:
        set_clocks, set_problems = _clock_sets(doc, playbook)
        clocks = list(playbook.clocks) + set_clocks
        problems += set_problems
    problems = sort_problems(_unique(problems))
    if problems or playbook is None:
        raise DocumentError(problems, hint=_(
            "`garrison drill schema` prints the schema; docs/drills.md explains each part."))
    return LoadedPlaybook(playbook, path, text, sha256_text(text), tuple(clocks),
                          origin)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, int | None, str]] = set()
    out = []
    for p in problems:
        key = (p.file, p.line, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


# ------------------------------------------------------------------ pass 1: no commands


def _shell_keys(doc: YamlDocument) -> None:
    """A key that asks to run something gets its own message (before the schema's)."""
    for loc, step in _items(doc.data, "steps"):
        for key in step:
            if key.lower() in SHELL_WORDS:
                doc.add((*loc, key), _("{k!r} is not allowed: playbooks cannot run shell "
                                       "commands; automated steps are scan, probe, "
                                       "check-finding and wait").format(k=key), key=True)
        action = step.get("action")
        if isinstance(action, str) and action.lower() in SHELL_WORDS:
            doc.add((*loc, "action"), _("action {a!r} is not allowed: playbooks cannot run "
                                        "shell commands; use scan, probe, check-finding or "
                                        "wait").format(a=action))


def _items(data: Any, key: str) -> Iterator[tuple[Loc, dict[str, Any]]]:
    items = data.get(key) if isinstance(data, dict) else None
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            yield (key, i), item


def _nested(loc: Loc, item: dict[str, Any], key: str) -> Iterator[tuple[Loc, dict[str, Any]]]:
    values = item.get(key)
    for i, value in enumerate(values if isinstance(values, list) else []):
        if isinstance(value, dict):
            yield (*loc, key, i), value


# ------------------------------------------------------------------ pass 3: references


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
        for loc, item in _items(data, key):
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
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    hint = _(" (did you mean {c!r}?)").format(c=close[0]) if close else (
        _(" (known: {k})").format(k=", ".join(known)) if known else "")
    return _("unknown {kind} {v!r}{hint}").format(kind=kind, v=value, hint=hint)


def _references(doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    data = doc.data
    names = _names(doc, problems)

    def team(loc: Loc, value: Any) -> None:
        if isinstance(value, str) and names.teams and value not in names.teams:
            problems.append(doc.problem(loc, _unknown(_("team"), value, names.teams)))

    def expectations(loc: Loc, item: dict[str, Any]) -> None:
        for eloc, expect in _nested(loc, item, "expect"):
            team((*eloc, "team"), expect.get("team"))

    def condition(loc: Loc, value: Any, *, local_post: bool) -> None:
        if not isinstance(value, str):
            return
        try:
            cond = parse_condition(value)
        except ValueError:
            return  # the schema reports it
        for post in sorted(cond.posts - set(names.posts)):
            problems.append(doc.problem(loc, _unknown(_("post"), post, names.posts)))
        if cond.uses_local_reach and not local_post:
            problems.append(doc.problem(loc, _(
                "'reach' alone means the post's own reach, only in a post's spawns; "
                "here write reach(post-id) or heat")))

    spawned: set[str] = set()
    injected: set[str] = set()
    for loc, step in _items(data, "steps"):
        team((*loc, "team"), step.get("team"))
        to = step.get("to")
        for j, recipient in enumerate(to if isinstance(to, list) else []):
            team((*loc, "to", j), recipient)
        expectations(loc, step)
        after = step.get("after")
        if isinstance(after, str) and after not in names.steps + names.escalations:
            problems.append(doc.problem((*loc, "after"), _unknown(
                _("step or escalation"), after, names.steps + names.escalations)))
        condition((*loc, "when"), step.get("when"), local_post=False)
        post = step.get("post")
        if isinstance(post, str):
            injected.add(post)
            if post not in names.posts:
                problems.append(doc.problem((*loc, "post"), _unknown(_("post"), post,
                                                                     names.posts)))
        _targets(doc, (*loc, "with", "targets"), step.get("with"), problems)
    problems += _cycles(doc)
    opinion_teams = _role_teams(data, "opinion")
    for loc, post in _items(data, "posts"):
        if "answered_by" in post:
            team((*loc, "answered_by"), post.get("answered_by"))
        elif not opinion_teams and isinstance(post.get("id"), str):
            problems.append(doc.problem(loc, _(
                "post {p!r} has no answered_by and the playbook has no team with role "
                "opinion to answer it").format(p=post.get("id"))))
        expectations(loc, post)
        for sloc, spawn in _nested(loc, post, "spawns"):
            condition((*sloc, "when"), spawn.get("when"), local_post=True)
            child = spawn.get("post")
            if isinstance(child, str):
                spawned.add(child)
                if child not in names.posts:
                    problems.append(doc.problem((*sloc, "post"), _unknown(_("post"), child,
                                                                          names.posts)))
    for loc, post in _items(data, "posts"):
        pid = post.get("id")
        if isinstance(pid, str) and pid not in injected | spawned:
            problems.append(doc.problem((*loc, "id"), _(
                "post {p!r} never appears: inject it from a step (inject: post, post: {p}) "
                "or spawn it from another post").format(p=pid)))
    for loc, clock in _items(data, "clocks"):
        team((*loc, "team"), clock.get("team"))
        trigger = clock.get("starts_on")
        if isinstance(trigger, str) and ":" in trigger:
            kind, _sep, ref = trigger.partition(":")
            known = {"step": names.steps, "post": names.posts,
                     "escalation": names.escalations}.get(kind)
            if known is not None and ref not in known:
                problems.append(doc.problem((*loc, "starts_on"), _unknown(kind, ref, known)))
    for loc, esc in _items(data, "escalation"):
        condition((*loc, "when"), esc.get("when"), local_post=False)
        notify = esc.get("notify")
        for j, recipient in enumerate(notify if isinstance(notify, list) else []):
            team((*loc, "notify", j), recipient)
        expectations(loc, esc)
    approval = data.get("statement_approval")
    if isinstance(approval, dict):
        team(("statement_approval", "team"), approval.get("team"))
    scoring = data.get("scoring")
    if isinstance(scoring, dict):
        for loc, red in _items(scoring, "red"):
            team(("scoring", *loc, "team"), red.get("team"))
            team(("scoring", *loc, "against"), red.get("against"))
    scope = data.get("scope")
    if isinstance(scope, dict):
        _targets(doc, ("scope", "targets"), scope, problems)
    timed = any(isinstance(s.get("when"), str) for _l, s in _items(data, "steps"))
    if (names.posts or names.escalations or timed) and data.get("duration") is None:
        problems.append(doc.problem((), _(
            "duration is required when a playbook has posts, escalations or `when:` steps "
            "(the drill must know when to stop), e.g. duration: 8h")))
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


class _Hostname(Exception):
    """A hostname: resolved by the guard at run time, not when validating."""


def _no_lookup(name: str) -> list[str]:
    raise _Hostname(name)


def _targets(doc: YamlDocument, loc: Loc, holder: Any, problems: list[Problem]) -> None:
    targets = holder.get("targets") if isinstance(holder, dict) else None
    for j, target in enumerate(targets if isinstance(targets, list) else []):
        if not isinstance(target, str):
            continue
        try:
            parse_target(target, resolver=_no_lookup)
        except _Hostname:
            continue
        except TargetError as exc:
            problems.append(doc.problem((*loc, j), str(exc)))


def _cycles(doc: YamlDocument) -> list[Problem]:
    """``after`` chains that loop: the steps would wait for each other forever."""
    after: dict[str, str] = {}
    where: dict[str, Loc] = {}
    for loc, step in _items(doc.data, "steps"):
        sid, target = step.get("id"), step.get("after")
        if isinstance(sid, str) and isinstance(target, str):
            after[sid] = target
            where[sid] = (*loc, "after")
    problems, reported = [], set()
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
            problems.append(doc.problem(where[first], _(
                "{ring} is a cycle: these steps would wait for each other forever").format(
                    ring=" -> ".join([*ring, first]))))
    return problems


# ------------------------------------------------------------------ pass 4: parameters


def _params(doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    for loc, step in _items(doc.data, "steps"):
        action, params = step.get("action"), step.get("with", {})
        model = PARAMS.get(action) if isinstance(action, str) else None
        if model is None or (*loc, "with") in doc.problem_locs:
            continue
        if params is None:
            params = {}
        try:
            model.model_validate(params)
        except ValidationError as exc:
            problems += _prefixed(exc, model, doc, (*loc, "with"))
    return problems


class _Within:
    """A view of the document from inside ``with:``, so an action model's errors land on
    their lines and its unknown keys are matched against its own fields."""

    def __init__(self, doc: YamlDocument, prefix: Loc) -> None:
        self.doc, self.prefix = doc, prefix
        self.problem_locs: set[Loc] = set()

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        return self.doc.problem((*self.prefix, *loc), message, key=key)


def _prefixed(exc: ValidationError, model: type[BaseModel], doc: YamlDocument,
              prefix: Loc) -> list[Problem]:
    return problems_from(exc, model, cast(YamlDocument, _Within(doc, prefix)))


# ------------------------------------------------------------------ clock sets


def _clock_sets(doc: YamlDocument, playbook: Playbook) -> tuple[list[ClockSpec], list[Problem]]:
    clocks: list[ClockSpec] = []
    problems: list[Problem] = []
    for i, name in enumerate(playbook.clock_sets):
        for clock in load_clock_set(name):
            teams = [t.id for t in playbook.teams if t.role == clock.team]
            if not teams:
                problems.append(doc.problem(("clock_sets", i), _(
                    "the {s} clocks need a team with role {r} (clock {c})").format(
                        s=name, r=clock.team, c=clock.id)))
                continue
            clocks.append(clock.model_copy(update={"team": teams[0]}))
    own = {c.id for c in playbook.clocks}
    for i, clock in enumerate(clocks):
        if clock.id in own and i >= len(playbook.clocks):
            problems.append(doc.problem(("clock_sets",), _(
                "clock {c!r} is both in the playbook and in a clock set; rename yours").format(
                    c=clock.id)))
    return clocks, problems


def load_clock_set(name: str) -> list[ClockSpec]:
    """A shipped set of statutory clocks (teams named by role)."""
    from pydantic import TypeAdapter

    if name not in CLOCK_SETS:
        raise NotFoundError(_("unknown clock set {n!r}").format(n=name))
    ref = resources.files("playbooks").joinpath("clocks", f"{name}.yaml")
    with resources.as_file(ref) as path:
        doc = load_yaml(path)
    data = doc.data.get("clocks") if isinstance(doc.data, dict) else None
    try:
        return TypeAdapter(list[ClockSpec]).validate_python(data)
    except ValidationError as exc:  # a broken shipped file is a bug: say where
        raise GarrisonError(_("{f}: {e}").format(f=doc.file, e=exc)) from exc


# ------------------------------------------------------------------ finding playbooks


@dataclass(frozen=True)
class PlaybookEntry:
    """A playbook file found by ``drill list``, valid or not."""

    id: str
    path: Path
    origin: str
    loaded: LoadedPlaybook | None
    problems: tuple[Problem, ...] = ()


def user_dir() -> Path:
    """Where a deployment keeps its own playbooks (``GARRISON_PLAYBOOKS_DIR``, else
    ``playbooks/`` in the data directory)."""
    from garrison.dburl import default_db_path
    from garrison.errors import SettingsError

    configured = os.environ.get(ENV_DIR)
    if configured and Path(configured).exists() and not Path(configured).is_dir():
        raise SettingsError(ENV_DIR, configured, _("a directory of playbooks (*.yaml)"),
                            reason=_("not a directory"))
    return Path(configured) if configured else default_db_path().parent / "playbooks"


def shipped_paths() -> list[Path]:
    root = resources.files("playbooks")
    return sorted(Path(str(p)) for p in root.iterdir()
                  if p.name.endswith((".yaml", ".yml")) and p.is_file())


def discover() -> list[PlaybookEntry]:
    """Shipped and user playbooks; a user playbook with a shipped id replaces it."""
    entries: dict[str, PlaybookEntry] = {}
    sources = [(p, "shipped") for p in shipped_paths()]
    directory = user_dir()
    if directory.is_dir():
        sources += [(p, "user") for p in sorted(directory.glob("*.y*ml"))]
    for path, origin in sources:
        try:
            loaded = load_playbook(path, origin=origin)
            entries[loaded.playbook.id] = PlaybookEntry(loaded.playbook.id, path, origin,
                                                        loaded)
        except DocumentError as exc:
            entries[f"{path.stem} ({path})"] = PlaybookEntry(path.stem, path, origin, None,
                                                             tuple(exc.problems))
    return sorted(entries.values(), key=lambda e: (e.origin != "shipped", e.id))


def resolve(ref: str) -> LoadedPlaybook:
    """A playbook by file path or by id (user playbooks first, then shipped)."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or os.sep in ref or path.exists():
        return load_playbook(path)
    found = {e.id: e for e in discover() if e.loaded is not None}
    if ref in found:
        loaded = found[ref].loaded
        assert loaded is not None
        return loaded
    close = difflib.get_close_matches(ref, list(found), n=1, cutoff=0.5)
    raise NotFoundError(
        _("no playbook {r!r}{hint}").format(
            r=ref, hint=_(" (did you mean {c!r}?)").format(c=close[0]) if close else ""),
        hint=_("`garrison drill list` shows the playbooks; or give a file path."))
