"""Scripted responses (``drill run --responses FILE``): a rehearsal you can repeat.

    responses:
      - {at: 10m, team: opinion, does: classify, level: serious}
      - {at: 15m, team: leadership, does: approve-statement}
      - {at: 20m, team: opinion, step: rumour, does: statement, note: 已发布情况通报}

Each response is recorded at its drill time exactly as if the team had typed
``garrison drill respond`` then; teams and steps are checked against the playbook,
with ``file:line`` for every problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import StringConstraints

from drills.loader import LoadedPlaybook
from drills.schema import ActionName, Duration, Id, _Strict
from drills.store import CLASSIFY_LEVELS
from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.yamldoc import collect, load_yaml, sort_problems


class ScriptedResponse(_Strict):
    """One response a team gives at a drill time."""

    at: Duration
    """Drill time of the response."""
    team: Id
    """The responding team."""
    does: ActionName
    """What it does."""
    step: Id | None = None
    """The step, post, escalation or clock it answers (default: every open one of that
    team and action)."""
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    """Free text (the statement's wording, a lesson ...)."""
    level: str | None = None
    """With ``does: classify``: especially-serious, serious, relatively-serious or general."""


class ScriptFile(_Strict):
    """A file of scripted responses."""

    responses: list[ScriptedResponse]
    """The responses, in any order (they are replayed by drill time)."""


def load_script(path: Path, loaded: LoadedPlaybook) -> list[dict[str, Any]]:
    """The responses as plain data (stored with the run), or ``DocumentError``."""
    doc = load_yaml(path)
    spec, problems = collect(ScriptFile, doc)
    if spec is not None:
        pb = loaded.playbook
        ids = ([s.id for s in pb.steps] + [p.id for p in pb.posts]
               + [e.id for e in pb.escalation] + [c.id for c in loaded.clocks])
        for i, item in enumerate(spec.responses):
            loc = ("responses", i)
            if item.team not in pb.team_ids:
                problems.append(doc.problem((*loc, "team"), _(
                    "no team {t!r} in playbook {p} (teams: {all})").format(
                        t=item.team, p=pb.id, all=", ".join(pb.team_ids))))
            if item.step is not None and item.step not in ids:
                problems.append(doc.problem((*loc, "step"), _(
                    "no step, post, escalation or clock {s!r} in playbook {p}").format(
                        s=item.step, p=pb.id)))
            if item.level is not None and (item.level not in CLASSIFY_LEVELS
                                           or item.does != "classify"):
                problems.append(doc.problem((*loc, "level"), _(
                    "level goes with does: classify and is one of {levels}").format(
                        levels=", ".join(CLASSIFY_LEVELS))))
    problems = sort_problems(problems)
    if problems or spec is None:
        raise DocumentError(problems or [Problem(doc.file, None, _("no responses"))])
    return [item.model_dump(exclude_none=True) for item in spec.responses]
