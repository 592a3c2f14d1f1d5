"""The drills' part of ``garrison demo``: one opinion drill rehearsed twice.

The shipped ``site-accident-rumour`` playbook runs on the step clock with its two
rehearsals -- a team that answers promptly and one that does not -- and the demo shows
how differently the same rumour ends.
"""

from __future__ import annotations

from importlib import resources

from rich.console import Console
from rich.table import Table

from drills import store
from drills.engine import Engine, EngineOptions, start
from drills.loader import resolve
from drills.script import load_script
from garrison.db import read_session
from garrison.i18n import _
from garrison.settings import Settings

PLAYBOOK = "site-accident-rumour"


def run_demo(settings: Settings, out: Console) -> None:
    out.print(_("\n[bold]Drill[/bold]: {p}, rehearsed by a prompt team and a late one").format(
        p=PLAYBOOK))
    loaded = resolve(PLAYBOOK)
    table = Table(_("rehearsal"), _("run"), _("opinion team score"), _("level at the end"),
                  _("final heat"), _("golden 4 h"), _("findings raised"))
    runs = []
    for name in ("fast", "late"):
        ref = resources.files("playbooks").joinpath("rehearsals", f"{PLAYBOOK}.{name}.yaml")
        with resources.as_file(ref) as path:
            script = load_script(path, loaded)
        run_id = start(settings, loaded, clock=store.ClockMode.parse("step"), auto=True,
                       script=script)
        Engine(settings, run_id, EngineOptions(poll=0.02)).drive()
        with read_session(settings) as session:
            rep = store.replay(session, store.get_run(session, run_id), now=settings.now())
        sim = rep.sim
        missed = sum(1 for e in sim.expectations if e.verdict == "missed") + sum(
            1 for c in sim.clocks.values() if c.verdict == "missed")
        golden = sim.clocks.get("golden-4h")
        table.add_row(name, str(run_id), f"{sim.totals().get('opinion', 0):g}", sim.level,
                      f"{sim.heat():,.0f}", golden.verdict or "-" if golden else "-",
                      str(missed))
        runs.append(run_id)
    out.print(table)
    out.print(_("Try: garrison drill report {r} -f html -o aar.html · garrison drill status "
                "{r} · garrison drill show {p}").format(r=runs[-1], p=PLAYBOOK))
