"""group emails: the secretariat's messages to a group and their members

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'group_messages',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=30), nullable=False),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=300), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('parts', sa.Integer(), nullable=True),
        sa.Column('parts_received', sa.JSON(), nullable=False),
        sa.Column('refused', sa.Text(), nullable=True),
        sa.Column('sent_by', sa.String(length=300), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_messages')),
    )
    with op.batch_alter_table('group_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_messages_status'), ['status'], unique=False)
    op.create_table(
        'group_message_recipients',
        sa.Column('message_id', sa.String(length=36), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('organisation', sa.String(length=300), nullable=False),
        sa.Column('reference', sa.String(length=40), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('application_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['group_messages.id'],
                                name=op.f('fk_group_message_recipients_message_id_group_messages')),
        sa.PrimaryKeyConstraint('message_id', 'email', name=op.f('pk_group_message_recipients')),
    )


def downgrade() -> None:
    op.drop_table('group_message_recipients')
    with op.batch_alter_table('group_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_messages_status'))
    op.drop_table('group_messages')
