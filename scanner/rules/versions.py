"""Version ranges for software versions as nmap reports them (``7.4``, ``8.9p1``, ``2.4.49``).

Not PEP 440: products put letters and suffixes anywhere. A version is compared by
its leading numeric components (``8.9p1`` -> (8, 9), then the suffix ``p1`` breaks
ties lexically), which is what matters for "older than" rules.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from garrison.i18n import _

_NUMERIC = re.compile(r"^(\d+(?:\.\d+)*)(.*)$")
_CLAUSE = re.compile(r"^(<=|>=|==|!=|<|>)\s*(\d+(?:\.\d+)*\S*)$")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}

VersionKey = tuple[tuple[int, ...], str]


def version_key(text: str) -> VersionKey | None:
    """(numeric components, suffix), or None when the text has no leading number."""
    match = _NUMERIC.match(text.strip())
    if match is None:
        return None
    numbers = tuple(int(n) for n in match.group(1).split("."))
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers = numbers[:-1]  # 8.0 == 8
    return numbers, match.group(2).strip().lower()


@dataclass(frozen=True)
class VersionRange:
    clauses: tuple[tuple[str, VersionKey], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        clauses = []
        for part in text.split(","):
            match = _CLAUSE.match(part.strip())
            if match is None:
                raise ValueError(
                    _("{part!r} is not a version clause like <8.0 or >=2.4.0").format(
                        part=part.strip()))
            key = version_key(match.group(2))
            assert key is not None
            clauses.append((match.group(1), key))
        return cls(tuple(clauses))

    def contains(self, version: str) -> bool | None:
        """True/False, or None when the version has no comparable number."""
        key = version_key(version)
        if key is None:
            return None
        return all(_compare(op, key, bound) for op, bound in self.clauses)


def _compare(op: str, key: VersionKey, bound: VersionKey) -> bool:
    # Compare numbers first; a bound without a suffix ignores the version's suffix,
    # so "7.4p1" < 8.0 and "7.4p1" >= 7.4.
    numbers, suffix = key
    bound_numbers, bound_suffix = bound
    left: object = (numbers, suffix) if bound_suffix else numbers
    right: object = (bound_numbers, bound_suffix) if bound_suffix else bound_numbers
    return bool(_OPS[op](left, right))
