"""What the ``garrison experts`` commands share: options, skill and time parsing, the
action context, and the service's errors phrased with the CLI's flags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from garrison.i18n import _

if TYPE_CHECKING:
    from datetime import datetime

    from garrison.actions import ActionContext

ExpertArg = Annotated[str, typer.Argument(metavar="EXPERT", help=_(
    "An expert id, e-mail, or a name only one expert has."))]
JsonOpt = Annotated[bool, typer.Option("--json", help=_("Machine-readable output."))]
ContactsOpt = Annotated[bool, typer.Option("--show-contacts", help=_(
    "Show phone and e-mail unmasked (only for actors in GARRISON_CONTACT_VIEWERS; "
    "audited)."))]
SkillOpt = Annotated[list[str] | None, typer.Option("--skill", "-s", metavar="SKILL[:LEVEL]",
                                                   help=_(
    "A skill, at least at LEVEL (1-3, default 1); repeat for more."))]
CityOpt = Annotated[str | None, typer.Option("--city", help=_("A city."))]
AtOpt = Annotated[str | None, typer.Option("--at", metavar="TIME", help=_(
    "'YYYY-MM-DD HH:MM' (local time) or 'now' (default)."))]


def parse_skills(values: list[str] | None) -> tuple[tuple[str, int], ...]:
    from expert_pool.vocab import parse_skill, skills
    from garrison.errors import GarrisonError

    known = skills()
    out: dict[str, int] = {}
    for raw in values or []:
        for part in raw.split(","):
            if not part.strip():
                continue
            try:
                name, level = parse_skill(part, known)
            except ValueError as exc:
                raise GarrisonError(str(exc), hint=_("`garrison experts skills` lists the "
                                                     "skills.")) from exc
            out[name] = max(level, out.get(name, 0))
    return tuple(out.items())


def context(ctx: typer.Context) -> ActionContext:
    """The action context of this command (settings checked, schema at head)."""
    from garrison.actions import action_context
    from garrison.cli.context import open_db

    return action_context(open_db(ctx))


def when(value: str | None, actx: ActionContext, option: str) -> datetime:
    """A time the user typed (``now`` if none), in the deployment's zone."""
    from expert_pool.times import parse_when

    return parse_when(value or "now", actx.settings.timezone, now=actx.now(), option=option)


@contextmanager
def phrased() -> Iterator[None]:
    """The service's errors in the CLI's words: what to type next, with the flags."""
    from expert_pool.service_types import (
        CannotWrite,
        ConflictOfInterest,
        ExpertRetired,
        NoPlan,
        PlanOverlaps,
    )
    from garrison.errors import GarrisonError, NotFoundError

    try:
        yield
    except ConflictOfInterest as exc:
        raise GarrisonError(exc.message, hint=_(
            "`garrison experts match --for-unit {u}` finds unconflicted experts; to assign "
            "anyway, give --override REASON (it is recorded and audited).").format(
                u=exc.unit)) from exc
    except ExpertRetired as exc:
        raise GarrisonError(exc.message, hint=(
            _("`garrison experts edit {id} --active` brings them back.") if exc.already
            else _("`garrison experts edit {id} --active` brings them back first."))
            .format(id=exc.expert_id)) from exc
    except PlanOverlaps as exc:
        raise GarrisonError(exc.message, hint=_(
            "Give --replace to replace it (its shifts are deleted), or plan another "
            "period.")) from exc
    except NoPlan as exc:
        raise NotFoundError(exc.message, hint=_(
            "Make one: garrison experts oncall plan --from YYYY-MM-DD --to YYYY-MM-DD")
            if exc.plan_id is None else _("`garrison experts oncall plans` lists them.")
        ) from exc
    except CannotWrite as exc:
        raise GarrisonError(exc.message, hint=_(
            "Choose a writable file in an existing directory with -o.")) from exc
