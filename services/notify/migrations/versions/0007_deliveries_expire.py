"""deliveries that expire (a sign-in link is not sent after its end)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
