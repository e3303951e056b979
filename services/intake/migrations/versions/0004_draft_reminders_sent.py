"""draft reminders sent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 04:44:55.193730
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('draft_reminders_sent',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('offset_key', sa.String(length=20), nullable=False),
    sa.Column('closes_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_draft_reminders_sent_application_id_applications')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_draft_reminders_sent')),
    sa.UniqueConstraint('application_id', 'offset_key', name='uq_draft_reminders_sent_key')
    )
    with op.batch_alter_table('draft_reminders_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_reminders_sent_application_id'), ['application_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('draft_reminders_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_reminders_sent_application_id'))

    op.drop_table('draft_reminders_sent')
