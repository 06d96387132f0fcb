"""template_blobs, template_versions, upgrades: every golden-path version kept reproducible, and service upgrades

A run renders from the version recorded at submission; the files of each version are stored once
(content-addressed blobs) so a later change of the template directory cannot change what a retry or an upgrade's
base renders.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "template_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("golden_path", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("template_file", sa.String(500), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("golden_path", "version", name="uq_template_versions_golden_path_version"),
    )
    op.create_index("ix_template_versions_content_sha256", "template_versions", ["content_sha256"])
    op.create_table(
        "upgrades",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("open_key", sa.String(200), nullable=True, unique=True),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("team", sa.String(63), nullable=False),
        sa.Column("golden_path", sa.String(128), nullable=False),
        sa.Column("from_version", sa.String(64), nullable=False),
        sa.Column("to_version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("branch", sa.String(255), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("pull_request_url", sa.String(500), nullable=True),
        sa.Column("error", sa.String(2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_upgrades_service", "upgrades", ["service"])


def downgrade() -> None:
    op.drop_index("ix_upgrades_service", "upgrades")
    op.drop_table("upgrades")
    op.drop_index("ix_template_versions_content_sha256", "template_versions")
    op.drop_table("template_versions")
    op.drop_table("template_blobs")
