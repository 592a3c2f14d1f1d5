"""Running drills in tests: start a run, drive it to the end, replay it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drills import service, store
from drills.engine import Engine, EngineOptions
from drills.loader import LoadedPlaybook, load_playbook, resolve
from drills.script import load_script
from drills.store import ClockMode, Replay
from garrison.actions import action_context
from garrison.db import read_session
from garrison.models import DrillRun
from garrison.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "playbooks"


def loaded(ref: str | Path) -> LoadedPlaybook:
    return load_playbook(ref) if isinstance(ref, Path) else resolve(ref)


def run_drill(settings: Settings, ref: str | Path, *, responses: Path | None = None,
              script: list[dict[str, Any]] | None = None, clock: str = "step",
              auto: bool = True, max_wall: float | None = 60.0) -> int:
    """Start a run and drive it until it ends (step clock, automatic, by default:
    deterministic and as fast as the machine allows)."""
    pb = loaded(ref)
    items = script if script is not None else (
        load_script(responses, pb) if responses is not None else [])
    ctx = action_context(settings)
    run_id = service.start(ctx, pb, clock=ClockMode.parse(clock), auto=auto, script=items)
    Engine(ctx, run_id, EngineOptions(poll=0.02, max_wall=max_wall)).drive()
    return run_id


def get(settings: Settings, run_id: int) -> DrillRun:
    with read_session(settings) as session:
        return store.get_run(session, run_id)


def replayed(settings: Settings, run_id: int) -> Replay:
    with read_session(settings) as session:
        return store.replay(session, store.get_run(session, run_id), now=settings.now())


def verdicts(settings: Settings, run_id: int) -> dict[str, str]:
    """expectation key -> verdict."""
    return {e.key: e.verdict or "open" for e in replayed(settings, run_id).sim.expectations}
