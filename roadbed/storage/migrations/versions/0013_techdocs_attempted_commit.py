"""techdocs_sites.attempted_commit: the commit each entity's last docs build started from, whatever its outcome

Docs follow their repository (a push, or the embedded host's refresh pass) by comparing the repository's head with
it. Rows built before this migration keep NULL; their published `commit` stands in until the next build.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("techdocs_sites") as batch_op:
        batch_op.add_column(sa.Column("attempted_commit", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("techdocs_sites") as batch_op:
        batch_op.drop_column("attempted_commit")
