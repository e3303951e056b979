"""jurors, conflicts, rounds, assignments, ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:33:03.020956
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_denials',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('juror_id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_access_denials'))
    )
    with op.batch_alter_table('access_denials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_denials_juror_id'), ['juror_id'], unique=False)

    op.create_table('jurors',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('organisation', sa.String(length=300), nullable=False),
    sa.Column('expertise', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('max_load', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('invited_by', sa.String(length=200), nullable=False),
    sa.Column('invited_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jurors')),
    sa.UniqueConstraint('email', name=op.f('uq_jurors_email'))
    )
    op.create_table('ledger',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=True),
    sa.Column('juror_id', sa.String(length=36), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger')),
    sa.UniqueConstraint('hash', name=op.f('uq_ledger_hash'))
    )
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_application_id'), ['application_id'], unique=False)

    op.create_table('conflicts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('juror_id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_conflicts_application_id_applications')),
    sa.ForeignKeyConstraint(['juror_id'], ['jurors.id'], name=op.f('fk_conflicts_juror_id_jurors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflicts')),
    sa.UniqueConstraint('juror_id', 'application_id', 'source', name='uq_conflicts_pair_source')
    )
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflicts_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflicts_juror_id'), ['juror_id'], unique=False)

    op.create_table('rounds',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('jurors_per_application', sa.Integer(), nullable=False),
    sa.Column('advance_per_category', sa.Integer(), nullable=False),
    sa.Column('min_reviews', sa.Integer(), nullable=False),
    sa.Column('peer_scores', sa.String(length=20), nullable=False),
    sa.Column('disagreement_threshold', sa.Float(), nullable=True),
    sa.Column('due_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ties', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_rounds_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rounds')),
    sa.UniqueConstraint('call_id', 'kind', name='uq_rounds_call_kind')
    )
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rounds_call_id'), ['call_id'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('round_id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('juror_id', sa.String(length=36), nullable=False),
    sa.Column('assigned_by', sa.String(length=200), nullable=False),
    sa.Column('assigned_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_assignments_application_id_applications')),
    sa.ForeignKeyConstraint(['juror_id'], ['jurors.id'], name=op.f('fk_assignments_juror_id_jurors')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_assignments_round_id_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('round_id', 'application_id', 'juror_id', name='uq_assignments_triple')
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_juror_id'), ['juror_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_round_id'), ['round_id'], unique=False)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('project', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('documents', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('applicant_id', sa.String(length=36), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=False, server_default='en'))
        batch_op.add_column(sa.Column('screening_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('screened_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('screened_at', shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('award', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('decided_at', shared.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))



def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('award')
        batch_op.drop_column('outcome')
        batch_op.drop_column('screened_at')
        batch_op.drop_column('screened_by')
        batch_op.drop_column('screening_reason')
        batch_op.drop_column('language')
        batch_op.drop_column('applicant_id')
        batch_op.drop_column('documents')
        batch_op.drop_column('project')
        batch_op.drop_column('answers')

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_round_id'))
        batch_op.drop_index(batch_op.f('ix_assignments_juror_id'))
        batch_op.drop_index(batch_op.f('ix_assignments_application_id'))

    op.drop_table('assignments')
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rounds_call_id'))

    op.drop_table('rounds')
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflicts_juror_id'))
        batch_op.drop_index(batch_op.f('ix_conflicts_application_id'))

    op.drop_table('conflicts')
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_application_id'))

    op.drop_table('ledger')
    op.drop_table('jurors')
    with op.batch_alter_table('access_denials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_denials_juror_id'))

    op.drop_table('access_denials')
