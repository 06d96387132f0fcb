"""steps.compensation_started_at / compensation_finished_at: an undo's own start and end

Before, a compensation overwrote the step's finished_at, so a 10 ms undo showed as the time since the step began.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps") as batch_op:
        batch_op.add_column(sa.Column("compensation_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("compensation_finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("steps") as batch_op:
        batch_op.drop_column("compensation_finished_at")
        batch_op.drop_column("compensation_started_at")
