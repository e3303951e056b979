"""erasure requests: an applicant asks, the secretariat decides; when an applicant was erased

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', shared.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'erasure_requests',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('applicant_id', sa.String(length=36), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('requested_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('refusal_reason', sa.Text(), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'],
                                name=op.f('fk_erasure_requests_applicant_id_applicants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests')),
    )
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_requests_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erasure_requests_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_requests_status'))
        batch_op.drop_index(batch_op.f('ix_erasure_requests_applicant_id'))
    op.drop_table('erasure_requests')
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
