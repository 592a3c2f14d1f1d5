"""Load an org file: YAML -> typed specs, with every problem as ``file:line``.

Problems come from three passes that all run, so one attempt shows them all:
reading the YAML, validating against the schema, and tree rules the schema cannot
express (unique codes across the tree, ``parent`` only at the top, a range listed
once per unit). The tree rules walk the raw data, so they work even where the
schema rejected a neighbouring value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from garrison.canonical import sha256_file
from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.org.schema import OrgFile, UnitSpec
from garrison.targets import TargetError, parse_scope_network
from garrison.yamldoc import Loc, YamlDocument, collect, load_yaml, sort_problems


@dataclass(frozen=True)
class PlacedUnit:
    """A unit spec with where it sits: its parent's code and its place in the file."""

    spec: UnitSpec
    parent: str | None
    nested: bool
    loc: Loc


@dataclass(frozen=True)
class OrgDocument:
    path: Path
    sha256: str
    yaml: YamlDocument
    spec: OrgFile
    units: tuple[PlacedUnit, ...]


def _flatten(units: list[UnitSpec], parent: str | None, loc: Loc) -> list[PlacedUnit]:
    out = []
    for i, spec in enumerate(units):
        here = (*loc, i)
        out.append(PlacedUnit(spec, parent if parent else spec.parent, parent is not None, here))
        out.extend(_flatten(spec.units, spec.code, (*here, "units")))
    return out


def _raw_units(data: Any, loc: Loc) -> list[tuple[Loc, dict[str, Any], bool]]:
    """(loc, mapping, nested) for every unit-shaped mapping in the raw data."""
    out: list[tuple[Loc, dict[str, Any], bool]] = []
    items = data.get("units") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return out
    for i, item in enumerate(items):
        if isinstance(item, dict):
            here = (*loc, "units", i)
            out.append((here, item, bool(loc)))
            out.extend(_raw_units(item, here))
    return out


def _tree_problems(doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, Loc] = {}
    for loc, unit, nested in _raw_units(doc.data, ()):
        code = unit.get("code")
        if isinstance(code, str):
            if code in first:
                problems.append(doc.problem((*loc, "code"), _(
                    "duplicate unit code {code!r} (first on line {line})").format(
                        code=code, line=doc.line_of((*first[code], "code")))))
            else:
                first[code] = loc
        if nested and "parent" in unit:
            problems.append(doc.problem((*loc, "parent"), _(
                "'parent' is only for top-level units; a nested unit's parent is the unit "
                "it is nested under"), key=True))
        problems.extend(_scope_duplicates(doc, loc, unit))
    return problems


def _scope_duplicates(doc: YamlDocument, loc: Loc, unit: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    scopes = unit.get("scopes")
    seen: dict[str, int] = {}
    for j, scope in enumerate(scopes if isinstance(scopes, list) else []):
        raw = scope.get("cidr") if isinstance(scope, dict) else None
        if not isinstance(raw, str):
            continue
        try:
            cidr = str(parse_scope_network(raw))
        except TargetError:
            continue  # the schema pass reports it
        if cidr in seen:
            problems.append(doc.problem((*loc, "scopes", j, "cidr"), _(
                "scope {cidr} is listed twice for this unit (first at scopes[{k}])").format(
                    cidr=cidr, k=seen[cidr])))
        seen.setdefault(cidr, j)
    return problems


def load_org_file(path: Path) -> OrgDocument:
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise DocumentError([Problem(doc.file, 1, _(
            "expected a mapping with a 'units:' list at the top of the file"))])
    spec, problems = collect(OrgFile, doc)
    problems = sort_problems(problems + _tree_problems(doc))
    if problems or spec is None:
        raise DocumentError(problems)
    return OrgDocument(path, sha256_file(path), doc, spec, tuple(_flatten(spec.units, None,
                                                                          ("units",))))
