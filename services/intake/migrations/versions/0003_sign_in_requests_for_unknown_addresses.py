"""sign-in requests for unknown addresses

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 01:09:32.730129
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.alter_column('applicant_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=True)


def downgrade() -> None:
    # rows of unknown addresses only fed the rate limits; they cannot survive NOT NULL
    op.execute("DELETE FROM signin_links WHERE applicant_id IS NULL")
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.alter_column('applicant_id',
               existing_type=sa.VARCHAR(length=36),
               nullable=False)
