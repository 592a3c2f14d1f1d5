"""Safe, bounded YAML loading that remembers where every value came from.

Input files (the org tree now, playbooks later) are loaded with PyYAML's safe
composer, never a constructor that can build objects. Limits make hostile files
cheap to refuse: a size cap, a nesting cap, and a cap on the number of nodes the
document expands to, counting every alias as the whole subtree it stands for (so a
"billion laughs" file is refused after a bounded walk). Duplicate keys, non-string
keys and custom tags are errors, not silent surprises.

Validation maps pydantic's error locations back to ``file:line`` and suggests the
nearest allowed key for a misspelt one.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from garrison.errors import DocumentError, Problem
from garrison.i18n import _
from garrison.words import closest

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (8x faster: a 200-step playbook in 20 ms, not
150 ms); composing builds nodes only, never objects, with either."""

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass
class YamlDocument:
    """Plain data from a YAML file, with the line of every value and key."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    key_lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    """Problems found while reading (bad scalars, duplicate keys, tags); validation adds
    its own and reports them all together."""
    problem_locs: set[Loc] = field(default_factory=set)

    def line_of(self, loc: Loc, *, key: bool = False) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that exists in the file."""
        if key and loc in self.key_lines:
            return self.key_lines[loc]
        probe = loc
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def add(self, loc: Loc, message: str, *, key: bool = False) -> None:
        self.problems.append(self.problem(loc, message, key=key))
        self.problem_locs.add(loc)

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        where = format_loc(loc)
        text = f"{where}: {message}" if where else message
        return Problem(self.file, self.line_of(loc, key=key), text)


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _Budget:
    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0


def _read_text(path: Path, max_bytes: int) -> str:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                [Problem(name, None, _("file is {size} bytes; the limit is {limit} bytes").format(
                    size=size, limit=max_bytes))],
                hint=_("Split the file, or check that you picked the right one."),
            )
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DocumentError([Problem(name, None, _("no such file"))]) from exc
    except IsADirectoryError as exc:
        raise DocumentError([Problem(name, None, _("is a directory, not a file"))]) from exc
    except PermissionError as exc:
        raise DocumentError([Problem(name, None, _("permission denied"))]) from exc
    if b"\x00" in raw:
        raise DocumentError([Problem(name, None, _("binary file, not YAML text"))])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DocumentError(
            [Problem(name, line, _("not UTF-8 text (byte {pos})").format(pos=exc.start))],
            hint=_("Save the file as UTF-8."),
        ) from exc


def load_yaml(path: Path, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """Load one YAML document safely; raise ``DocumentError`` listing every problem."""
    return load_yaml_text(_read_text(path, max_bytes), str(path))


def load_yaml_text(text: str, name: str, *, max_bytes: int = MAX_BYTES) -> YamlDocument:
    """As ``load_yaml``, for text already read (``name`` is shown in problems)."""
    if len(text.encode()) > max_bytes:
        raise DocumentError([Problem(name, None, _(
            "the text is {size} bytes; the limit is {limit} bytes").format(
                size=len(text.encode()), limit=max_bytes))])
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        detail = exc.problem or "syntax error"
        if exc.context and exc.context_mark is not None:
            detail = _("{problem} ({context} started on line {line})").format(
                problem=detail, context=exc.context.removeprefix("while "),
                line=exc.context_mark.line + 1)
        raise DocumentError([Problem(name, line, _("not valid YAML: {detail}").format(
            detail=detail))]) from exc
    except yaml.YAMLError as exc:
        raise DocumentError([Problem(name, None, _("not valid YAML: {detail}").format(
            detail=exc))]) from exc
    doc = YamlDocument(file=name, data=None)
    if node is None:
        raise DocumentError([Problem(name, 1, _("the file is empty"))])
    fatal: list[Problem] = []
    try:
        doc.data = _convert_node(node, (), doc, fatal, _Budget(name), depth=0)
    except _Abort:
        raise DocumentError(fatal) from None
    return doc


class _Abort(Exception):
    """Stop converting: the document is hostile (too big or too deep)."""


def _convert_node(
    node: yaml.Node, loc: Loc, doc: YamlDocument, fatal: list[Problem], budget: _Budget,
    depth: int,
) -> Any:
    line = node.start_mark.line + 1
    doc.lines.setdefault(loc, line)
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        fatal.append(Problem(doc.file, line, _(
            "the document expands to more than {n} values (aliases that multiply, "
            "a 'billion laughs' file?); refused").format(n=MAX_NODES)))
        raise _Abort
    if depth > MAX_DEPTH:
        fatal.append(Problem(doc.file, line, _(
            "nested deeper than {n} levels; refused").format(n=MAX_DEPTH)))
        raise _Abort
    if node.tag not in _STANDARD_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        doc.add(loc, _("YAML tag {tag} is not allowed").format(tag=tag))
        return None
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, loc, doc)
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert_node(item, (*loc, i), doc, fatal, budget, depth + 1)
            for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.MappingNode)
    return _mapping(node, loc, doc, fatal, budget, depth)


