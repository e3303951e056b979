"""emails that failed for good, for the dashboard

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
    op.create_table(
        'email_failures',
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('template', sa.String(length=100), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('event_id', name=op.f('pk_email_failures')),
    )
    with op.batch_alter_table('email_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_failures_failed_at'), ['failed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_failures_failed_at'))
    op.drop_table('email_failures')
