"""The findings part of ``garrison demo``: the league table, and what to try next.

Runs after the scan step (entry points ``garrison.demo`` run in name order), so the
findings the scans raised are there to rank.
"""

from __future__ import annotations

from rich.console import Console

from garrison.actions import action_context
from garrison.cli.findings_render import render_summary
from garrison.findings import service
from garrison.i18n import _
from garrison.settings import Settings


def run_demo(settings: Settings, out: Console) -> None:
    out.print(_("\n[bold]Findings[/bold]: the office's league table"))
    context = action_context(settings)
    table, _reopened = service.summary(context, None)
    render_summary(out, table)
    out.print(_("Deadlines: {policy}").format(policy=context.policies.sla.describe()))
    out.print(_("Try: garrison findings list --unit hz-jw · garrison findings show 3 · "
                "garrison findings export -f html -o findings.html"))
