"""suppression list

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:45:04.989274
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suppressions',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('source_message_id', sa.String(length=300), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_suppressions'))
    )


def downgrade() -> None:
    op.drop_table('suppressions')
