"""policy_decisions: the policy decision recorded with each accepted request (issue 17, policies as data)

Which version of the policy set (sha256 over its files) decided, and what it said (approval reasons, caps).

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("environment_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_policy_decisions_environment_id", "policy_decisions", ["environment_id"])


def downgrade() -> None:
    op.drop_index("ix_policy_decisions_environment_id", table_name="policy_decisions")
    op.drop_table("policy_decisions")
