"""What the ``garrison experts`` commands share: options, skill and time parsing, and
the session an (audited) view of contact details reads in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from garrison.i18n import _

if TYPE_CHECKING:
    from datetime import datetime

    from sqlmodel import Session

    from garrison.settings import Settings

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


def when(value: str | None, settings: Settings, option: str) -> datetime:
    from expert_pool.times import parse_when

    return parse_when(value or "now", settings.timezone, now=settings.now(), option=option)


@contextmanager
def viewing(settings: Settings, show_contacts: bool) -> Iterator[Session]:
    """A session to read experts in: a write transaction when contacts are shown, so the
    view and its audit event commit together."""
    from garrison.db import read_session, write_session

    if show_contacts:
        from expert_pool.contacts import check_right

        check_right(settings)
        with write_session(settings) as session:
            yield session
    else:
        with read_session(settings) as session:
            yield session


def audit_view(session: Session, settings: Settings, show_contacts: bool, ids: list[int],
                where: str) -> None:
    if show_contacts and ids:
        from expert_pool.contacts import record_view

        record_view(session, settings, ids, where)

