"""template overrides

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:24:58.328728
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('template_overrides',
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=False),
    sa.Column('text_source', sa.Text(), nullable=False),
    sa.Column('html_source', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('template', 'language', 'edition', name=op.f('pk_template_overrides'))
    )


def downgrade() -> None:
    op.drop_table('template_overrides')
