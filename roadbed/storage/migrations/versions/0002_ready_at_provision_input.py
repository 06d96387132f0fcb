"""environments.ready_at (kept after decommission, for time-to-environment) and provision_input (the accepted workflow input)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch_op:
        batch_op.add_column(sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("provision_input", sa.JSON(), nullable=False, server_default="{}"))
    op.execute("UPDATE environments SET ready_at = finished_at WHERE status = 'SUCCEEDED'")


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch_op:
        batch_op.drop_column("provision_input")
        batch_op.drop_column("ready_at")
