"""change notify: PostgreSQL tells listeners that another session committed a change

Revision ID: 0008_change_notify
Revises: 0007_address_order
Create Date: 2026-12-05 09:30:00

Every user action writes an audit event and a drill writes its events, so a statement
trigger on ``auditevent`` and ``drillevent`` that calls ``pg_notify('garrison_changes',
'')`` tells every listening TUI that something changed (PostgreSQL delivers it at
commit, once per transaction). SQLite needs nothing: ``PRAGMA data_version`` changes
when another connection commits (``garrison.changes``).
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008_change_notify'
down_revision: str | None = '0007_address_order'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("auditevent", "drillevent")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION garrison_notify_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('garrison_changes', TG_TABLE_NAME);
            RETURN NULL;
        END $$
    """)
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION garrison_notify_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS garrison_notify_change()")
