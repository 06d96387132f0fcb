"""services: each service's owning team (first provisioner, or whom it was transferred to)

Existing environments claim their services for the team of their oldest environment.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("former_teams", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("services") as batch_op:
        batch_op.create_index("ix_services_team", ["team"])
    op.execute(
        "INSERT INTO services (name, team, former_teams, created_at, updated_at) "
        "SELECT e.service, e.team, '[]', e.created_at, e.created_at FROM environments e "
        "WHERE e.id = (SELECT o.id FROM environments o WHERE o.service = e.service "
        "AND o.status NOT IN ('COMPENSATED', 'CANCELLED') ORDER BY o.created_at, o.id LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_table("services")
