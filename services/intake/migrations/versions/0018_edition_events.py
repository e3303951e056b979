"""edition events, their invitations and RSVPs (issue 17: event invitations)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:30:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'edition_events',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('call_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('starts_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('venue', sa.String(length=300), nullable=False),
        sa.Column('address', sa.Text(), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('rsvp_by', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('max_delegates', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_edition_events_call_id_calls')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_edition_events')),
    )
    op.create_index(op.f('ix_edition_events_call_id'), 'edition_events', ['call_id'])
    op.create_table(
        'event_invitations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('edition_event_id', sa.String(length=36), nullable=False),
        sa.Column('prospect_id', sa.String(length=36), nullable=True),
        sa.Column('applicant_id', sa.String(length=36), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('organisation', sa.String(length=300), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('invited_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('invited_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['edition_event_id'], ['edition_events.id'],
                                name=op.f('fk_event_invitations_edition_event_id_edition_events')),
        sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'],
                                name=op.f('fk_event_invitations_prospect_id_prospects')),
        sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'],
                                name=op.f('fk_event_invitations_applicant_id_applicants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_event_invitations')),
        sa.UniqueConstraint('edition_event_id', 'email', name='uq_event_invitations_event_email'),
        sa.UniqueConstraint('token_hash', name=op.f('uq_event_invitations_token_hash')),
    )
    op.create_index(op.f('ix_event_invitations_edition_event_id'), 'event_invitations', ['edition_event_id'])
    op.create_index(op.f('ix_event_invitations_prospect_id'), 'event_invitations', ['prospect_id'])
    op.create_index(op.f('ix_event_invitations_applicant_id'), 'event_invitations', ['applicant_id'])
    op.create_table(
        'event_rsvps',
        sa.Column('invitation_id', sa.String(length=36), nullable=False),
        sa.Column('attending', sa.Boolean(), nullable=False),
        sa.Column('delegates', sa.JSON(), nullable=False),
        sa.Column('substitute', sa.JSON(), nullable=True),
        sa.Column('accessibility', sa.Text(), nullable=False),
        sa.Column('visa_letter', sa.Boolean(), nullable=False),
        sa.Column('visa_details', sa.Text(), nullable=False),
        sa.Column('comments', sa.Text(), nullable=False),
        sa.Column('consent_version', sa.Integer(), nullable=True),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('first_answered_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('travel_data_deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['invitation_id'], ['event_invitations.id'],
                                name=op.f('fk_event_rsvps_invitation_id_event_invitations')),
        sa.PrimaryKeyConstraint('invitation_id', name=op.f('pk_event_rsvps')),
    )


def downgrade() -> None:
    op.drop_table('event_rsvps')
    op.drop_table('event_invitations')
    op.drop_table('edition_events')
