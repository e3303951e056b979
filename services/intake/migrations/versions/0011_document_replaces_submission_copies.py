"""a document may replace another of its kind; the PDF of each submitted application

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces', sa.String(length=36), nullable=True))
    op.create_table(
        'submission_copies',
        sa.Column('application_id', sa.String(length=36), nullable=False),
        sa.Column('storage_key', sa.String(length=500), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('made_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_submission_copies_application_id_applications')),
        sa.PrimaryKeyConstraint('application_id', name=op.f('pk_submission_copies')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_submission_copies_storage_key')),
    )


def downgrade() -> None:
    op.drop_table('submission_copies')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('replaces')
