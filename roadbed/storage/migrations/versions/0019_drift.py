"""environment_drift: each environment's last drift check (status, when, what differs since when) and its ignore rules

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environment_drift",
        sa.Column("environment_id", sa.String(40), sa.ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("ignore_rules", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(2000), nullable=True),
    )
    op.create_index("ix_environment_drift_status", "environment_drift", ["status"])


def downgrade() -> None:
    op.drop_index("ix_environment_drift_status", "environment_drift")
    op.drop_table("environment_drift")
