"""deployments and incidents (DORA inputs), unique on each event's identity, indexed for window queries

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=True),
        sa.Column("version", sa.String(length=128), nullable=True),
        sa.Column("commit_sha", sa.String(length=100), nullable=False),
        sa.Column("commit_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index("ix_deployments_team", ["team"], unique=False)
        batch_op.create_index("ix_deployments_environment_time", ["environment", "deployed_at"], unique=False)
        batch_op.create_index("ix_deployments_service_time", ["service", "environment", "deployed_at", "id"], unique=False)
        batch_op.create_index("ix_deployments_commit", ["service", "environment", "commit_sha", "deployed_at"], unique=False)

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=255), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("caused_by_deployment", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_caused_by_deployment", ["caused_by_deployment"], unique=False)
        batch_op.create_index("ix_incidents_service_opened", ["service", "opened_at"], unique=False)
        batch_op.create_index("ix_incidents_opened", ["opened_at"], unique=False)
        batch_op.create_index("ix_incidents_resolved", ["resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("deployments")
