"""Experts' phone numbers and e-mail are personal data.

Every output path (lists, ``show``, on-call views, match results, exports) shows them
masked -- ``138****5678``, ``z***@example.org`` -- unless the acting officer asks with
``--show-contacts`` *and* is one of the deployment's ``contact_viewers``; each unmasked
view is an audit event naming the experts shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from expert_pool.masking import mask_email as mask_email
from expert_pool.masking import mask_phone as mask_phone
from garrison import audit
from garrison.errors import GarrisonError
from garrison.i18n import _
from garrison.settings import Settings


def may_see_contacts(settings: Settings) -> bool:
    return settings.actor in settings.contact_viewers


def check_right(settings: Settings) -> None:
    """Refuse ``--show-contacts`` to an actor without the right."""
    if not may_see_contacts(settings):
        raise GarrisonError(
            _("{a} may not see experts' contact details").format(a=settings.actor),
            hint=_("Contacts stay masked. The deployment names who may see them in "
                   "GARRISON_CONTACT_VIEWERS (a JSON list of actors)."))


def record_view(session: Session, settings: Settings, expert_ids: Iterable[int],
                where: str) -> None:
    """The audit event of an unmasked view."""
    ids = sorted(set(expert_ids))
    audit.record(session, actor=settings.actor, action="experts.contacts_viewed",
                 subject=f"experts:{len(ids)}", payload={"experts": ids, "where": where},
                 at=settings.now())
