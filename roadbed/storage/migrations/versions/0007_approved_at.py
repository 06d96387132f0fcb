"""environments.approved_at: when a request left PENDING_APPROVAL for RUNNING

Time-to-environment reports provisioning time and approval wait apart. Older rows keep NULL: the report falls
back to their validate step's start, which the workflow reaches right after the approval.

Revision ID: 0007
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch_op:
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("environments") as batch_op:
        batch_op.drop_column("approved_at")
