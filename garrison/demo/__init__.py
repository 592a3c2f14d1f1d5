"""The demo organisation: 100 units of a provincial department, scoped on loopback."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import as_file, files
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.models import Unit
from garrison.org.loader import OrgDocument, load_org_file
from garrison.org.service import ImportPlan, import_org

if TYPE_CHECKING:
    from garrison.actions import ActionContext


def demo_org_document() -> OrgDocument:
    with as_file(files(__name__) / "org.yaml") as path:
        return load_org_file(path)


def load_demo(session: Session, *, actor: str, now: datetime, force: bool = False
              ) -> ImportPlan:
    """Import the demo org; refuse to mix it into a database that holds real units."""
    doc = demo_org_document()
    demo_codes = {p.spec.code for p in doc.units}
    foreign = sorted(set(session.exec(select(Unit.code)).all()) - demo_codes)
    if foreign and not force:
        raise GarrisonError(
            _("this database already holds {n} units that are not part of the demo "
              "(e.g. {ex}); the demo would be mixed into it").format(
                n=len(foreign), ex=", ".join(foreign[:3])),
            hint=_("Use a separate database: garrison --db sqlite:///demo.db demo "
                   "(or pass --force)."),
        )
    return import_org(session, doc, actor=actor, now=now)


def load(ctx: ActionContext, *, force: bool) -> ImportPlan:
    """``garrison demo``'s first step: the demo organisation, in one transaction."""
    from garrison.db import write_session

    with write_session(ctx.settings) as session:
        return load_demo(session, actor=ctx.actor, now=ctx.now(), force=force)
