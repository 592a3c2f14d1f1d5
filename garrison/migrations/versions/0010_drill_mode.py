"""drill mode: a run is a rehearsal (nothing enters the findings) or an exercise

Revision ID: 0010_drill_mode
Revises: 0009_dashboard_indexes
Create Date: 2026-12-06 08:00:00

Every miss of every rehearsal used to become an open finding with an owner and an SLA
(issue 13). A run now has a ``mode``: ``rehearsal`` keeps its misses in its report,
``exercise`` (an official drill) raises them as drill findings, which the league
table shows apart and the SLA statistics leave out unless asked. Runs made before this
revision raised findings, so they are marked ``exercise``; new runs default to
``rehearsal`` (the model's default).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_drill_mode'
down_revision: str | None = '0009_dashboard_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('drillrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=16), nullable=False,
                                      server_default='exercise'))


def downgrade() -> None:
    with op.batch_alter_table('drillrun', schema=None) as batch_op:
        batch_op.drop_column('mode')
