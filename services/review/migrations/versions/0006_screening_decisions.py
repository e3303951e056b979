"""screening decisions: each confirmed screening with its email held for the undo window
(PRIZE_SCREENING_UNDO_SECONDS), what undoing it restores, and when its event was published.
Self-contained (one new table): it may be rechained after another 0006 at merge.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:07:05.876041
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('screening_decisions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('previous_stage', sa.String(length=20), nullable=False),
    sa.Column('previous_reason', sa.Text(), nullable=False),
    sa.Column('previous_by', sa.String(length=200), nullable=True),
    sa.Column('previous_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('send_after', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('undone_by', sa.String(length=200), nullable=True),
    sa.Column('undone_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_screening_decisions_application_id_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_decisions')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_screening_decisions_fingerprint'))
    )
    with op.batch_alter_table('screening_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_decisions_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screening_decisions_send_after'), ['send_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_screening_decisions_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('screening_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_decisions_status'))
        batch_op.drop_index(batch_op.f('ix_screening_decisions_send_after'))
        batch_op.drop_index(batch_op.f('ix_screening_decisions_application_id'))

    op.drop_table('screening_decisions')
