"""deliveries handed to the provider

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 06:14:22.685613
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_at', shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('handed_at')
