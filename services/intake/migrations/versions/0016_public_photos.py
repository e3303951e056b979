"""public photos: the image the secretariat approved for an awarded application's results page

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:20:00
"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'public_photos',
        sa.Column('application_id', sa.String(length=36), nullable=False),
        sa.Column('document_id', sa.String(length=36), nullable=False),
        sa.Column('approved_by', sa.String(length=200), nullable=False),
        sa.Column('approved_at', shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                                name=op.f('fk_public_photos_application_id_applications')),
        sa.PrimaryKeyConstraint('application_id', name=op.f('pk_public_photos')),
    )


def downgrade() -> None:
    op.drop_table('public_photos')
