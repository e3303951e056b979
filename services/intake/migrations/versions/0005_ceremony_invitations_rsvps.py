"""ceremony, invitations, rsvps

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:20:02.443252
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ceremonies',
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('starts_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('rsvp_by', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('max_delegates', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_ceremonies_call_id_calls')),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_ceremonies'))
    )
    op.create_table('ceremony_invitations',
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('invited_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_ceremony_invitations_application_id_applications')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_ceremony_invitations_call_id_calls')),
    sa.PrimaryKeyConstraint('application_id', name=op.f('pk_ceremony_invitations'))
    )
    with op.batch_alter_table('ceremony_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ceremony_invitations_call_id'), ['call_id'], unique=False)

    op.create_table('ceremony_rsvps',
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('attending', sa.Boolean(), nullable=False),
    sa.Column('delegates', sa.JSON(), nullable=False),
    sa.Column('substitute', sa.JSON(), nullable=True),
    sa.Column('accessibility', sa.Text(), nullable=False),
    sa.Column('visa_letter', sa.Boolean(), nullable=False),
    sa.Column('visa_details', sa.Text(), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('first_answered_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_ceremony_rsvps_application_id_applications')),
    sa.PrimaryKeyConstraint('application_id', name=op.f('pk_ceremony_rsvps'))
    )
    op.create_table('rsvp_reminders_sent',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('offset_key', sa.String(length=20), nullable=False),
    sa.Column('rsvp_by', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_rsvp_reminders_sent_application_id_applications')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_rsvp_reminders_sent')),
    sa.UniqueConstraint('application_id', 'offset_key', name='uq_rsvp_reminders_sent_key')
    )
    with op.batch_alter_table('rsvp_reminders_sent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rsvp_reminders_sent_application_id'), ['application_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rsvp_reminders_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rsvp_reminders_sent_application_id'))

    op.drop_table('rsvp_reminders_sent')
    op.drop_table('ceremony_rsvps')
    with op.batch_alter_table('ceremony_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ceremony_invitations_call_id'))

    op.drop_table('ceremony_invitations')
    op.drop_table('ceremonies')