def _mapping(
    node: yaml.MappingNode, loc: Loc, doc: YamlDocument, fatal: list[Problem],
    budget: _Budget, depth: int,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        if key_node.tag == "tag:yaml.org,2002:merge":
            doc.problems.append(Problem(doc.file, key_line, _(
                "merge keys (<<) are not supported")))
            continue
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:bool":
            # YAML 1.1 reads on/off/yes/no as booleans; as a key it is always the word
            # (a playbook's `on:` is not True).
            key_node = yaml.ScalarNode("tag:yaml.org,2002:str", key_node.value,
                                       key_node.start_mark, key_node.end_mark)
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
            doc.problems.append(Problem(doc.file, key_line, _(
                "keys must be plain text; write the key in quotes")))
            continue
        key = key_node.value
        if key in out:
            doc.problems.append(Problem(doc.file, key_line, _(
                "{loc}: duplicate key {key!r} (first on line {first})").format(
                    loc=format_loc((*loc, key)), key=key, first=doc.key_lines[(*loc, key)])))
            doc.problem_locs.add((*loc, key))
            continue
        doc.key_lines[(*loc, key)] = key_line
        out[key] = _convert_node(value_node, (*loc, key), doc, fatal, budget, depth + 1)
    return out


_constructor = yaml.SafeLoader("")


def _scalar(node: yaml.ScalarNode, loc: Loc, doc: YamlDocument) -> Any:
    try:
        return _constructor.construct_object(node)
    except (ValueError, yaml.constructor.ConstructorError) as exc:
        kind = "date" if node.tag.endswith(":timestamp") else node.tag.rsplit(":", 1)[-1]
        doc.add(loc, _("invalid {kind} {value!r} ({err})").format(
            kind=kind, value=node.value, err=exc))
        return None


# ---------------------------------------------------------------- validation


def validate(model: type[M], doc: YamlDocument) -> M:
    """Validate ``doc.data`` into ``model``; every problem becomes a ``file:line`` line."""
    result, problems = collect(model, doc)
    if problems or result is None:
        raise DocumentError(problems)
    return result


def collect(model: type[M], doc: YamlDocument) -> tuple[M | None, list[Problem]]:
    """Validate and return (model or None, every problem: reading's and validation's)."""
    problems = list(doc.problems)
    try:
        result: M | None = model.model_validate(doc.data)
    except ValidationError as exc:
        result = None
        problems.extend(problems_from(exc, model, doc))
    return result, sort_problems(problems)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.message))


def problems_from(exc: ValidationError, model: type[BaseModel], doc: YamlDocument) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        if any(loc[: len(bad)] == bad for bad in doc.problem_locs):
            continue  # already reported while reading (the value became None)
        if err["type"] == "extra_forbidden":
            problems.append(doc.problem(loc, _unknown_key(model, loc), key=True))
        else:
            problems.append(doc.problem(loc, _message(err)))
    return problems


def _message(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return _("required field is missing")
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        return _("expected text, got {value!r}: write it in quotes").format(value=value)
    if kind == "string_too_short":
        return _("must not be empty")
    if kind in {"enum", "literal_error"}:
        expected = err.get("ctx", {}).get("expected", "")
        return _("{value!r} is not allowed; use {expected}").format(value=value,
                                                                     expected=expected)
    if kind.startswith(("date_", "datetime_")):
        return _("invalid date {value!r}: write it as YYYY-MM-DD").format(value=value)
    if kind == "list_type":
        return _("expected a list, got {value!r} (write [] for none)").format(value=value)
    if kind == "dict_type":
        return _("expected a mapping (key: value), got {value!r}").format(value=value)
    if kind in {"int_parsing", "int_type"}:
        return _("expected a whole number, got {value!r}").format(value=value)
    return message


def _unknown_key(model: type[BaseModel], loc: Loc) -> str:
    key = str(loc[-1])
    allowed = _fields_at(model, loc[:-1])
    message = _("unknown key {key!r}").format(key=key)
    if allowed:
        close = closest(key, allowed)
        if close is not None:
            return message + _(" (did you mean {close!r}?)").format(close=close)
        return message + _(" (allowed: {allowed})").format(allowed=", ".join(sorted(allowed)))
    return message


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model``, if unambiguous."""
    current: Any = model
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(part, str) and part in annotation.model_fields:
            return _strip_optional(annotation.model_fields[part].annotation)
        return None
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, Sequence) and isinstance(part, int):
        args = typing.get_args(annotation)
        return _strip_optional(args[0]) if args else None
    if origin is dict and isinstance(part, str):
        args = typing.get_args(annotation)
        return _strip_optional(args[1]) if len(args) == 2 else None
    return None


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _strip_optional(typing.get_args(annotation)[0])
    return annotation
