"""Load a playbook: YAML -> ``Playbook``, with every problem as ``file:line: message``.

Four passes, all of which run so one attempt shows every problem:

1. reading (``garrison.yamldoc``: size, depth and alias limits, no tags, no
   duplicate keys) and a look for anything that asks to run a command;
2. the schema (``drills.schema``), unknown keys with "did you mean";
3. the cross-references the schema cannot see -- team ids, ``after`` (dangling or in
   a cycle), posts, clocks, conditions that name posts, targets that cannot be
   addresses -- checked on the raw data, so they work even where the schema
   rejected a neighbouring value (``drills.loader_refs``, one check per kind);
4. each action's parameters (``with:``) against its own model.

Where the targets lie (inside the unit's authorised scopes or not) is the scope
guard's business at run time: ``drills.loader.check_scope`` asks it before a run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import cast

from pydantic import BaseModel, ValidationError

from drills.loader_refs import items, references
from drills.schema import PARAMS, SHELL_WORDS, ClockSpec, Playbook
from garrison.canonical import sha256_text
from garrison.errors import DocumentError, GarrisonError, NotFoundError, Problem
from garrison.i18n import _
from garrison.words import did_you_mean
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
    problems += references(doc) + _params(doc)
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
    for loc, step in items(doc.data, "steps"):
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


# ------------------------------------------------------------------ pass 4: parameters


def _params(doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    for loc, step in items(doc.data, "steps"):
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
    raise NotFoundError(
        _("no playbook {r!r}{hint}").format(r=ref, hint=did_you_mean(ref, found, cutoff=0.5)),
        hint=_("`garrison drill list` shows the playbooks; or give a file path."))
