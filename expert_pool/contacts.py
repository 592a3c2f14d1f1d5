"""Experts' phone numbers and e-mail are personal data.

Every output path (lists, ``show``, on-call views, match results, exports) shows them
masked -- ``138****5678``, ``z***@example.org`` -- unless the acting officer asks for
them unmasked *and* is one of the deployment's ``contact_viewers``; each unmasked view
is an audit event naming the experts shown, in the transaction of the read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlmodel import Session

from expert_pool.masking import mask_email as mask_email
from expert_pool.masking import mask_phone as mask_phone
from expert_pool.service_types import ContactsRefused
from garrison import audit


def check_right(actor: str, viewers: Collection[str]) -> None:
    """Refuse an unmasked view to an actor who is not one of the ``viewers``."""
    if actor not in viewers:
        raise ContactsRefused(actor)


def record_view(session: Session, expert_ids: Iterable[int], where: str, *, actor: str,
                now: datetime) -> None:
    """The audit event of an unmasked view."""
    ids = sorted(set(expert_ids))
    audit.record(session, actor=actor, action="experts.contacts_viewed",
                 subject=f"experts:{len(ids)}", payload={"experts": ids, "where": where},
                 at=now)
