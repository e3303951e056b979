"""each edition's privacy notice and its versions, the consents given, and when an answer's
visa and passport details were deleted

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 10:26:50.567183
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('applicant_id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=True),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('notice_version', sa.Integer(), nullable=False),
    sa.Column('notice_sha256', sa.String(length=64), nullable=False),
    sa.Column('given_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_consents_applicant_id_applicants')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_consents_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_applicant_id'), ['applicant_id'], unique=False)

    op.create_table('privacy_notice_versions',
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_privacy_notice_versions_call_id_calls')),
    sa.PrimaryKeyConstraint('call_id', 'version', name=op.f('pk_privacy_notice_versions'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        # editions made before: the default notice, version 1
        batch_op.add_column(sa.Column('privacy_notice', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('privacy_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('privacy_changed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('privacy_changed_at', shared.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('ceremony_rsvps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('travel_data_deleted_at', shared.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('ceremony_rsvps', schema=None) as batch_op:
        batch_op.drop_column('travel_data_deleted_at')

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('privacy_changed_at')
        batch_op.drop_column('privacy_changed_by')
        batch_op.drop_column('privacy_version')
        batch_op.drop_column('privacy_notice')

    op.drop_table('privacy_notice_versions')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_applicant_id'))

    op.drop_table('consents')
