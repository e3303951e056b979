"""who revoked a deadline exception; who created, opened and last changed an edition

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:20:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Exceptions revoked before this column existed keep an empty "who": nobody recorded it.
    with op.batch_alter_table('deadline_exceptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=200), nullable=True))
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('opened_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('changed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        for column in ('changed_at', 'changed_by', 'opened_by', 'created_by'):
            batch_op.drop_column(column)
    with op.batch_alter_table('deadline_exceptions', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
