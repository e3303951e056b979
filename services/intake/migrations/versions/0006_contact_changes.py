"""contact changes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:50:45.303328
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_changes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('applicant_id', sa.String(length=36), nullable=False),
    sa.Column('old_email', sa.String(length=320), nullable=False),
    sa.Column('new_email', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_contact_changes_applicant_id_applicants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_changes'))
    )
    with op.batch_alter_table('contact_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_changes_applicant_id'), ['applicant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('contact_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_changes_applicant_id'))

    op.drop_table('contact_changes')
