"""Conditions in playbooks: ``heat > 50000``, ``reach >= 2e4 and level == city``.

A deliberately tiny language, parsed when the playbook is loaded (so a typo is a
``file:line`` error, not a surprise during the drill) and evaluated by the engine
against the drill's state. No names but these, no calls but ``reach(post)``:

    condition  := comparison (("and" | "or") comparison)*     # left to right, and
    comparison := value OP number                              # binds tighter
    value      := heat | reach | reach(POST-ID) | elapsed
    OP         := > | >= | < | <= | == | !=

- ``heat``: the summed reach of every post that has appeared;
- ``reach``: the reach of the post the condition belongs to (in ``spawns``);
- ``reach(id)``: the reach of post ``id`` (0 before it appears);
- ``elapsed``: drill time in minutes.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from garrison.i18n import _

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<op>>=|<=|==|!=|>|<)"
                    r"|(?P<name>[a-z][a-z0-9_-]*)|(?P<paren>[()]))")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}
VALUES = ("heat", "reach", "elapsed")


@dataclass(frozen=True)
class Comparison:
    value: str
    """``heat``, ``reach``, ``elapsed`` or ``reach:<post-id>``."""
    op: str
    number: float

    def holds(self, values: Mapping[str, float]) -> bool:
        return _OPS[self.op](values.get(self.value, 0.0), self.number)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: comparisons joined left to right; ``and`` binds tighter."""

    text: str
    any_of: tuple[tuple[Comparison, ...], ...]
    """Disjunction of conjunctions."""

    def holds(self, values: Mapping[str, float]) -> bool:
        return any(all(c.holds(values) for c in group) for group in self.any_of)

    @property
    def posts(self) -> set[str]:
        """Post ids named with ``reach(id)``."""
        return {c.value.split(":", 1)[1] for group in self.any_of for c in group
                if c.value.startswith("reach:")}

    @property
    def uses_local_reach(self) -> bool:
        return any(c.value == "reach" for group in self.any_of for c in group)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError(_("cannot read {rest!r} in condition {text!r}").format(
                rest=text[pos:].strip(), text=text))
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_condition(text: str) -> Condition:
    """Parse ``text``; ``ValueError`` says what is wrong and what is allowed."""
    tokens = _tokens(text)
    if not tokens:
        raise ValueError(_("empty condition: write e.g. heat > 50000"))
    groups: list[list[Comparison]] = [[]]
    i = 0
    while True:
        comparison, i = _comparison(tokens, i, text)
        groups[-1].append(comparison)
        if i == len(tokens):
            break
        kind, word = tokens[i]
        if kind != "name" or word not in ("and", "or"):
            raise ValueError(_("expected 'and' or 'or' after {c!r} in {text!r}").format(
                c=f"{comparison.value} {comparison.op} {comparison.number:g}", text=text))
        if word == "or":
            groups.append([])
        i += 1
    return Condition(text, tuple(tuple(g) for g in groups))


def _comparison(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[Comparison, int]:
    def at(k: int) -> tuple[str, str]:
        return tokens[k] if k < len(tokens) else ("end", "")

    kind, word = at(i)
    if kind != "name" or word not in VALUES:
        raise ValueError(_("{w!r} is not a value a condition can test; use heat, reach, "
                           "reach(post-id) or elapsed (in {text!r})").format(
                               w=word or "end of text", text=text))
    value, i = word, i + 1
    if word == "reach" and at(i) == ("paren", "("):
        kind, post = at(i + 1)
        if kind != "name" or at(i + 2) != ("paren", ")"):
            raise ValueError(_("write reach(post-id), e.g. reach(rumour), in {text!r}").format(
                text=text))
        value, i = f"reach:{post}", i + 3
    kind, op = at(i)
    if kind != "op":
        raise ValueError(_("expected a comparison (>, >=, <, <=, ==, !=) after {v!r} in "
                           "{text!r}").format(v=word, text=text))
    kind, number = at(i + 1)
    if kind != "num":
        raise ValueError(_("expected a number after {op!r} in {text!r}").format(op=op,
                                                                                text=text))
    return Comparison(value, op, float(number)), i + 2
