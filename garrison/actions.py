"""What every user action is given: who acts, when, under which policies, for whom.

The CLI, the TUI and the drill engine build one ``ActionContext`` from the settings
(``action_context``) and pass it to the service functions (``garrison.findings.service``
and the like); those do the whole action in one transaction with its audit event. A
front-end never assembles sessions, deadline policies, the expiry sweep or the
display-safe database URL itself, so the front-ends cannot drift apart: a TUI export's
manifest names the database as the CLI's does, a finding reopened from the TUI gets the
deployment's deadlines, and both reopen expired risk acceptances.

Nothing here has a default: a service that needs a policy takes the context, and a
context without its policies does not type-check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date, datetime

    from garrison.clock import Clock
    from garrison.findings.sla import SlaPolicy
    from garrison.settings import Settings


@dataclass(frozen=True)
class Policies:
    """The deployment's rules for findings, read once from the settings."""

    sla: SlaPolicy
    """Days to fix by severity, tightened for high MLPS levels (``GARRISON_SLA_DAYS``)."""
    max_acceptance_days: int
    """The furthest a risk acceptance may run (``GARRISON_ACCEPTED_RISK_MAX_DAYS``)."""


@dataclass(frozen=True)
class ActionContext:
    """One user's action: the settings it runs under and everything derived from them."""

    settings: Settings
    actor: str
    """Who acts, as the audit trail records it."""
    clock: Clock
    policies: Policies
    database: str
    """The database URL as it may be shown or written into a manifest: no password."""
    lang: str
    """The language messages are phrased in (``en``, ``zh_CN``)."""

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.today(self.settings.timezone)


def action_context(settings: Settings, *, lang: str | None = None) -> ActionContext:
    """The context of an action run with ``settings`` (the CLI's and the TUI's)."""
    from garrison.db import display_url
    from garrison.findings.sla import settings_policy

    return ActionContext(
        settings=settings, actor=settings.actor, clock=settings.clock,
        policies=Policies(sla=settings_policy(settings),
                          max_acceptance_days=settings.accepted_risk_max_days),
        database=display_url(settings.db), lang=lang or current_language())


def current_language() -> str:
    """The language gettext speaks in this process (``en`` without a catalogue)."""
    from garrison.i18n import language

    return language()
