"""outbox: the W3C trace context of the span that wrote each row (traceparent, tracestate)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('traceparent', sa.String(length=55), nullable=True))
        batch.add_column(sa.Column('tracestate', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('tracestate')
        batch.drop_column('traceparent')
