"""ceremony on recipients

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:17:59.089460
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ceremony', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('ceremony_notified_at', shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_column('ceremony_notified_at')
        batch_op.drop_column('ceremony')
