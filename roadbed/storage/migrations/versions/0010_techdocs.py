"""techdocs: each entity's last TechDocs build and the text index of its pages

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "techdocs_sites",
        sa.Column("ref", sa.String(300), primary_key=True),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("site_name", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
    )
    op.create_table(
        "techdocs_pages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site_ref", sa.String(300), sa.ForeignKey("techdocs_sites.ref", ondelete="CASCADE"), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_techdocs_pages_site_ref", "techdocs_pages", ["site_ref"])


def downgrade() -> None:
    op.drop_index("ix_techdocs_pages_site_ref", table_name="techdocs_pages")
    op.drop_table("techdocs_pages")
    op.drop_table("techdocs_sites")
