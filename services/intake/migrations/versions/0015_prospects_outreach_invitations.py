"""prospects and outreach invitations (issue 17: outreach)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:30:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prospects',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('call_id', sa.String(length=36), nullable=True),
        sa.Column('organisation', sa.String(length=300), nullable=False),
        sa.Column('applicant_type', sa.String(length=30), nullable=False),
        sa.Column('city', sa.String(length=200), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('region', sa.String(length=20), nullable=False),
        sa.Column('contact_name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('met_at', sa.String(length=300), nullable=False),
        sa.Column('met_on', sa.String(length=10), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('owner', sa.String(length=320), nullable=False),
        sa.Column('applicant_id', sa.String(length=36), nullable=True),
        sa.Column('opted_out_at', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_prospects_call_id_calls')),
        sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'],
                                name=op.f('fk_prospects_applicant_id_applicants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_prospects')),
        sa.UniqueConstraint('email', name=op.f('uq_prospects_email')),
    )
    op.create_index(op.f('ix_prospects_call_id'), 'prospects', ['call_id'])
    op.create_index(op.f('ix_prospects_applicant_id'), 'prospects', ['applicant_id'])
    op.create_table(
        'outreach_invitations',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('prospect_id', sa.String(length=36), nullable=False),
        sa.Column('call_id', sa.String(length=36), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('sent_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_by', sa.String(length=200), nullable=False),
        sa.Column('expires_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('applicant_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'],
                                name=op.f('fk_outreach_invitations_prospect_id_prospects')),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_outreach_invitations_call_id_calls')),
        sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'],
                                name=op.f('fk_outreach_invitations_applicant_id_applicants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outreach_invitations')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_outreach_invitations_token_hash')),
    )
    op.create_index(op.f('ix_outreach_invitations_prospect_id'), 'outreach_invitations', ['prospect_id'])
    op.create_index(op.f('ix_outreach_invitations_call_id'), 'outreach_invitations', ['call_id'])


def downgrade() -> None:
    op.drop_table('outreach_invitations')
    op.drop_table('prospects')
