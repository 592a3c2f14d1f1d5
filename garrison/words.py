"""The small vocabulary every front-end and service shares, standard library only.

- ``closest`` / ``did_you_mean``: the one "did you mean" rule (difflib's ratio, the
  nearest choice above ``cutoff``), phrased one way: `` (did you mean 'x'?)``.
- ``escape_like``: a user's words as a literal inside a SQL ``LIKE`` pattern (with
  ``ESCAPE '\\'``).
- ``SEVERITY_STYLE``: the Rich styles of the severities, for the CLI's tables and the
  TUI's screens alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from garrison.i18n import _

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan",
                  "info": "dim"}


def closest(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The choice nearest to ``word``, if one is near enough."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the nearest choice, or an empty string."""
    close = closest(word, choices, cutoff=cutoff)
    return _(" (did you mean {c!r}?)").format(c=close) if close is not None else ""


def escape_like(text: str) -> str:
    """``text`` matched literally by ``LIKE ... ESCAPE '\\'`` (``%``, ``_``, ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
