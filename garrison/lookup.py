"""One way to fetch a record by id or say it does not exist.

``get_or_not_found(session, Finding, 5, what=_("finding"))`` returns the row or raises
``NotFoundError("no finding 5", kind="finding", key=5)``: one wording everywhere
(before: "no finding 5", "no finding #5", "no drill run #3"), and data a front-end
phrases its hint from (the CLI names the command that lists them; see
``garrison.cli.main``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from garrison.errors import NotFoundError
from garrison.i18n import _

T = TypeVar("T")


def get_or_not_found(session: Any, model: type[T], key: object, *, what: str,
                     kind: str) -> T:
    """The ``model`` row with primary key ``key``; ``NotFoundError`` naming ``what``."""
    row: T | None = session.get(model, key)
    if row is None:
        raise NotFoundError(_("no {what} {key}").format(what=what, key=key), kind=kind,
                            key=key)
    return row
