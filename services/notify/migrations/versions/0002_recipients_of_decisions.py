"""recipients of decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:25:33.534263
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recipients',
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('organisation', sa.String(length=300), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('secondary_email', sa.String(length=320), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=True),
    sa.Column('screening_eligible', sa.Boolean(), nullable=True),
    sa.Column('screening_reason', sa.Text(), nullable=True),
    sa.Column('screening_notified_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finalist_decision', sa.String(length=20), nullable=True),
    sa.Column('finalist_released', sa.Boolean(), nullable=False),
    sa.Column('finalist_notified_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('award_outcome', sa.String(length=20), nullable=True),
    sa.Column('award_title', sa.String(length=300), nullable=True),
    sa.Column('award_released', sa.Boolean(), nullable=False),
    sa.Column('award_notified_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('application_id', name=op.f('pk_recipients'))
    )


def downgrade() -> None:
    op.drop_table('recipients')
