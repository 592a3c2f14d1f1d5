"""The findings part of ``garrison demo``: the league table, and what to try next.

Runs after the scan step (entry points ``garrison.demo`` run in name order), so the
findings the scans raised are there to rank.
"""

from __future__ import annotations

from rich.console import Console

from garrison.cli.findings_render import render_summary
from garrison.db import read_session
from garrison.findings.sla import settings_policy
from garrison.findings.summary import summarise
from garrison.i18n import _
from garrison.settings import Settings


def run_demo(settings: Settings, out: Console) -> None:
    out.print(_("\n[bold]Findings[/bold]: the office's league table"))
    with read_session(settings) as session:
        table = summarise(session, now=settings.now())
    render_summary(out, table)
    out.print(_("Deadlines: {policy}").format(policy=settings_policy(settings).describe()))
    out.print(_("Try: garrison findings list --unit hz-jw · garrison findings show 3 · "
                "garrison findings export -f html -o findings.html"))
