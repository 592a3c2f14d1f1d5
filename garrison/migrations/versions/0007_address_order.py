"""address order: assets carry a numeric sort key for their address

Revision ID: 0007_address_order
Revises: 0006_observations
Create Date: 2026-12-05 09:00:00

Text sorts 127.0.0.10 before 127.0.0.2, and a province's 65,534 assets were listed
by sorting all of them in Python. ``asset.address_key`` is the IP version byte then
the packed address: bytes compare numerically, IPv4 before IPv6, on SQLite and
PostgreSQL alike, and (unit_id, address_key) is indexed for the keyset-paged lists
(issue 11, section 6).
"""

import ipaddress
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_address_order'
down_revision: str | None = '0006_observations'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.LargeBinary(length=17)


def _key(address: str) -> bytes:
    """As ``garrison.models.inventory.address_key`` today (a migration keeps its own)."""
    ip = ipaddress.ip_address(address)
    return bytes([ip.version]) + ip.packed


def upgrade() -> None:
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_key', KEY, nullable=True))
    asset = sa.table('asset', sa.column('id', sa.Integer()), sa.column('address', sa.String()),
                     sa.column('address_key', KEY))
    conn = op.get_bind()
    rows = conn.execute(sa.select(asset.c.id, asset.c.address)).all()
    if rows:
        conn.execute(asset.update().where(asset.c.id == sa.bindparam('row_id'))
                     .values(address_key=sa.bindparam('key')),
                     [{'row_id': row_id, 'key': _key(address)} for row_id, address in rows])
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.alter_column('address_key', existing_type=KEY, nullable=False)
        batch_op.create_index('ix_asset_unit_id_address_key', ['unit_id', 'address_key'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('asset', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_unit_id_address_key')
        batch_op.drop_column('address_key')
