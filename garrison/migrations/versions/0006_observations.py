"""observations: when a run looked, what it covered, history that does not move the present

Revision ID: 0006_observations
Revises: 0005_experts
Create Date: 2026-12-04 17:30:00

An import's observation time is the file's own; an observation older than the
inventory's is stored as history (``change.historical``) without moving the current
state (issue 11, section 2).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import garrison.models.types

revision: str = '0006_observations'
down_revision: str | None = '0005_experts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = garrison.models.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('scanrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('observed_at', UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column('observed_until', UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column('coverage', sa.JSON(), nullable=True))
    op.execute("UPDATE scanrun SET observed_at = started_at, observed_until = finished_at")
    op.execute("UPDATE scanrun SET coverage = '{}'")
    with op.batch_alter_table('scanrun', schema=None) as batch_op:
        batch_op.alter_column('observed_at', existing_type=UTC_TIME, nullable=False)
        batch_op.alter_column('coverage', existing_type=sa.JSON(), nullable=False)
        batch_op.create_index(batch_op.f('ix_scanrun_observed_at'), ['observed_at'],
                              unique=False)
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_observed', UTC_TIME, nullable=True))
    op.execute("UPDATE asset SET last_observed = last_seen")
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.alter_column('last_observed', existing_type=UTC_TIME, nullable=False)
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('historical', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('change', schema=None) as batch_op:
        batch_op.drop_column('historical')
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_column('last_observed')
    with op.batch_alter_table('scanrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scanrun_observed_at'))
        batch_op.drop_column('coverage')
        batch_op.drop_column('observed_until')
        batch_op.drop_column('observed_at')
