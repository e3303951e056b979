"""opt_outs: addresses that asked for no more outreach email (issue 17)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:45:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'opt_outs',
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('source', sa.String(length=30), nullable=False),
        sa.Column('template', sa.String(length=100), nullable=False),
        sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('email', name=op.f('pk_opt_outs')),
    )


def downgrade() -> None:
    op.drop_table('opt_outs')
