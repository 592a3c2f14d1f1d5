"""The audit trail's user actions: verify the chain, export it, check an export, read it.

Each takes an ``ActionContext``; an export is one transaction with its own audit event.
The database is named as ``ctx.database`` (display-safe, no password) in every report
and manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from garrison import audit
from garrison.db import read_session, write_session

if TYPE_CHECKING:
    from garrison.actions import ActionContext
    from garrison.evidence import ExportVerification
    from garrison.models import AuditEvent


def verify(ctx: ActionContext, *, anchors: Sequence[audit.Anchor]) -> audit.VerifyReport:
    """Walk the whole hash chain (and check it still holds each anchor's head)."""
    with read_session(ctx.settings) as session:
        return audit.verify(session, anchors=anchors)


def export(ctx: ActionContext, *, path: Path) -> audit.ExportResult:
    """Write the chain as JSON Lines with its manifest; the export is itself audited."""
    with write_session(ctx.settings) as session:
        return audit.export(session, path=path, actor=ctx.actor, database=ctx.database,
                            now=ctx.now())


def verify_export(ctx: ActionContext, *, path: Path,
                  anchors: Sequence[audit.Anchor]) -> ExportVerification:
    """Check an export against the audit event that recorded it."""
    from garrison.evidence import verify_export as check

    with read_session(ctx.settings) as session:
        return check(session, path=path, database=ctx.database, anchors=list(anchors))


def recent(ctx: ActionContext, *, limit: int, action_prefix: str | None) -> list[AuditEvent]:
    """The newest audit events, newest first."""
    with read_session(ctx.settings) as session:
        return list(audit.recent(session, limit=limit, action_prefix=action_prefix))
