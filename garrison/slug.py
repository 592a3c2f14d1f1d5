"""Stable identifiers (unit codes, rule ids): lower-case letters, digits and hyphens."""

from __future__ import annotations

import re
from collections.abc import Callable

from garrison.i18n import _


def slug_check(what: str, example: str, *, min_length: int = 1) -> Callable[[str], str]:
    """A validator for pydantic's ``AfterValidator`` with a message naming ``what``."""
    pattern = re.compile(rf"^[a-z0-9][a-z0-9-]{{{min_length - 1},62}}$")

    def check(value: str) -> str:
        value = value.strip()
        if not pattern.match(value):
            raise ValueError(
                _("{v!r} is not a {what}: use lower-case letters, digits and hyphens, "
                  "e.g. {example}").format(v=value, what=what, example=example))
        return value

    return check
