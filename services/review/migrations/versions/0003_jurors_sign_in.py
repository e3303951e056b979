"""jurors sign in

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 03:57:44.968647
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('juror_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['juror_id'], ['jurors.id'], name=op.f('fk_sessions_juror_id_jurors')),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_juror_id'), ['juror_id'], unique=False)

    op.create_table('signin_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('juror_id', sa.String(length=36), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['juror_id'], ['jurors.id'], name=op.f('fk_signin_links_juror_id_jurors')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_signin_links'))
    )
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_links_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_juror_id'), ['juror_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_links_juror_id'))
        batch_op.drop_index(batch_op.f('ix_signin_links_email'))
        batch_op.drop_index(batch_op.f('ix_signin_links_created_at'))
        batch_op.drop_index(batch_op.f('ix_signin_links_client'))

    op.drop_table('signin_links')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_juror_id'))

    op.drop_table('sessions')
