"""DORA rollups (issue 15): `deployment_days` (per environment, UTC day and service: deployments, successful, failed by
status) and `deployment_commits` (per environment, service and commit with a successful deployment: its first
successful deployment, when its lead time settles, and that lead time), maintained by `record_deployment` and filled here from the existing deployments
(the same aggregate as `roadbed report rebuild-rollups`). See `roadbed.storage.rollups`.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from roadbed.storage import rollups
from roadbed.storage.tables import UtcDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_days",
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("deployments", sa.Integer(), nullable=False),
        sa.Column("successful", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("environment", "day", "service", name="pk_deployment_days"),
    )
    op.create_table(
        "deployment_commits",
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("commit_sha", sa.String(100), nullable=False),
        sa.Column("first_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime(), nullable=False),
        sa.Column("first_epoch", sa.Float(), nullable=False),
        sa.Column("settled_epoch", sa.Float(), nullable=False),
        sa.Column("lead_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("environment", "service", "commit_sha", name="pk_deployment_commits"),
    )
    op.create_index("ix_deployment_commits_first", "deployment_commits", list(rollups.COMMIT_INDEX))
    rollups.rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_index("ix_deployment_commits_first", table_name="deployment_commits")
    op.drop_table("deployment_commits")
    op.drop_table("deployment_days")
