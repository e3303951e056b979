"""who revoked a deadline exception

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Exceptions revoked before this column existed keep an empty "who": nobody recorded it.
    with op.batch_alter_table('deadline_exceptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deadline_exceptions', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
