"""the applicant's WeGO region, derived from its country and kept for the statistics

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00
"""
from alembic import op
import sqlalchemy as sa

from services.intake.ops.regions import REGION_OF_COUNTRY


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=20), server_default='other', nullable=False))
    # Existing applicants get the region of their country, as registration gives it from now on.
    applicants = sa.table('applicants', sa.column('country', sa.String), sa.column('region', sa.String))
    op.execute(applicants.update().values(
        region=sa.case(REGION_OF_COUNTRY, value=sa.func.upper(applicants.c.country), else_='other')))


def downgrade() -> None:
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_column('region')
