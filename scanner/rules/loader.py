"""Load rule packs: the shipped ones, then a user's directory (which may override by id)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

from garrison.errors import DocumentError, Problem
from garrison.findings.rules import RuleText
from garrison.i18n import _
from garrison.yamldoc import load_yaml, validate
from scanner.rules.engine import RuleSet
from scanner.rules.schema import Rule, RulePack


@dataclass(frozen=True)
class LoadedRule:
    rule: Rule
    source: str
    """The file it came from; ``overrides`` names the shipped file it replaced."""
    overrides: str | None = None


def rule_texts(loaded: list[LoadedRule]) -> list[RuleText]:
    """The rules as the kernel's ``rule`` table stores them."""
    return [RuleText(e.rule.id, e.rule.title, e.rule.severity, e.rule.rationale, e.rule.remedy,
                     e.rule.cwe, e.rule.cvss, list(e.rule.references), e.source)
            for e in loaded]


def shipped_rule_files() -> list[Path]:
    pack = files("scanner.rules") / "pack"
    with as_file(pack) as folder:
        return sorted(Path(folder).glob("*.yaml"))


def _load_file(path: Path) -> list[tuple[Rule, int | None]]:
    doc = load_yaml(path)
    pack = validate(RulePack, doc)
    return [(rule, doc.line_of(("rules", i, "id"))) for i, rule in enumerate(pack.rules)]


def load_rules(user_dir: Path | None = None) -> tuple[RuleSet, list[LoadedRule]]:
    """Every rule, validated; a bad file or a duplicate id raises ``DocumentError``."""
    loaded: dict[str, LoadedRule] = {}
    problems: list[Problem] = []
    files_ = [(p, True) for p in shipped_rule_files()]
    if user_dir is not None:
        if not user_dir.is_dir():
            raise DocumentError([Problem(str(user_dir), None, _("not a directory of rule files"))])
        files_ += [(p, False) for p in sorted(user_dir.glob("*.y*ml"))]
    seen_in: dict[str, tuple[str, int | None, bool]] = {}
    for path, shipped in files_:
        try:
            rules = _load_file(path)
        except DocumentError as exc:
            problems.extend(exc.problems)
            continue
        for rule, line in rules:
            earlier = seen_in.get(rule.id)
            if earlier is not None and earlier[2] == shipped:
                problems.append(Problem(str(path), line, _(
                    "duplicate rule id {id!r} (also in {file}:{line})").format(
                        id=rule.id, file=earlier[0], line=earlier[1])))
                continue
            overrides = earlier[0] if earlier is not None else None
            loaded[rule.id] = LoadedRule(rule, f"{path}:{line}", overrides)
            seen_in[rule.id] = (str(path), line, shipped)
    if problems:
        raise DocumentError(problems, hint=_("Fix the rule files; no scan or import ran."))
    return RuleSet([entry.rule for entry in loaded.values()]), list(loaded.values())
