"""dashboard indexes: the dashboard's counts read indexes, not the findings table

Revision ID: 0009_dashboard_indexes
Revises: 0008_change_notify
Create Date: 2026-12-06 04:00:00

The dashboard (the TUI's first screen) counts open findings by unit and severity with
their overdue share, and reads the findings first seen or changed in the trend's 30
days. On 100,000 findings the first took 0.1 s reading whole rows; the index on
(unit_id, status) becomes (unit_id, status, severity, due_at), which covers it (its
prefix serves every query the old one did), and ``status_changed_at`` and
``first_seen`` are indexed (the latter also serves ``findings list --since``).
Every read of the findings first asks whether a risk acceptance has expired (a scan of
the whole table, 18 ms, on each keystroke of the TUI's filter): a partial index of the
accepted findings' expiry answers it at once. Counting the matches of a title filter
(each keystroke of that filter) reads an index of (title, status), a fraction of the
rows' size, instead of the rows (issue 12, speed as the user sees it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ACCEPTED = "status = 'accepted_risk'"

revision: str = '0009_dashboard_indexes'
down_revision: str | None = '0008_change_notify'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index('ix_finding_unit_id_status')
        batch_op.create_index('ix_finding_unit_id_status_severity_due_at',
                              ['unit_id', 'status', 'severity', 'due_at'], unique=False)
        batch_op.create_index('ix_finding_status_changed_at', ['status_changed_at'],
                              unique=False)
        batch_op.create_index('ix_finding_first_seen', ['first_seen'], unique=False)
        batch_op.create_index('ix_finding_title_status', ['title', 'status'], unique=False)
        batch_op.create_index('ix_finding_accepted_until', ['accepted_until'], unique=False,
                              sqlite_where=sa.text(ACCEPTED),
                              postgresql_where=sa.text(ACCEPTED))


def downgrade() -> None:
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index('ix_finding_accepted_until')
        batch_op.drop_index('ix_finding_title_status')
        batch_op.drop_index('ix_finding_first_seen')
        batch_op.drop_index('ix_finding_status_changed_at')
        batch_op.drop_index('ix_finding_unit_id_status_severity_due_at')
        batch_op.create_index('ix_finding_unit_id_status', ['unit_id', 'status'], unique=False)
