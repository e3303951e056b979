"""outreach reminders sent (issue 17: reminders to invited prospects before the edition closes)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:40:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outreach_reminders_sent',
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('prospect_id', sa.String(length=36), nullable=False),
        sa.Column('call_id', sa.String(length=36), nullable=False),
        sa.Column('offset_key', sa.String(length=20), nullable=False),
        sa.Column('stage', sa.String(length=20), nullable=False),
        sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'],
                                name=op.f('fk_outreach_reminders_sent_prospect_id_prospects')),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_outreach_reminders_sent_call_id_calls')),
        sa.PrimaryKeyConstraint('event_id', name=op.f('pk_outreach_reminders_sent')),
        sa.UniqueConstraint('prospect_id', 'call_id', 'offset_key', name='uq_outreach_reminders_sent_key'),
    )
    op.create_index(op.f('ix_outreach_reminders_sent_prospect_id'), 'outreach_reminders_sent', ['prospect_id'])


def downgrade() -> None:
    op.drop_table('outreach_reminders_sent')
