"""jurors: their answer to the invitation, who deactivated them, a version per change

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:05:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jurors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation', sa.String(length=20), nullable=False, server_default='invited'))
        batch_op.add_column(sa.Column('declined_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('answered_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deactivated_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('deactivated_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('updated_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('jurors', schema=None) as batch_op:
        for column in ('version', 'updated_at', 'updated_by', 'deactivated_at', 'deactivated_by', 'answered_at',
                       'declined_reason', 'invitation'):
            batch_op.drop_column(column)
