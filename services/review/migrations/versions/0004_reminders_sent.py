"""reminders sent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 04:13:19.805494
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminders_sent',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('round_id', sa.String(length=36), nullable=False),
    sa.Column('juror_id', sa.String(length=36), nullable=False),
    sa.Column('offset_key', sa.String(length=20), nullable=False),
    sa.Column('due_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pending', sa.Integer(), nullable=False),
    sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['juror_id'], ['jurors.id'], name=op.f('fk_reminders_sent_juror_id_jurors')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_reminders_sent_round_id_rounds')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_reminders_sent')),
    sa.UniqueConstraint('round_id', 'juror_id', 'offset_key', name='uq_reminders_sent_key')
    )
    with op.batch_alter_table('reminders_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_sent_juror_id'), ['juror_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminders_sent_round_id'), ['round_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reminders_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminders_sent_round_id'))
        batch_op.drop_index(batch_op.f('ix_reminders_sent_juror_id'))

    op.drop_table('reminders_sent')
