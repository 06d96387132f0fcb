"""initial schema

Revision ID: 0001
Revises: 
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('teams', sa.JSON(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('catalog_entities',
    sa.Column('ref', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('namespace', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=63), nullable=False),
    sa.Column('owner', sa.String(length=300), nullable=True),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('environment_id', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ref')
    )
    with op.batch_alter_table('catalog_entities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_entities_environment_id'), ['environment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_entities_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_entities_owner'), ['owner'], unique=False)

    op.create_table('environments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('live_key', sa.String(length=140), nullable=True),
    sa.Column('service', sa.String(length=63), nullable=False),
    sa.Column('team', sa.String(length=63), nullable=False),
    sa.Column('golden_path', sa.String(length=128), nullable=False),
    sa.Column('golden_path_version', sa.String(length=64), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('workflow_id', sa.String(length=255), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('resources', sa.JSON(), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('live_key'),
    sa.UniqueConstraint('request_id'),
    sa.UniqueConstraint('workflow_id')
    )
    with op.batch_alter_table('environments', schema=None) as batch_op:
        batch_op.create_index('ix_environments_finished', ['status', 'finished_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_environments_service'), ['service'], unique=False)
        batch_op.create_index(batch_op.f('ix_environments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_environments_team'), ['team'], unique=False)

    op.create_table('steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('environment_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['environment_id'], ['environments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment_id', 'name')
    )


def downgrade() -> None:
    op.drop_table('steps')
    with op.batch_alter_table('environments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_environments_team'))
        batch_op.drop_index(batch_op.f('ix_environments_status'))
        batch_op.drop_index(batch_op.f('ix_environments_service'))
        batch_op.drop_index('ix_environments_finished')

    op.drop_table('environments')
    with op.batch_alter_table('catalog_entities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_entities_owner'))
        batch_op.drop_index(batch_op.f('ix_catalog_entities_kind'))
        batch_op.drop_index(batch_op.f('ix_catalog_entities_environment_id'))

    op.drop_table('catalog_entities')
    op.drop_table('api_tokens')
