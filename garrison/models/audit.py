"""The append-only, hash-chained audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from garrison.models.types import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One audited action. ``seq`` is gap-free from 1; ``hash`` chains to ``prev_hash``."""

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64, index=True)
    """Dotted verb, e.g. ``org.unit.created``, ``scope.refused``."""
    subject: str = Field(max_length=300)
    """What the action was about, e.g. ``unit:hz-jw`` or ``target:10.0.0.1``."""
    payload: str = Field(sa_type=sa.Text)
    """Canonical JSON text, hashed exactly as stored."""
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
