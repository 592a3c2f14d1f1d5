"""YAML rosters: ``experts:``, a list of mappings with the English field names.

Every problem is reported as ``file:line: experts[i]: ...`` with the line of the item
(or of the bad value, where the YAML reader knows it). Each item is checked as one
``expert_pool.roster_row.ExpertRow``, which also takes YAML's own forms: skills as a
mapping (``web: 3``), certifications as a list of mappings with ``name`` and
``expires`` (a YAML date), languages as a list, ``active: true``, and ``organization``
for ``organisation``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expert_pool import vocab
from expert_pool.roster_fields import ExpertRecord, SeenKeys
from expert_pool.roster_row import check_row
from expert_pool.roster_values import REPORTED, unknown_field
from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.yamldoc import YamlDocument, format_loc, load_yaml

_TEXT_FIELDS = {"name", "organisation", "organization", "home_unit", "city", "phone", "email",
                "clearance", "notes"}


def load_yaml_roster(path: Path, max_bytes: int) -> list[ExpertRecord]:
    doc = load_yaml(path, max_bytes=max_bytes)
    problems = list(doc.problems)
    data = doc.data
    if isinstance(data, dict):
        problems.extend(Problem(doc.file, doc.line_of((key,), key=True),
                                unknown_field(key, ("experts",)))
                        for key in data if key != "experts")
    if not isinstance(data, dict) or "experts" not in data:
        problems.append(Problem(doc.file, 1, _(
            "expected an 'experts:' list at the top of the file")))
        raise DocumentError(_by_line(problems))
    items = data["experts"] if data["experts"] is not None else []
    if not isinstance(items, list):
        if ("experts",) not in doc.problem_locs:
            problems.append(doc.problem(("experts",), _(
                "expected a list of experts (each item starts with '- ')")))
        raise DocumentError(_by_line(problems))
    known = vocab.skills()
    seen = SeenKeys()
    records = []
    for i, item in enumerate(items):
        record = _yaml_item(doc, ("experts", i), item, known, seen, problems)
        if record is not None:
            records.append(record)
    if not items:
        problems.append(Problem(doc.file, doc.line_of(("experts",)), _(
            "no experts in the file")))
    if problems:
        raise DocumentError(_by_line(problems))
    return records


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.line or 0)  # stable: a row's own order stays


def _yaml_item(doc: YamlDocument, loc: tuple[str | int, ...], item: Any,
               known: dict[str, vocab.Skill], seen: SeenKeys,
               problems: list[Problem]) -> ExpertRecord | None:
    line = doc.line_of(loc) or 1
    where = format_loc(loc)
    if not isinstance(item, dict):
        if loc not in doc.problem_locs:
            message = _("expected a mapping (name: ..., organisation: ...), got {v!r}").format(
                v=item)
            problems.append(Problem(doc.file, line, f"{where}: {message}"))
        return None
    # Values the reader refused were reported (and became None): a text field is then
    # left out without a second message; the row makes no record.
    bad = {p[len(loc)] for p in doc.problem_locs if p[: len(loc)] == loc and len(p) > len(loc)}
    raw = {key: REPORTED if key in bad and key in _TEXT_FIELDS else value
           for key, value in item.items()}
    record, messages = check_row(raw, line, seen, known, ok=not bad)
    problems.extend(Problem(doc.file, line, f"{where}: {message}") for message in messages)
    return record
