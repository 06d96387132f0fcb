"""api_tokens.service and api_tokens.sealed_token: deployer tokens, one live pipeline token per service

A generated service's pipeline deploys through Roadbed with a `deployer` token that can do nothing else: `service`
names its one service (NULL for every other role). The token provisioning hands to GitHub is also kept sealed with
the data dir's key (`roadbed.sealing`), so a retried step or the service's next environment sets the same token
again instead of minting another; a partial unique index keeps one live such token per service.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

LIVE_PIPELINE_TOKEN = sa.text("role = 'deployer' AND sealed_token IS NOT NULL AND revoked_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("sealed_token", sa.Text(), nullable=True))
        batch_op.create_index("ix_api_tokens_service", ["service"])
    op.create_index(
        "uq_api_tokens_live_pipeline_token", "api_tokens", ["service"], unique=True,
        sqlite_where=LIVE_PIPELINE_TOKEN, postgresql_where=LIVE_PIPELINE_TOKEN,
    )


def downgrade() -> None:
    op.drop_index("uq_api_tokens_live_pipeline_token", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_index("ix_api_tokens_service")
        batch_op.drop_column("sealed_token")
        batch_op.drop_column("service")
