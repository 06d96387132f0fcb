"""environments.expires_at and environment_events: ephemeral environments (a request's `ttl`)

`expires_at` is set once the environment reached SUCCEEDED (and moved by each extension); the events
(`expiry_warning`, `extended`, `expired`) are what `GET /v1/environments/{id}/events` lists.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "environment_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("environment_id", sa.String(40), sa.ForeignKey("environments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(24), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.UniqueConstraint("environment_id", "type", "at", name="uq_environment_events_once"),
    )
    op.create_index("ix_environment_events_environment_id", "environment_events", ["environment_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_environment_events_environment_id", table_name="environment_events")
    op.drop_table("environment_events")
    with op.batch_alter_table("environments") as batch_op:
        batch_op.drop_column("expires_at")
