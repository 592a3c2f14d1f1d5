"""The scope guard's user actions: list the authorised scopes, check targets.

Each takes an ``ActionContext`` and is one transaction: a check records its verdicts and
every refusal's audit event together, or nothing (a busy database is a clear error, not
an unrecorded verdict). Scopes are judged on the deployment's local date.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from garrison.db import read_session, write_session
from garrison.errors import DatabaseBusy
from garrison.scope import ScopeView, Verdict, check_targets, guard_busy, list_scopes

if TYPE_CHECKING:
    from garrison.actions import ActionContext


def scopes(ctx: ActionContext, *, unit_code: str | None) -> list[ScopeView]:
    """The scopes of ``unit_code`` and the units under it (all when None), with their
    state today."""
    with read_session(ctx.settings) as session:
        return list_scopes(session, unit_code=unit_code, today=ctx.today())


def check(ctx: ActionContext, *, unit_code: str, targets: Sequence[str]) -> list[Verdict]:
    """Judge each target against the unit's scopes; refusals are audited. Sends nothing."""
    try:
        with write_session(ctx.settings) as session:
            return check_targets(session, unit_code=unit_code, targets=targets,
                                 actor=ctx.actor, now=ctx.now(), today=ctx.today())
    except DatabaseBusy as exc:
        raise guard_busy(exc) from exc
