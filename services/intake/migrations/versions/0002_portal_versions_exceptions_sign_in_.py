"""portal: versions, exceptions, sign-in, sessions, answers, documents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:45:19.710699
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False, server_default='1'),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_versions_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_versions')),
    sa.UniqueConstraint('call_id', 'version', name='uq_call_versions_call_version')
    )
    with op.batch_alter_table('call_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_versions_call_id'), ['call_id'], unique=False)

    op.create_table('deadline_exceptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=36), nullable=False),
    sa.Column('applicant_id', sa.String(length=36), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_by', sa.String(length=200), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_deadline_exceptions_applicant_id_applicants')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_deadline_exceptions_call_id_calls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_exceptions'))
    )
    with op.batch_alter_table('deadline_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_exceptions_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_exceptions_call_id'), ['call_id'], unique=False)

    op.create_table('sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('applicant_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_sessions_applicant_id_applicants')),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_applicant_id'), ['applicant_id'], unique=False)

    op.create_table('signin_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('applicant_id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_signin_links_applicant_id_applicants')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_signin_links'))
    )
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_links_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_client'), ['client'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_links_email'), ['email'], unique=False)

    op.create_table('documents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('storage_key', sa.String(length=500), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rejection_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_documents_application_id_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_documents_storage_key'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_application_id'), ['application_id'], unique=False)

    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secondary_name', sa.String(length=200), nullable=True))

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('location', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('start_date', sa.String(length=10), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('budget', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('partners', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('documents', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('max_upload_bytes', sa.BigInteger(), nullable=False, server_default=str(50 * 1024 * 1024)))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))



def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('max_upload_bytes')
        batch_op.drop_column('documents')

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('revision')
        batch_op.drop_column('partners')
        batch_op.drop_column('budget')
        batch_op.drop_column('start_date')
        batch_op.drop_column('location')
        batch_op.drop_column('answers')

    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_column('secondary_name')

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_application_id'))

    op.drop_table('documents')
    with op.batch_alter_table('signin_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_links_email'))
        batch_op.drop_index(batch_op.f('ix_signin_links_created_at'))
        batch_op.drop_index(batch_op.f('ix_signin_links_client'))
        batch_op.drop_index(batch_op.f('ix_signin_links_applicant_id'))

    op.drop_table('signin_links')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_applicant_id'))

    op.drop_table('sessions')
    with op.batch_alter_table('deadline_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_exceptions_call_id'))
        batch_op.drop_index(batch_op.f('ix_deadline_exceptions_applicant_id'))

    op.drop_table('deadline_exceptions')
    with op.batch_alter_table('call_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_versions_call_id'))

    op.drop_table('call_versions')
